"""The ingestion models, loaded once from ``model_artifacts/`` and run on batches of crops.

:class:`IngestionModels` holds the detector, the garment classifier, the attribute tagger and the
CLIP model, each rebuilt from its bundle without training code, in ``eval()`` mode. Crops are
prepared with each bundle's own recorded preprocessing (the transform validation used); bundles
that share a preprocessing share one prepared batch.

**One trunk pass per crop.** A bundle trained on a frozen backbone records its trunk's
fingerprint (``bundle.json`` ``shared_trunk``: the trunk weights' sha256 and the
image preprocessing, :func:`~wardrobe.models.components.backbones.trunk_fingerprint`). At load,
the fingerprint is recomputed from the loaded weights; the bundles whose fingerprints agree on
weights and input (:func:`~wardrobe.models.components.backbones.shared_pass_key`) run that
trunk once per batch, then each its own head on the features (the quickstart classifier,
tagger and CLIP share the ImageNet Lite0 trunk at 224 px). The bundles of a group may read
different trunk outputs (the quickstart classifier's own fine-tuned last stages read block-4
maps that the tagger and CLIP do not): the outputs nest, so the group runs the widest once and
each head reads its prefix. A bundle without a record (older bundles, fine-tuned backbones), or
whose record does not match its weights, runs whole, as before.

Backends (``backend``): ``torch`` runs the safetensors weights; ``onnx`` runs the detector's
exported ``model.onnx`` and exports the classifier, tagger and CLIP image tower (or the shared
trunk and each head) to ONNX once (cached under ``<artifacts>/.onnx_cache/``, named by weights
sha or trunk fingerprint), then runs them all in ONNX Runtime. Both give the same outputs up to
float rounding, shared or not (tested).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from wardrobe.artifacts import Bundle, BundleError, load_bundle
from wardrobe.ingestion.timing import StageTimer
from wardrobe.models.components.backbones import (
    POOLED,
    SHARED_TRUNK,
    TRUNK_OUTPUTS,
    shared_pass_key,
    trunk_fingerprint,
)
from wardrobe.models.components.tagger_net import head_outputs
from wardrobe.models.detector import GarmentDetector, load_detector
from wardrobe.taxonomy import ATTRIBUTE_HEADS, FINE_CATEGORIES, LENGTHS
from wardrobe.utils import CPU_CONV_BATCH, onnx_session

log = logging.getLogger(__name__)

BUNDLES = ("detector", "classifier", "tagger", "clip")
CROP_MODELS = ("classifier", "tagger", "clip")
BACKENDS = ("torch", "onnx")
ONNX_CACHE = ".onnx_cache"


def _expected_tagger_labels() -> dict[str, list[str]]:
    return {head: list(vocab) for head, (_, vocab) in ATTRIBUTE_HEADS.items()}


class _TaggerLogits(nn.Module):
    """The tagger's heads as one tuple in a fixed order (ONNX outputs are positional); on images,
    or (``from_features``) on the shared trunk's features."""

    def __init__(self, net: nn.Module, heads: Sequence[str], from_features: bool = False) -> None:
        super().__init__()
        self.net, self.heads, self.from_features = net, tuple(heads), from_features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.net.forward_features(x) if self.from_features else self.net(x)
        return tuple(out[h] for h in self.heads)


class _ClassifierOutputs(nn.Module):
    """The classifier's category logits, then its length logits when it has a length head (one
    tuple: ONNX outputs are positional); on images, or (``from_features``) on the shared trunk's
    features."""

    def __init__(self, net: nn.Module, from_features: bool = False) -> None:
        super().__init__()
        self.net, self.from_features = net, from_features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.net.outputs_from_features(x if self.from_features else self.net.trunk(x))


