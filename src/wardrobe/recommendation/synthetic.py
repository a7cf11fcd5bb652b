"""Synthetic wardrobes for tests, benchmarks and demos: SynthWardrobe garment specs as records.

Each garment is drawn by the data generator's :func:`sample_garment` (so its labels follow the
generator's rules and the hidden stylist rule can judge outfits of them) and written as the
:class:`GarmentIn` ingestion would produce: primary colour share 0.7, the pattern's motif colour
0.2.
"""

from __future__ import annotations

import hashlib

import numpy as np

from wardrobe import taxonomy
from wardrobe.data.synthetic.spec import GarmentSpec, sample_garment
from wardrobe.store.schema import GarmentIn

# slot mix of a plausible wardrobe (tops and bottoms dominate; the design's 6 slots)
SLOT_SHARE = {
    "top": 0.28,
    "bottom": 0.2,
    "one_piece": 0.08,
    "outerwear": 0.14,
    "footwear": 0.16,
    "accessory": 0.14,
}
if set(SLOT_SHARE) != set(taxonomy.SLOTS):
    raise RuntimeError("SLOT_SHARE must give every slot of the taxonomy")


def garment_in(garment_id: str, spec: GarmentSpec) -> GarmentIn:
    """The garment record of a synthetic spec."""
    colours = [{"colour": spec.colour_primary, "share": 0.7}]
    if spec.colour_secondary and spec.colour_secondary != spec.colour_primary:
        colours.append({"colour": spec.colour_secondary, "share": 0.2})
    return GarmentIn(
        id=garment_id,
        image_sha256=hashlib.sha256(garment_id.encode()).hexdigest(),
        category=spec.category,
        category_confidence=1.0,
        attributes={
            "pattern": spec.pattern,
            "fit": spec.fit,
            "formality": spec.formality,
            "seasons": list(spec.seasons),
            "style_tags": list(spec.style_tags),
            "colours": colours,
        },
    )


def sample_wardrobe(
    rng: np.random.Generator, n: int, prefix: str = "g"
) -> list[tuple[GarmentIn, GarmentSpec]]:
    """``n`` garments with the :data:`SLOT_SHARE` slot mix (uniform categories per slot)."""
    slots = list(SLOT_SHARE)
    p = np.array([SLOT_SHARE[s] for s in slots])
    out = []
    for i in range(n):
        slot = slots[int(rng.choice(len(slots), p=p / p.sum()))]
        options = taxonomy.categories_in_slot(slot)
        spec = sample_garment(rng, options[int(rng.integers(len(options)))])
        out.append((garment_in(f"{prefix}{i:05d}", spec), spec))
    return out


def random_embeddings(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """``n`` random unit vectors (stand-ins for CLIP embeddings)."""
    emb = rng.normal(size=(n, dim)).astype(np.float32)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)
