"""The real-photo anchor: a linear probe on frozen ImageNet EfficientNet-Lite0 features.

Logistic regression on the pooled features of the shipped ImageNet weights, fitted on a
class-folder data set's ``train`` split alone, scored on its ``val`` split over the data set's own
labels (clothing-dataset-small: 10 classes). Any model that learns from these photos must beat
it; the owners measured 85.6% on ``validation/``.

    python -m wardrobe.evaluation.real_probe --root ../shared/real-data/clothing-dataset-small
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from wardrobe.data.formats.classfolder import load_class_mapping, read_class_folder
from wardrobe.models.components.backbones import build_backbone, default_preprocessing
from wardrobe.models.feature_cache import cached_features
from wardrobe.preprocessing.image import build_transforms

# the classifier's head warm-up caches the same features under the same tag: computed once
FEATURE_TAG = "tf_efficientnet_lite0-offline_imagenet"


def probe(
    root: str | Path,
    cache_dir: str | Path | None = None,
    image_size: int = 224,
    c: float = 1.0,
) -> dict[str, float]:
    """Fit the probe on ``train``, return ``{"val_acc", "train_n", "val_n", ...}``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    mapping = load_class_mapping()
    pre = default_preprocessing()
    pre.update(image_size=image_size, resize=round(image_size * 256 / 224))
    transform = build_transforms(pre)
    backbone, _ = build_backbone("tf_efficientnet_lite0", "offline_imagenet")
    split_features = {}
    started = time.perf_counter()
    for split in ("train", "val"):
        samples, _ = read_class_folder(root, mapping, split)
        paths = [s.path for s in samples]
        x = cached_features(backbone, paths, transform, pre, cache_dir, FEATURE_TAG)
        split_features[split] = (x, np.array([s.index for s in samples]))
    encode_s = time.perf_counter() - started
    (x_train, y_train), (x_val, y_val) = split_features["train"], split_features["val"]
    scaler = StandardScaler().fit(x_train)
    model = LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(x_train), y_train)
    predicted = model.predict(scaler.transform(x_val))
    per_class = {
        f"val_acc/{name}": float((predicted[y_val == i] == i).mean())
        for i, name in enumerate(mapping.names)
        if (y_val == i).any()
    }
    return {
        "val_acc": float((predicted == y_val).mean()),
        "train_n": float(len(y_train)),
        "val_n": float(len(y_val)),
        "encode_s": encode_s,
        **per_class,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the class-folder data set")
    parser.add_argument("--cache-dir", default="data/cache/features")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--C", type=float, nargs="+", default=[1.0])
    parser.add_argument("--synth-root", help="SynthWardrobe crops: also run the partial-label head")
    args = parser.parse_args()
    if args.synth_root:
        print(
            "| head on frozen features | synth top-1 | real group | real strict | real 10-class* |"
        )
        print("|---|---|---|---|---|")
        for real in (False, True):
            r = partial_label_probe(args.root, args.synth_root, args.cache_dir, real=real)
            what = "synthetic + real (partial labels)" if real else "synthetic only"
            print(f"| {what} | {r['synth_acc']:.4f} | {r['real_group_acc']:.4f} | "
                  f"{r['real_strict_acc']:.4f} | {r['real_coarse_acc']:.4f} |")  # fmt: skip
        print("* without a detector: T-shirt-or-longsleeve categories count as t-shirt")
    print("| C | image size | validation 10-class accuracy |\n|---|---|---|")
    for c in args.C:
        result = probe(args.root, args.cache_dir, args.image_size, c)
        print(f"| {c} | {args.image_size} | {result['val_acc']:.4f} |")
    print({k: round(v, 3) for k, v in result.items()})


def _coarse_or_none(mapping, fine: str) -> str | None:
    try:
        return mapping.coarse_of(fine)
    except KeyError:  # a category no label allows (a belt): wrong for every photo
        return None


def partial_label_probe(
    real_root: str | Path,
    synth_root: str | Path,
    cache_dir: str | Path | None = None,
    epochs: int = 30,
    lr: float = 3e-3,
    real: bool = True,
) -> dict[str, float]:
    """The classifier's 47-way head alone on frozen features: synthetic crops (one-hot) plus,
    with ``real``, the real photos as partial labels; scored on both validation splits."""
    import torch

    from wardrobe.data.formats.imagefolder import scan_imagefolder
    from wardrobe.models.partial_label import partial_label_loss
    from wardrobe.taxonomy import CATEGORY_BY_NAME, FINE_CATEGORIES

    mapping = load_class_mapping()
    pre = default_preprocessing()
    transform = build_transforms(pre)
    backbone, width = build_backbone("tf_efficientnet_lite0", "offline_imagenet")

    def features(paths):
        return torch.from_numpy(
            cached_features(backbone, paths, transform, pre, cache_dir, FEATURE_TAG)
        )

    def one_hot(indices_list):
        allowed = torch.zeros(len(indices_list), len(FINE_CATEGORIES))
        for row, indices in enumerate(indices_list):
            allowed[row, list(indices)] = 1.0
        return allowed

    data = {}
    for split in ("train", "val"):
        synth, _ = scan_imagefolder(Path(synth_root) / split, FINE_CATEGORIES)
        photos, _ = read_class_folder(real_root, mapping, split)
        data[split] = {
            "synth": (features([p for p, _ in synth]), one_hot([(i,) for _, i in synth])),
            "real": (
                features([s.path for s in photos]),
                one_hot([mapping.labels[s.label].fine_indices for s in photos]),
                photos,
            ),
        }
    train_x, train_allowed = data["train"]["synth"]
    if real:
        train_x = torch.cat([train_x, data["train"]["real"][0]])
        train_allowed = torch.cat([train_allowed, data["train"]["real"][1]])
    head = torch.nn.Linear(width, len(FINE_CATEGORIES))
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for index in torch.randperm(len(train_x), generator=generator).split(256):
            loss = partial_label_loss(head(train_x[index]), train_allowed[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        synth_x, synth_allowed = data["val"]["synth"]
        synth_acc = float((head(synth_x).argmax(-1) == synth_allowed.argmax(-1)).float().mean())
        real_x, real_allowed, photos = data["val"]["real"]
        predicted = head(real_x).argmax(-1)
    names = [FINE_CATEGORIES[int(i)] for i in predicted]
    return {
        "synth_acc": synth_acc,
        "real_strict_acc": float(real_allowed.gather(1, predicted[:, None]).mean()),
        "real_group_acc": float(
            np.mean(
                [
                    CATEGORY_BY_NAME[n].group == mapping.labels[s.label].group
                    for n, s in zip(names, photos, strict=True)
                ]
            )
        ),
        "real_coarse_acc": float(
            np.mean(
                [_coarse_or_none(mapping, n) == s.label for n, s in zip(names, photos, strict=True)]
            )
        ),
    }


if __name__ == "__main__":
    main()