class _Head(nn.Module):
    """A net's ``forward_features``: its outputs from the shared trunk's features."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net.forward_features(features)


class _Runner:
    """float32 numpy batch -> list of numpy outputs, on torch or ONNX Runtime; image batches
    run in chunks of ``CPU_CONV_BATCH`` rows (faster on CPU). ``example`` is a 2-row input of
    the right shape (ONNX export; the batch axis is dynamic)."""

    def __init__(
        self,
        module: nn.Module,
        backend: str,
        onnx_path: Path | None,
        example: torch.Tensor,
        input_name: str = "images",
    ):
        self.module, self.backend = module.eval(), backend
        self.session = None
        self.input_name = input_name
        if backend == "onnx":
            self.session = onnx_session(module, onnx_path, example, input_name)

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        if batch.ndim < 4 or len(batch) <= CPU_CONV_BATCH:
            return self._run(batch)
        chunks = [
            self._run(batch[s : s + CPU_CONV_BATCH]) for s in range(0, len(batch), CPU_CONV_BATCH)
        ]
        return [np.concatenate(outs) for outs in zip(*chunks, strict=True)]

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        if self.session is not None:
            return self.session.run(None, {self.input_name: batch})
        with torch.inference_mode():
            out = self.module(torch.from_numpy(batch))
        out = out if isinstance(out, tuple) else (out,)
        return [o.float().numpy() for o in out]


def shared_trunk_fingerprint(bundle: Bundle) -> str | None:
    """The fingerprint of a bundle's frozen trunk when its ``bundle.json`` records one and the
    loaded weights and preprocessing match it; else None (the bundle runs whole)."""
    record = bundle.meta.get(SHARED_TRUNK)
    if not record:
        return None
    spec = bundle.preprocessing_spec
    net = bundle.net
    where = bundle.path or bundle.name
    if not getattr(net, "shares_trunk", False) or spec.image is None:
        log.warning("%s records a shared trunk but its net has none: run whole", where)
        return None
    output = getattr(net, "trunk_output", POOLED)
    actual = trunk_fingerprint(net.trunk, net.trunk_name, spec.image.to_dict(), output)
    if actual["fingerprint"] != record.get("fingerprint"):
        log.warning("%s: its trunk does not match the recorded fingerprint: run whole", where)
        return None
    return actual["fingerprint"]


class IngestionModels:
    """The four ingestion bundles, loaded once. Every method takes a list of RGB crops."""

    def __init__(
        self,
        detector: GarmentDetector | None,
        bundles: Mapping[str, Bundle],
        backend: str = "torch",
        cache_dir: Path | None = None,
        share_trunks: bool = True,
    ) -> None:
        """``share_trunks=False`` runs every crop model whole even when bundles share a trunk
        (the separate passes the shared one is compared with)."""
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.detector = detector
        self.timer = StageTimer()
        self.bundles = dict(bundles)
        self.backend = backend
        self.classes = list(self.bundles["classifier"].labels["classes"])
        versions = {name: b.version for name, b in self.bundles.items()}
        if detector is not None:  # None: crops only (item features of a catalogue)
            versions["detector"] = detector.meta["weights_sha256"][:12]
        self._versions = dict(sorted(versions.items()))
        self.heads = list(self.bundles["tagger"].labels)
        clip = self.bundles["clip"]
        self.clip_net = clip.net
        self.embedding_dim = int(clip.meta["net"]["embed_dim"])
        # each model's inputs as its bundle records them (the transform validation used)
        self.preprocessing = {n: self.bundles[n].preprocessing_spec.image for n in CROP_MODELS}
        self.trunk_groups = _trunk_groups(self.bundles) if share_trunks else {}
        self._trunk_of = {n: fp for fp, names in self.trunk_groups.items() for n in names}
        whole = [name for name in CROP_MODELS if name not in self._trunk_of]
        self._runners = {name: self._runner(name, cache_dir) for name in whole}
        groups = self.trunk_groups.items()
        self._trunks = {fp: self._trunk_runner(names, cache_dir) for fp, names in groups}
        self._heads = {name: self._head_runner(name, cache_dir) for name in self._trunk_of}

    def _images(self, name: str) -> torch.Tensor:
        size = self.preprocessing[name].image_size
        return torch.zeros(2, 3, size, size)

    def _runner(self, name: str, cache_dir: Path | None) -> _Runner:
        """A crop model run whole (images -> outputs)."""
        bundle = self.bundles[name]
        module = {
            "classifier": lambda: _ClassifierOutputs(bundle.net),
            "tagger": lambda: _TaggerLogits(bundle.net, self.heads),
            "clip": bundle.image_encoder,
        }[name]()
        path = _onnx_path(cache_dir, f"{bundle.name}-{bundle.meta['weights_sha256'][:16]}")
        return _Runner(module, self.backend, path, self._images(name))

    def _widest(self, names: Sequence[str]) -> str:
        """The member of a group whose trunk output holds every other member's."""
        return max(names, key=lambda n: TRUNK_OUTPUTS.index(self.bundles[n].net.trunk_output))

    def _trunk_runner(self, names: Sequence[str], cache_dir: Path | None) -> _Runner:
        """The trunk a group shares (every member's trunk has the same weights), at the
        widest output its members read."""
        widest = self.bundles[self._widest(names)]
        fingerprint = widest.meta[SHARED_TRUNK]["fingerprint"]
        path = _onnx_path(cache_dir, f"trunk-{fingerprint[:16]}")
        return _Runner(widest.net.trunk, self.backend, path, self._images(names[0]))

    def _head_runner(self, name: str, cache_dir: Path | None) -> _Runner:
        """A crop model's head on the shared trunk's features."""
        bundle = self.bundles[name]
        net = bundle.net
        module = {
            "classifier": lambda: _ClassifierOutputs(net, from_features=True),
            "tagger": lambda: _TaggerLogits(net, self.heads, True),
            "clip": lambda: _Head(net),
        }[name]()
        group = self.trunk_groups[self._trunk_of[name]]
        trunk = self.bundles[self._widest(group)].net.trunk
        with torch.no_grad():  # the example's shape (an inference tensor cannot be exported)
            shape = trunk.eval()(self._images(name)).shape
        features = torch.zeros(shape)
        path = _onnx_path(cache_dir, f"{bundle.name}-head-{bundle.meta['weights_sha256'][:16]}")
        return _Runner(module, self.backend, path, features, input_name="features")

    @classmethod
    def load(
        cls,
        artifacts_dir: str | Path,
        backend: str = "torch",
        device: str = "cpu",
        detector: bool = True,
        share_trunks: bool = True,
    ) -> IngestionModels:
        """Load ``detector``, ``classifier``, ``tagger`` and ``clip`` from ``artifacts_dir``
        (``detector=False``: no detector, for analysing ready garment crops)."""
        root = Path(artifacts_dir)
        needed = BUNDLES if detector else tuple(n for n in BUNDLES if n != "detector")
        missing = [n for n in needed if not (root / n).is_dir()]
        if missing:
            raise BundleError(
                f"{root} lacks the bundles {missing}: train them first "
                f"(`python train.py experiment=quickstart/<model>` or `make run`)"
            )
        bundles = {
            "classifier": load_bundle(
                root / "classifier", expected_labels={"classes": list(FINE_CATEGORIES)}
            ),
            "tagger": load_bundle(root / "tagger", expected_labels=_expected_tagger_labels()),
            "clip": load_bundle(root / "clip"),
        }
        if not hasattr(bundles["clip"].net, "encode_image"):
            raise BundleError(f"{root / 'clip'} is not a CLIP bundle (no encode_image)")
        found = (
            load_detector(root / "detector", backend=backend, device=device) if detector else None
        )
        return cls(found, bundles, backend, root / ONNX_CACHE, share_trunks)

    # ------------------------------------------------------------------ versions
    @property
    def versions(self) -> dict[str, str]:
        """Bundle name -> short weights id (first 12 hex digits of the sha256)."""
        return dict(self._versions)

    @property
    def clip_weights_sha256(self) -> str:
        return self.bundles["clip"].meta["weights_sha256"]

    # ------------------------------------------------------------------ batched inference
    def _prepare(self, crops: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """One prepared batch per distinct preprocessing, keyed by model name."""
        prepared: dict[str, np.ndarray] = {}
        by_key: dict[str, np.ndarray] = {}
        for name, pre in self.preprocessing.items():
            key = json.dumps(pre.to_dict(), sort_keys=True)
            if key not in by_key:
                by_key[key] = pre.prepare_batch(crops).numpy()
            prepared[name] = by_key[key]
        return prepared

    def _shared_features(self, prepared: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each shared trunk's features of the batch: one pass per trunk, not per model."""
        features = {}
        for key, names in self.trunk_groups.items():
            with self.timer("trunk"):
                features[key] = self._trunks[key](prepared[names[0]])[0]
        return features

    def _outputs(
        self, name: str, prepared: Mapping[str, np.ndarray], features: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        """One model's raw outputs: its head on the shared features, or the whole model."""
        key = self._trunk_of.get(name)
        if key is None:
            return self._runners[name](prepared[name])
        return self._heads[name](features[key])

    def analyse_crops(
        self, crops: Sequence[np.ndarray], batch_size: int = 32
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
        """``(class probabilities [G, 47], {head: probabilities or formality}, embeddings
        [G, D], length probabilities [G, 2] over taxonomy.LENGTHS or None)`` of RGB crops, run
        through the three models in batches (a shared trunk once); None: the classifier has no
        length head."""
        probs, heads, embeds, lengths = [], {h: [] for h in self.heads}, [], []
        for start in range(0, len(crops), batch_size):
            with self.timer("prepare"):
                batch = self._prepare(crops[start : start + batch_size])
            features = self._shared_features(batch)
            with self.timer("classify"):
                outs = [torch.from_numpy(o) for o in self._outputs("classifier", batch, features)]
            probs.append(outs[0].softmax(-1).numpy())
            lengths += [outs[1].softmax(-1).numpy()] if len(outs) > 1 else []
            with self.timer("tag"):
                outs = self._outputs("tagger", batch, features)
            named = {h: torch.from_numpy(o) for h, o in zip(self.heads, outs, strict=True)}
            decoded = head_outputs(named)
            for h in self.heads:
                heads[h].append(decoded[h].numpy())
            with self.timer("embed"):
                embeds.append(self._outputs("clip", batch, features)[0])
        if not probs:
            dim = self.embedding_dim
            empty = {h: np.zeros((0,)) for h in self.heads}
            no_lengths = np.zeros((0, len(LENGTHS))) if self.has_lengths else None
            return (
                np.zeros((0, len(self.classes))),
                empty,
                np.zeros((0, dim), np.float32),
                no_lengths,
            )
        return (
            np.concatenate(probs),
            {h: np.concatenate(v) for h, v in heads.items()},
            _normalise(np.concatenate(embeds)),
            np.concatenate(lengths) if lengths else None,
        )

    @property
    def has_lengths(self) -> bool:
        """Whether the classifier answers sleeve and leg lengths (a length head)."""
        return getattr(self.bundles["classifier"].net, "lengths", None) is not None

    def run(self, name: str, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Raw outputs of one model (``classifier`` logits, ``tagger`` heads in ``heads``
        order, ``clip`` embeddings) on one batch of RGB crops (a shared trunk runs for it)."""
        with self.timer("prepare"):
            batch = {name: self.preprocessing[name].prepare_batch(crops).numpy()}
        key = self._trunk_of.get(name)
        features = {}
        if key is not None:
            with self.timer("trunk"):
                features[key] = self._trunks[key](batch[name])[0]
        return self._outputs(name, batch, features)

    def embed_crops(self, crops: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """L2-normalised CLIP image embeddings ``[G, D]`` of RGB crops."""
        out = [
            self.run("clip", crops[s : s + batch_size])[0] for s in range(0, len(crops), batch_size)
        ]
        return _normalise(np.concatenate(out)) if out else np.zeros((0, self.embedding_dim))

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised CLIP text embeddings ``[N, D]`` (search queries, requests)."""
        if isinstance(texts, str):
            raise TypeError("embed_text takes a list of texts")
        with torch.inference_mode():
            return self.clip_net.embed_text(list(texts)).float().numpy()


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _onnx_path(cache_dir: Path | None, stem: str) -> Path | None:
    return None if cache_dir is None else cache_dir / f"{stem}.onnx"


def _trunk_groups(bundles: Mapping[str, Bundle]) -> dict[str, list[str]]:
    """:func:`shared_pass_key` -> the crop models one trunk pass serves (two or more; the others
    run whole)."""
    groups: dict[str, list[str]] = {}
    for name in CROP_MODELS:
        if shared_trunk_fingerprint(bundles[name]) is not None:
            key = shared_pass_key(bundles[name].meta[SHARED_TRUNK])
            groups.setdefault(key, []).append(name)
    shared = {fp: names for fp, names in groups.items() if len(names) > 1}
    for names in shared.values():
        log.info("one trunk pass per crop for %s", ", ".join(names))
    return shared
