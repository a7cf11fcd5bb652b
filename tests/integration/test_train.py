"""train(cfg) end to end on a tiny generated set: export, resume, seeds, W&B, multirun."""

import subprocess
import sys

import pytest
import torch
from omegaconf import open_dict

from tests.helpers.config import REPO_ROOT, tiny_train_overrides
from tests.helpers.wandb_log import read_run
from wardrobe import tasks
from wardrobe.artifacts import BundleError, load_bundle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _batch_inputs(datamodule):
    datamodule.setup("fit")
    batch = next(iter(datamodule.val_dataloader()))
    return batch[0]


def _outputs(net, images):
    with torch.inference_mode():
        out = net(images)
    return out if isinstance(out, dict) else {"logits": out}


@pytest.mark.parametrize("model", ["classifier", "tagger"])
def test_fast_dev_run_trains_and_exports_a_bundle(make_cfg, tiny_synth, tmp_path, model):
    overrides = [*tiny_train_overrides(model, tiny_synth), "trainer.fast_dev_run=true"]
    metrics, objects = tasks.train(make_cfg("train", overrides))
    assert "train/loss" in metrics and torch.isfinite(torch.tensor(metrics["train/loss"]))

    bundle_dir = objects["bundle"]
    assert bundle_dir == tmp_path / "model_artifacts" / model
    for name in ("weights.safetensors", "bundle.json", "config.yaml", "metrics.json"):
        assert (bundle_dir / name).is_file(), name

    bundle = load_bundle(bundle_dir, expected_labels=objects["datamodule"].labels)
    assert not bundle.net.training
    images = _batch_inputs(objects["datamodule"])
    net = objects["model"].net.eval()
    expected, got = _outputs(net, images), _outputs(bundle.net, images)
    assert expected.keys() == got.keys()
    for key in expected:
        torch.testing.assert_close(got[key], expected[key])
    assert bundle.preprocessing["image_size"] == 128


def test_bundle_refuses_other_labels_and_corrupt_weights(make_cfg, tiny_synth):
    cfg = make_cfg("train", [*tiny_train_overrides("classifier", tiny_synth), "train=false"])
    cfg.test = False
    _, objects = tasks.train(cfg)
    bundle_dir = objects["bundle"]
    wrong = {"classes": list(reversed(objects["datamodule"].labels["classes"]))}
    with pytest.raises(BundleError, match="labels differ"):
        load_bundle(bundle_dir, expected_labels=wrong)
    with pytest.raises(BundleError, match="net config differ"):
        load_bundle(bundle_dir, expected_net={"num_classes": 13})
    weights = bundle_dir / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(BundleError, match="checksum"):
        load_bundle(bundle_dir)


def test_seeded_runs_repeat(make_cfg, tiny_synth):
    overrides = [*tiny_train_overrides("tagger", tiny_synth), "seed=7", "export=false"]
    first, _ = tasks.train(make_cfg("train", overrides))
    second, _ = tasks.train(make_cfg("train", overrides))
    assert first["train/loss"] == pytest.approx(second["train/loss"], rel=1e-6)
    assert first["val/macro_f1"] == pytest.approx(second["val/macro_f1"], rel=1e-6)


def test_resume_from_last_checkpoint_continues_the_run(make_cfg, tiny_synth, tmp_path):
    base = [
        *tiny_train_overrides("classifier", tiny_synth),
        "callbacks=default",
        "~callbacks.rich_progress_bar",
        "~callbacks.early_stopping",
        "export=false",
        "test=false",
    ]
    cfg = make_cfg("train", base)
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "logs" / "train" / "runs" / "first")
    _, first = tasks.train(cfg)
    assert first["trainer"].global_step == 2

    cfg = make_cfg("train", [*base, "ckpt_path=last", "trainer.max_epochs=2"])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "logs" / "train" / "runs" / "second")
    _, second = tasks.train(cfg)
    # resumed at epoch 1 / step 2 and trained one more epoch, not two
    assert second["trainer"].current_epoch == 2
    assert second["trainer"].global_step == 4


def test_wandb_offline_run_directory_holds_metrics_config_and_plots(make_cfg, tiny_synth, tmp_path):
    overrides = [*tiny_train_overrides("classifier", tiny_synth), "logger=wandb", "export=false"]
    metrics, _ = tasks.train(make_cfg("train", overrides))
    runs = list((tmp_path / "output" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, "one offline run directory"
    run = read_run(runs[0])
    assert run["exited"], "the run was closed"
    logged = {k: v for row in run["history"] for k, v in row.items()}
    assert logged["val/acc"] == pytest.approx(metrics["val/acc"])
    assert logged["test/acc"] == pytest.approx(metrics["test/acc"])
    assert run["config"]["cfg"]["model_name"] == "classifier"
    assert run["config"]["effective_batch_size"] == 8
    assert logged["test/confusion_matrix/_type"] == "images/separated", "evaluation plot logged"
    assert list((runs[0] / "files" / "media" / "images").rglob("*.png"))


def test_multirun_of_two_jobs_completes(tiny_synth, tmp_path):
    args = [
        sys.executable,
        "train.py",
        "-m",
        "model.optimizer.lr=1e-4,3e-4",
        *tiny_train_overrides("tagger", tiny_synth),
        "export=false",
        f"paths.root_dir={tmp_path}",
    ]
    out = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=540)
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = sorted((tmp_path / "logs" / "train" / "multiruns").glob("*/[0-9]*"))
    assert [j.name for j in jobs] == ["0", "1"]
    for job in jobs:
        assert list(job.glob("csv/version_*/metrics.csv")), f"no metrics in {job}"


def test_optuna_sweep_returns_the_optimised_metric(tiny_synth, tmp_path):
    args = [
        sys.executable,
        "train.py",
        "-m",
        "hparams_search=tagger_optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler.n_startup_trials=2",
        *tiny_train_overrides("tagger", tiny_synth),
        f"paths.root_dir={tmp_path}",
    ]
    out = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=540)
    assert out.returncode == 0, out.stderr[-3000:]
    (results,) = (tmp_path / "logs" / "train" / "multiruns").glob("*/optimization_results.yaml")
    text = results.read_text()
    assert "best_value:" in text and "model.optimizer.lr" in text
