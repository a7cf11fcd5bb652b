"""The per-image feature store the crop models share: each file encoded once per trunk
fingerprint, whichever list asks first; a changed file is encoded again."""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image
from torch import nn

from wardrobe.models.feature_cache import fit_on_features, image_features
from wardrobe.preprocessing import ImagePreprocessing

PRE = ImagePreprocessing(16, 18, (0.5,) * 3, (0.5,) * 3, "bilinear")


class _CountingTrunk(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.seen = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen += len(x)
        return self.conv(x).mean((2, 3))


def _images(folder, n: int) -> list:
    paths = []
    for i in range(n):
        path = folder / f"{i}.png"
        Image.new("RGB", (20, 24), (10 * i, 200 - 10 * i, 90)).save(path)
        paths.append(path)
    return paths


def test_each_file_is_encoded_once_across_lists_and_again_when_it_changes(tmp_path):
    torch.manual_seed(0)
    trunk, transform = _CountingTrunk(), PRE.transform(train=False)
    paths = _images(tmp_path, 6)
    first = image_features(trunk, paths[:4], transform, "f" * 64, tmp_path / "cache")
    assert trunk.seen == 4
    # another model's list: the shared files come from the store, in its own order
    second = image_features(trunk, paths[::-1], transform, "f" * 64, tmp_path / "cache")
    assert trunk.seen == 6
    np.testing.assert_allclose(second[::-1][:4], first)
    # another trunk (fingerprint) never reads these rows
    image_features(trunk, paths[:2], transform, "e" * 64, tmp_path / "cache")
    assert trunk.seen == 8
    Image.new("RGB", (20, 24), (0, 0, 0)).save(paths[0])
    os.utime(paths[0], ns=(1, 1))  # a rewritten file: a new size or time
    again = image_features(trunk, paths[:1], transform, "f" * 64, tmp_path / "cache")
    assert trunk.seen == 9 and not np.allclose(again[0], first[0])


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
