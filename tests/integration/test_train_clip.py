"""model=clip through train(cfg) on the tiny generated set: a bundle that rebuilds the same
embeddings and tokenizer, and the held-out retrieval evaluation of that bundle."""

import pytest
import torch

from tests.helpers.config import tiny_train_overrides
from wardrobe import tasks
from wardrobe.artifacts import load_bundle
from wardrobe.evaluation.retrieval import evaluate_clip
from wardrobe.preprocessing.text import split_preprocessing, tokenize

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_fast_dev_run_exports_a_bundle_with_identical_embeddings(make_cfg, tiny_synth, tmp_path):
    overrides = [*tiny_train_overrides("clip", tiny_synth), "trainer.fast_dev_run=true"]
    metrics, objects = tasks.train(make_cfg("train", overrides))
    assert torch.isfinite(torch.tensor(metrics["train/loss"]))
    assert {"val/t2i_r5", "val/t2i_r5_best", "test/t2i_r1", "test/i2t_r10"} <= set(metrics)

    datamodule = objects["datamodule"]
    bundle = load_bundle(objects["bundle"], expected_labels=datamodule.labels)
    assert bundle.path == tmp_path / "model_artifacts" / "clip" and not bundle.net.training
    image_part, text_part = split_preprocessing(bundle.preprocessing)
    assert text_part == {"tokenizer": "clip_bpe", "context_length": 32}
    assert image_part["image_size"] == 128
    assert bundle.meta["net"]["weights"] == "offline_imagenet"  # the record of the init

    datamodule.setup("fit")
    images, tokens = next(iter(datamodule.val_dataloader()))
    query = tokenize(["a navy striped dress shirt"], **_text_kwargs(text_part))
    net = objects["model"].net.eval()
    with torch.inference_mode():
        for encode, x in (("encode_image", images), ("encode_text", tokens)):
            torch.testing.assert_close(getattr(bundle.net, encode)(x), getattr(net, encode)(x))
        torch.testing.assert_close(bundle.net.encode_text(query), net.encode_text(query))

    # the held-out evaluation reads the bundle alone
    scores, plots = evaluate_clip(bundle, tiny_synth / "attributes", tmp_path / "report")
    for direction in ("t2i", "i2t"):
        r1, r5, r10 = (scores[f"{direction}_r{k}"] for k in (1, 5, 10))
        assert 0.0 <= r1 <= r5 <= r10 <= 1.0
    rows = sum(1 for s in ("train", "val") for _ in (tiny_synth / f"attributes/{s}.jsonl").open())
    assert scores["images"] == rows and 0 < scores["captions"] <= rows
    assert plots[0].stat().st_size > 10_000


def _text_kwargs(text_part: dict) -> dict:
    return {"context_length": text_part["context_length"], "tokenizer": text_part["tokenizer"]}
