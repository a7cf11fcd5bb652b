"""The ingestion models, loaded once from ``model_artifacts/`` and run on batches of crops.

:class:`IngestionModels` holds the detector, the garment classifier, the attribute tagger and the
CLIP model, each rebuilt from its bundle without training code, in ``eval()`` mode. Crops are
prepared with each bundle's own recorded preprocessing (the transform validation used); bundles
that share a preprocessing share one prepared batch.

Backends (``backend``): ``torch`` runs the safetensors weights; ``onnx`` runs the detector's
exported ``model.onnx`` and exports the classifier, tagger and CLIP image tower to ONNX once
(cached under ``<artifacts>/.onnx_cache/<name>-<weights sha>.onnx``), then runs them all in
ONNX Runtime. Both give the same outputs up to float rounding (tested).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from wardrobe.artifacts import Bundle, BundleError, load_bundle
from wardrobe.ingestion.timing import StageTimer
from wardrobe.models.components.tagger_net import head_outputs
from wardrobe.models.detector import GarmentDetector, load_detector
from wardrobe.taxonomy import ATTRIBUTE_HEADS, FINE_CATEGORIES
from wardrobe.utils import onnx_session_options

log = logging.getLogger(__name__)

BUNDLES = ("detector", "classifier", "tagger", "clip")
BACKENDS = ("torch", "onnx")
ONNX_CACHE = ".onnx_cache"


def _expected_tagger_labels() -> dict[str, list[str]]:
    return {head: list(vocab) for head, (_, vocab) in ATTRIBUTE_HEADS.items()}


class _TaggerLogits(nn.Module):
    """The tagger's heads as one tuple in a fixed order (ONNX outputs are positional)."""

    def __init__(self, net: nn.Module, heads: Sequence[str]) -> None:
        super().__init__()
        self.net, self.heads = net, tuple(heads)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.net(x)
        return tuple(out[h] for h in self.heads)


class _Runner:
    """``[B, 3, H, W]`` float32 numpy -> list of numpy outputs, on torch or ONNX Runtime."""

    def __init__(self, module: nn.Module, backend: str, onnx_path: Path | None, size: int):
        self.module, self.backend = module.eval(), backend
        self.session = None
        if backend == "onnx":
            self.session = _onnx_session(module, onnx_path, size)

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        if self.session is not None:
            return self.session.run(None, {"images": batch})
        with torch.inference_mode():
            out = self.module(torch.from_numpy(batch))
        out = out if isinstance(out, tuple) else (out,)
        return [o.float().numpy() for o in out]


def _onnx_session(module: nn.Module, path: Path, size: int):
    import onnxruntime as ort

    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # workers may export at once
        torch.onnx.export(
            module,
            (torch.zeros(2, 3, size, size),),
            str(tmp),
            input_names=["images"],
            dynamic_axes={"images": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        tmp.replace(path)
        log.info("exported %s", path)
    options = onnx_session_options()
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class IngestionModels:
    """The four ingestion bundles, loaded once. Every method takes a list of RGB crops."""

    def __init__(
        self,
        detector: GarmentDetector | None,
        bundles: Mapping[str, Bundle],
        backend: str = "torch",
        cache_dir: Path | None = None,
    ) -> None:
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
        modules = {
            "classifier": self.bundles["classifier"].net,
            "tagger": _TaggerLogits(self.bundles["tagger"].net, self.heads),
            "clip": clip.image_encoder(),
        }
        # each model's inputs as its bundle records them (the transform validation used)
        self.preprocessing = {n: self.bundles[n].preprocessing_spec.image for n in modules}
        self._transforms = {n: p.transform(train=False) for n, p in self.preprocessing.items()}
        self._runners = {
            name: _Runner(
                module,
                backend,
                _onnx_path(cache_dir, self.bundles[name]),
                self.preprocessing[name].image_size,
            )
            for name, module in modules.items()
        }

    @classmethod
    def load(
        cls,
        artifacts_dir: str | Path,
        backend: str = "torch",
        device: str = "cpu",
        detector: bool = True,
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
        return cls(found, bundles, backend, cache_dir=root / ONNX_CACHE)

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
                transform = self._transforms[name]
                by_key[key] = torch.stack([transform(c) for c in crops]).numpy()
            prepared[name] = by_key[key]
        return prepared

    def analyse_crops(
        self, crops: Sequence[np.ndarray], batch_size: int = 32
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """``(class probabilities [G, 47], {head: probabilities or formality}, embeddings
        [G, D])`` of RGB crops, run through the three models in batches."""
        probs, heads, embeds = [], {h: [] for h in self.heads}, []
        for start in range(0, len(crops), batch_size):
            with self.timer("prepare"):
                batch = self._prepare(crops[start : start + batch_size])
            with self.timer("classify"):
                logits = torch.from_numpy(self._runners["classifier"](batch["classifier"])[0])
            probs.append(logits.softmax(-1).numpy())
            with self.timer("tag"):
                outs = self._runners["tagger"](batch["tagger"])
            named = {h: torch.from_numpy(o) for h, o in zip(self.heads, outs, strict=True)}
            decoded = head_outputs(named)
            for h in self.heads:
                heads[h].append(decoded[h].numpy())
            with self.timer("embed"):
                embeds.append(self._runners["clip"](batch["clip"])[0])
        if not probs:
            dim = self.embedding_dim
            empty = {h: np.zeros((0,)) for h in self.heads}
            return np.zeros((0, len(self.classes))), empty, np.zeros((0, dim), np.float32)
        return (
            np.concatenate(probs),
            {h: np.concatenate(v) for h, v in heads.items()},
            _normalise(np.concatenate(embeds)),
        )

    def run(self, name: str, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Raw outputs of one model (``classifier`` logits, ``tagger`` heads in ``heads``
        order, ``clip`` embeddings) on one batch of RGB crops."""
        with self.timer("prepare"):
            batch = torch.stack([self._transforms[name](c) for c in crops]).numpy()
        return self._runners[name](batch)

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


def _onnx_path(cache_dir: Path | None, bundle: Bundle) -> Path | None:
    if cache_dir is None:
        return None
    return cache_dir / f"{bundle.name}-{bundle.meta['weights_sha256'][:16]}.onnx"
