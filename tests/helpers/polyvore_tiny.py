"""A tiny hand-made Polyvore Outfits dataset in the real layout, for the compatibility tests.

Every item has a semantic category and a *style* (0, 1 or 2); an outfit's items share a style.
Negative compatibility questions mix styles (tokens from several outfits, as in the real file)
and have their positive's length and categories, so only the style separates them;
FITB answers are items of the blank's category from other outfits, the correct one NOT first.
Images (optional) are 16 px squares whose colour is the style, so features computed from the
pixels carry the signal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from wardrobe.data.formats.polyvore import (
    CompatQuestion,
    FitbQuestion,
    ItemMeta,
    Outfit,
    OutfitItem,
    write_compatibility,
    write_fitb,
    write_item_metadata,
    write_outfits,
)

CATEGORIES = ("tops", "bottoms", "shoes", "bags", "jewellery")
STYLE_RGB = ((200, 30, 30), (30, 30, 200), (30, 160, 30))


@dataclass
class TinyPolyvore:
    """What the tests need to know about the written dataset."""

    root: Path
    category: dict[str, str] = field(default_factory=dict)
    style: dict[str, int] = field(default_factory=dict)
    outfits: dict[str, list[Outfit]] = field(default_factory=dict)

    def features(self, dim: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
        """Stand-in features: style one-hot + category one-hot + noise, zero-padded to ``dim``."""
        rng = np.random.default_rng(seed)
        out = {}
        for item_id, cat in self.category.items():
            vec = rng.normal(0, 0.1, dim).astype(np.float32)
            vec[self.style[item_id]] += 1.0
            vec[3 + CATEGORIES.index(cat)] += 1.0
            out[item_id] = vec
        return out


def write_tiny_polyvore(
    root: Path,
    sizes: dict[str, int] | None = None,
    images: bool = True,
    long_outfit: int = 10,
    seed: int = 0,
) -> TinyPolyvore:
    """Write ``<root>/nondisjoint/{train,valid,test}*``, ``images/`` and the metadata.

    The first train outfit has ``long_outfit`` items (more than the default ``max_items``).
    """
    sizes = sizes or {"train": 12, "valid": 6, "test": 6}
    rng = random.Random(seed)
    tiny = TinyPolyvore(root=Path(root))
    next_id = iter(range(100_000, 10_000_000))
    metas = []
    for split, n in sizes.items():
        outfits = []
        for k in range(n):
            style = k % len(STYLE_RGB)
            cats = list(CATEGORIES[:3]) + (["bags"] if k % 2 else [])
            if split == "train" and k == 0:
                cats += ["jewellery"] * (long_outfit - len(cats))
            items = []
            for index, cat in enumerate(cats, start=1):
                item_id = str(next(next_id))
                tiny.category[item_id], tiny.style[item_id] = cat, style
                metas.append(ItemMeta(item_id=item_id, semantic_category=cat, category_id="1"))
                items.append(OutfitItem(item_id=item_id, index=index))
            outfits.append(Outfit(set_id=f"{split[0]}{900 + k}", items=tuple(items)))
        tiny.outfits[split] = outfits
        split_dir = tiny.root / "nondisjoint"
        write_outfits(split_dir / f"{split}.json", outfits)
        compat = [CompatQuestion(1, o.tokens) for o in outfits]
        for k, outfit in enumerate(outfits):
            # a negative per outfit: its top from outfit k+1, its bottom from k+2 (three styles
            # then), the rest its own; same length and categories as the positive
            tokens = list(outfit.tokens)
            tokens[0], tokens[1] = outfits[(k + 1) % n].tokens[0], outfits[(k + 2) % n].tokens[1]
            compat.append(CompatQuestion(0, tuple(tokens)))
        write_compatibility(split_dir / f"compatibility_{split}.txt", compat)
        fitb = []
        for k, outfit in enumerate(outfits):
            blank = 1 + k % 3  # the blank is a top, bottom or shoe (every outfit has one)
            wrong = [outfits[(k + d) % n].token(blank) for d in (1, 2, 4)]
            answers = list(wrong)
            answers.insert(1 + k % 3, outfit.token(blank))  # never first
            question = tuple(t for t in outfit.tokens if t != outfit.token(blank))
            fitb.append(FitbQuestion(question, tuple(answers), blank))
        write_fitb(split_dir / f"fill_in_blank_{split}.json", fitb)
    write_item_metadata(tiny.root / "polyvore_item_metadata.json", metas)
    if images:
        for item_id, style in tiny.style.items():
            path = tiny.root / "images" / f"{item_id}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            shade = rng.randint(-20, 20)
            rgb = tuple(max(0, min(255, c + shade)) for c in STYLE_RGB[style])
            Image.new("RGB", (16, 16), rgb).save(path, quality=95)
    return tiny
