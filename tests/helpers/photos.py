"""Synthetic garment photos with known contents, encoded like uploads (JPEG bytes)."""

from __future__ import annotations

import cv2
import numpy as np

from wardrobe.data.synthetic.scene import Scene, compose_scene, flat_lay_layers
from wardrobe.data.synthetic.spec import sample_garment


def flat_lay(seed: int, categories: list[str], shape=(320, 480)) -> tuple[bytes, Scene]:
    """A shop-style flat lay of one garment per category; ``(JPEG bytes, scene)``."""
    rng = np.random.default_rng(seed)
    specs = [sample_garment(rng, category=c) for c in categories]
    scene = compose_scene(flat_lay_layers(specs, shape, rng), shape, rng, shop=True, viewpoint=1)
    return jpeg(scene.image), scene


def jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    assert ok
    return buf.tobytes()
