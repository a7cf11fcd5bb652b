"""The per-image feature store the crop models share: each file encoded once per trunk
fingerprint, whichever list asks first; a changed file is encoded again."""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image
from torch import nn

from wardrobe.models import feature_cache
from wardrobe.models.feature_cache import ENCODE_BATCH, encode, fit_on_features, image_features
from wardrobe.preprocessing import ImagePreprocessing

PRE = ImagePreprocessing(16, 18, (0.5,) * 3, (0.5,) * 3, "bilinear")


class _Trunk(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean((2, 3))


def _images(folder, n: int) -> list:
    paths = []
    for i in range(n):
        path = folder / f"{i}.png"
        Image.new("RGB", (20, 24), (10 * i, 200 - 10 * i, 90)).save(path)
        paths.append(path)
    return paths


def test_each_file_is_encoded_once_across_lists_and_again_when_it_changes(tmp_path, monkeypatch):
    torch.manual_seed(0)
    trunk, transform = _Trunk(), PRE.transform(train=False)
    encoded = []
    real_encode = feature_cache.encode
    monkeypatch.setattr(
        feature_cache,
        "encode",
        lambda m, items, *a, **k: encoded.extend(items) or real_encode(m, items, *a, **k),
    )
    paths = _images(tmp_path, 6)
    first = image_features(trunk, paths[:4], transform, "f" * 64, tmp_path / "cache")
    assert len(encoded) == 4
    # another model's list: the shared files come from the store, in its own order
    second = image_features(trunk, paths[::-1], transform, "f" * 64, tmp_path / "cache")
    assert len(encoded) == 6
    np.testing.assert_allclose(second[::-1][:4], first, rtol=1e-5)
    # another trunk (fingerprint) never reads these rows
    image_features(trunk, paths[:2], transform, "e" * 64, tmp_path / "cache")
    assert len(encoded) == 8
    Image.new("RGB", (20, 24), (0, 0, 0)).save(paths[0])
    os.utime(paths[0], ns=(1, 1))  # a rewritten file: a new size or time
    again = image_features(trunk, paths[:1], transform, "f" * 64, tmp_path / "cache")
    assert len(encoded) == 9 and not np.allclose(again[0], first[0])


class _NotExportable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.conv(x).mean((2, 3))
        return torch.from_numpy(pooled.detach().numpy() * 2.0)  # no graph for the exporter


def test_encode_runs_the_exported_trunk_like_torch_and_falls_back_when_export_fails(
    tmp_path, caplog
):
    torch.manual_seed(0)
    paths, transform = _images(tmp_path, 2 * ENCODE_BATCH + 3), PRE.transform(train=False)
    trunk = _Trunk().eval()
    with torch.inference_mode():
        expected = torch.stack([trunk(transform(Image.open(p))[None])[0] for p in paths])
    out = encode(trunk, paths, transform)  # several batches, the last one short
    assert out.shape == (len(paths), 4) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-4, atol=1e-5)
    odd = _NotExportable().eval()
    with torch.inference_mode():
        expected = torch.cat([odd(transform(Image.open(p))[None]) for p in paths])
    np.testing.assert_allclose(encode(odd, paths, transform), expected.numpy(), rtol=1e-5)
    assert "encoding in torch" in caplog.text


def test_fit_on_features_lowers_the_loss_and_restores_the_thread_count():
    torch.manual_seed(0)
    x, y = torch.randn(200, 8), torch.randint(0, 3, (200,))
    head = nn.Linear(8, 3)
    threads = torch.get_num_threads()

    def loss_of(index):
        return nn.functional.cross_entropy(head(x[index]), y[index])

    history = fit_on_features(loss_of, head.parameters(), len(x), 20, 0.05, batch_size=32)
    assert len(history) == 20 and history[-1] < history[0]
    assert torch.get_num_threads() == threads
