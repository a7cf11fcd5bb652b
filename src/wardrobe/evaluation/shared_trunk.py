"""One trunk pass per held-out crop for the crop bundles of one evaluation run.

The quickstart classifier, tagger and CLIP bundles share their frozen trunk (the fingerprint of
:func:`wardrobe.ingestion.models.shared_trunk_fingerprint`) and read the same held-out crops
(``attributes/`` points at ``classification/``'s images). :class:`TrunkOutputs` keeps each
crop's trunk output, keyed by that fingerprint and the digest of the network input, so the
second and third bundle run only their heads on it, as serving does. A bundle without a recorded
trunk runs whole.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import torch

from wardrobe.artifacts import Bundle
from wardrobe.ingestion.models import shared_trunk_fingerprint

log = logging.getLogger(__name__)


class TrunkOutputs:
    """Trunk outputs of network inputs, shared by the bundles with the same trunk."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, bytes], torch.Tensor] = {}
        self._fingerprints: dict[int, str | None] = {}
        self.computed = self.reused = 0

    def _fingerprint(self, bundle: Bundle) -> str | None:
        if id(bundle) not in self._fingerprints:
            self._fingerprints[id(bundle)] = shared_trunk_fingerprint(bundle)
        return self._fingerprints[id(bundle)]

    def features(self, bundle: Bundle, images: torch.Tensor) -> torch.Tensor | None:
        """The trunk output of each image (``[B, trunk_width]``); None: no shareable trunk."""
        fingerprint = self._fingerprint(bundle)
        if fingerprint is None:
            return None
        keys = [(fingerprint, _digest(image)) for image in images]
        missing = [i for i, key in enumerate(keys) if key not in self._rows]
        if missing:
            for i, row in zip(missing, bundle.net.trunk(images[missing]), strict=True):
                self._rows[keys[i]] = row
        self.computed += len(missing)
        self.reused += len(keys) - len(missing)
        return torch.stack([self._rows[key] for key in keys])

    def log_summary(self) -> None:
        if self.computed or self.reused:
            log.info(
                "shared trunk: %d crops through the trunk, %d trunk outputs reused",
                self.computed,
                self.reused,
            )


def crop_outputs(
    bundle: Bundle,
    images: torch.Tensor,
    trunk: TrunkOutputs | None,
    whole: Callable[[torch.Tensor], Any] | None = None,
) -> Any:
    """``whole(images)`` (default ``bundle.net``), from shared trunk outputs when ``trunk`` has
    them: the net's ``forward_features`` on them."""
    features = None if trunk is None else trunk.features(bundle, images)
    if features is None:
        return (whole or bundle.net)(images)
    return bundle.net.forward_features(features)


def _digest(image: torch.Tensor) -> bytes:
    return hashlib.blake2b(image.contiguous().numpy().tobytes(), digest_size=16).digest()
