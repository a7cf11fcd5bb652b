"""PNG plots a person looks at: confusion matrix, per-head F1, sample predictions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: servers and CI have no display
import matplotlib.pyplot as plt
import numpy as np


def confusion_matrix_png(matrix: np.ndarray, labels: Sequence[str], path: Path, title: str) -> Path:
    """Row-normalised confusion matrix (true rows, predicted columns)."""
    counts = np.asarray(matrix, dtype=float)
    norm = counts / np.clip(counts.sum(axis=1, keepdims=True), 1, None)
    size = max(6.0, 0.22 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return _save(fig, path)


def bar_chart_png(values: dict[str, float], path: Path, title: str, target: float | None) -> Path:
    """Horizontal bars, e.g. F1 per attribute head, with the target as a dashed line."""
    names = list(values)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.5))
    ax.barh(names, [values[n] for n in names], color="#4C72B0")
    for y, name in enumerate(names):
        ax.text(values[name] + 0.01, y, f"{values[name]:.3f}", va="center", fontsize=8)
    if target is not None:
        ax.axvline(target, color="#C44E52", linestyle="--", label=f"target {target:.2f}")
        ax.legend(loc="lower right")
    ax.set_xlim(0, 1.1)
    ax.invert_yaxis()
    ax.set_title(title)
    return _save(fig, path)


def samples_png(
    images: Sequence[np.ndarray],
    captions: Sequence[str],
    correct: Sequence[bool],
    path: Path,
    title: str,
    columns: int = 6,
) -> Path:
    """A grid of images with their predicted/true labels; wrong ones captioned in red."""
    rows = max(1, int(np.ceil(len(images) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(2.3 * columns, 2.6 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, caption, ok in zip(axes.ravel(), images, captions, correct, strict=False):
        ax.imshow(image)
        ax.set_title(caption, fontsize=7, color="#2E7D32" if ok else "#C62828")
    fig.suptitle(title)
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plots_after_test(
    metrics: dict[str, float], model: object, labels: dict, out_dir: Path
) -> list[Path]:
    """Plots of a finished ``trainer.test``: the confusion matrix and/or F1 per attribute head."""
    plots = []
    confusion = getattr(model, "test_confusion_matrix", None)
    if confusion is not None and "classes" in labels:
        plots.append(
            confusion_matrix_png(
                np.asarray(confusion),
                labels["classes"],
                out_dir / "confusion_matrix.png",
                "test confusion matrix (row-normalised)",
            )
        )
    head_f1 = {
        key.split("/")[1]: value
        for key, value in metrics.items()
        if key.startswith("test/") and key.endswith("/f1") and key.count("/") == 2
    }
    if head_f1:
        plots.append(bar_chart_png(head_f1, out_dir / "f1_per_head.png", "test F1 per head", None))
    return plots
