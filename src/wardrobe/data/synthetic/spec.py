"""What a synthetic garment *is*: its labels, drawn by rules that the pixels make learnable.

Every label is a deterministic function of things the renderer draws (category silhouette,
pattern, colour, width) plus, for formality only, a little noise:

* ``formality`` = category base + pattern offset + colour offset + N(0, 0.02), clipped to [0, 1]
  (solid/striped and dark neutrals are dressier than graphic/floral and bright colours).
* ``seasons`` = the category's climate (cold / hot / mild / any) refined by colour lightness and
  pattern (floral adds spring, plaid adds fall); year-round items lean to spring-summer-fall when
  light and to spring-fall-winter when dark.
* ``style_tags`` = rules on category, pattern, colour and the noiseless formality (>= 1 tag).
* ``fit`` = the garment's width factor (slim narrow ... oversized wide); footwear and accessories
  are always ``regular`` (width is not a fit for a shoe or a watch).
* ``colour_secondary`` is the colour of the pattern's motif; ``None`` for solid garments.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from wardrobe.taxonomy import (
    CATEGORY_BY_NAME,
    COLOURS,
    FINE_CATEGORIES,
    FITS,
    FORMALITY_RANGE,
    NEUTRAL_COLOURS,
    PATTERNS,
    SEASONS,
    STYLE_TAGS,
)

from .colour import colour_distance, lightness


@dataclass(frozen=True)
class GarmentSpec:
    """One synthetic garment: its labels and the seed of its intrinsic look.

    ``appearance_seed`` fixes what makes this garment *this* garment (exact shade, pattern
    layout, print shape); the ``rng`` given to the renderer varies only the view (pose, scale,
    lighting, noise), so the same spec drawn twice is the same garment photographed twice.
    """

    category: str
    df2_class: str | None
    colour_primary: str
    colour_secondary: str | None
    pattern: str
    fit: str
    formality: float
    seasons: tuple[str, ...]
    style_tags: tuple[str, ...]
    appearance_seed: int = 0

    @property
    def group(self) -> str:
        """The taxonomy group (tops, bottoms, ...)."""
        return CATEGORY_BY_NAME[self.category].group

    @property
    def slot(self) -> str:
        """The outfit slot (top, bottom, one_piece, outerwear, footwear, accessory)."""
        return CATEGORY_BY_NAME[self.category].slot


# Fit -> width factor of the drawn garment (x-scale relative to its regular width).
FIT_WIDTH = MappingProxyType(dict(zip(FITS, (0.80, 0.93, 1.07, 1.24), strict=True)))
_FITLESS_GROUPS = frozenset({"footwear", "accessories"})


def _table(values: dict[str, object]) -> MappingProxyType:
    """Freeze a per-category rule table, checking it covers exactly the taxonomy."""
    if set(values) != set(FINE_CATEGORIES):
        missing = set(FINE_CATEGORIES) ^ set(values)
        raise ValueError(f"category table mismatch: {sorted(missing)}")
    return MappingProxyType(values)


# ---- formality -----------------------------------------------------------------------------
FORMALITY_BASE = _table(
    {
        "t_shirt": 0.2, "polo": 0.45, "tank_top": 0.1, "henley": 0.3, "dress_shirt": 0.85,
        "oxford": 0.7, "flannel": 0.3, "blouse": 0.6, "sweater": 0.5, "hoodie": 0.1,
        "sweatshirt": 0.15, "jeans": 0.3, "chinos": 0.55, "dress_pants": 0.88, "shorts": 0.15,
        "sweatpants": 0.05, "joggers": 0.1, "skirt": 0.5, "leggings": 0.1, "blazer": 0.8,
        "suit_jacket": 0.93, "bomber": 0.3, "denim_jacket": 0.25, "leather_jacket": 0.4,
        "coat": 0.75, "parka": 0.3, "vest": 0.62, "cardigan": 0.5, "casual_dress": 0.35,
        "formal_dress": 0.93, "maxi_dress": 0.5, "midi_dress": 0.6, "mini_dress": 0.4,
        "sundress": 0.3, "sneakers": 0.15, "dress_shoes": 0.93, "loafers": 0.7, "boots": 0.5,
        "sandals": 0.1, "heels": 0.75, "flats": 0.5, "belt": 0.6, "tie": 0.93, "scarf": 0.5,
        "hat": 0.35, "watch": 0.6, "bag": 0.55,
    }
)  # fmt: skip
PATTERN_FORMALITY = MappingProxyType(
    dict(zip(PATTERNS, (0.05, 0.03, 0.0, -0.02, -0.06, -0.12, -0.04, -0.07), strict=True))
)
_DARK_NEUTRALS = frozenset({"black", "navy", "grey"})
_BRIGHTS = frozenset({"pink", "orange", "yellow"})
FORMALITY_NOISE = 0.02


def colour_formality(colour: str) -> float:
    """Formality offset of a primary colour: dark neutrals dressier, brights more casual."""
    if colour in _DARK_NEUTRALS:
        return 0.05
    if colour in NEUTRAL_COLOURS:
        return 0.02
    return -0.05 if colour in _BRIGHTS else -0.02


def base_formality(category: str, pattern: str, colour: str) -> float:
    """The noiseless formality of a garment (the rule a model can learn from the pixels)."""
    value = FORMALITY_BASE[category] + PATTERN_FORMALITY[pattern] + colour_formality(colour)
    return float(np.clip(value, *FORMALITY_RANGE))


# ---- seasons -------------------------------------------------------------------------------
_CLIMATE_OF = {
    "cold": ("sweater", "hoodie", "sweatshirt", "flannel", "coat", "parka", "leather_jacket",
             "boots", "scarf"),
    "hot": ("tank_top", "shorts", "sundress", "mini_dress", "sandals"),
    "mild": ("chinos", "blazer", "bomber", "denim_jacket", "vest", "cardigan", "loafers",
             "henley", "midi_dress", "skirt"),
}  # fmt: skip
CLIMATE = _table(
    {c: next((k for k, v in _CLIMATE_OF.items() if c in v), "any") for c in FINE_CATEGORIES}
)


def colour_tone(colour: str) -> str:
    """``light`` (L* >= 68), ``dark`` (L* < 40) or ``mid``."""
    value = lightness(colour)
    return "light" if value >= 68 else "dark" if value < 40 else "mid"


def seasons_for(category: str, colour: str, pattern: str) -> tuple[str, ...]:
    """Seasons a garment suits: climate of the category, refined by colour and pattern."""
    tone, climate = colour_tone(colour), CLIMATE[category]
    if climate == "cold":
        chosen = {"fall", "winter"}
    elif climate == "hot":
        chosen = {"summer"} | ({"spring"} if tone != "dark" else set())
    elif climate == "mild":
        chosen = {"spring", "fall"} | ({"winter"} if tone == "dark" else set())
        chosen |= {"summer"} if tone == "light" else set()
    else:
        lean = {"light": {"spring", "summer", "fall"}, "dark": {"spring", "fall", "winter"}}
        chosen = lean.get(tone, set(SEASONS))
    if pattern == "floral" and climate != "cold":
        chosen.add("spring")
    if pattern == "plaid" and climate != "hot":
        chosen.add("fall")
    return tuple(s for s in SEASONS if s in chosen)


# ---- style tags ----------------------------------------------------------------------------
_STYLE_CATEGORIES = {
    "athletic": ("sweatpants", "joggers", "hoodie", "sneakers", "leggings", "tank_top"),
    "streetwear": ("hoodie", "bomber", "sweatshirt", "sneakers", "joggers", "hat",
                   "denim_jacket", "leather_jacket"),
    "preppy": ("polo", "oxford", "chinos", "loafers", "cardigan", "blazer", "vest"),
    "classic": ("dress_shirt", "oxford", "coat", "loafers", "watch", "belt", "suit_jacket",
                "dress_pants", "dress_shoes", "tie"),
    "bohemian": ("maxi_dress", "sundress", "blouse", "skirt", "scarf", "sandals", "bag",
                 "casual_dress", "midi_dress"),
    "trendy": ("mini_dress", "heels", "bomber", "leggings"),
    "vintage": ("leather_jacket", "flannel", "boots", "loafers", "skirt", "scarf", "cardigan"),
}  # fmt: skip


def style_tags_for(category: str, pattern: str, colour: str) -> tuple[str, ...]:
    """Style tags of a garment: deterministic rules on category, pattern and colour."""
    cats = _STYLE_CATEGORIES
    formality = base_formality(category, pattern, colour)
    earthy = colour in {"brown", "tan", "beige"}
    rules = {
        "athletic": category in cats["athletic"] and pattern in {"solid", "striped", "graphic"},
        "streetwear": category in cats["streetwear"] or pattern == "graphic",
        "formal": formality >= 0.75,
        "preppy": category in cats["preppy"] and pattern in {"solid", "striped", "plaid"},
        "classic": category in cats["classic"] and pattern in {"solid", "striped"},
        "minimalist": pattern == "solid" and colour in NEUTRAL_COLOURS and formality < 0.75,
        "bohemian": category in cats["bohemian"] and pattern in {"floral", "abstract"},
        "trendy": category in cats["trendy"]
        or colour in {"pink", "purple", "yellow"}
        or pattern == "abstract",
        "vintage": pattern == "polka_dot"
        or (category in cats["vintage"] and (earthy or pattern == "plaid")),
        "casual": formality < 0.45,
    }
    tags = tuple(t for t in STYLE_TAGS if rules[t])
    return tags or (("classic",) if formality >= 0.45 else ("casual",))


# ---- sampling ------------------------------------------------------------------------------
# Patterns each category is drawn with (weights); absent = the default below.
_DEFAULT_PATTERNS = {"solid": 5, "striped": 2, "plaid": 1, "checkered": 1, "floral": 1,
                     "graphic": 1, "polka_dot": 1, "abstract": 1}  # fmt: skip
_PATTERN_WEIGHTS = {
    "t_shirt": {"solid": 4, "striped": 2, "graphic": 3, "abstract": 1, "polka_dot": 1},
    "dress_shirt": {"solid": 5, "striped": 3, "checkered": 2},
    "oxford": {"solid": 5, "striped": 3, "checkered": 1},
    "flannel": {"plaid": 4, "checkered": 2},
    "polo": {"solid": 6, "striped": 3},
    "henley": {"solid": 6, "striped": 2},
    "hoodie": {"solid": 5, "graphic": 3, "abstract": 1},
    "sweatshirt": {"solid": 5, "graphic": 3, "striped": 1},
    "sweater": {"solid": 5, "striped": 2, "checkered": 1},
    "jeans": {"solid": 1}, "dress_pants": {"solid": 5, "striped": 2, "checkered": 1},
    "chinos": {"solid": 1}, "sweatpants": {"solid": 1}, "joggers": {"solid": 4, "graphic": 1},
    "leggings": {"solid": 4, "abstract": 1, "graphic": 1},
    "shorts": {"solid": 4, "striped": 1, "floral": 1, "plaid": 1},
    "suit_jacket": {"solid": 5, "striped": 2, "checkered": 1}, "blazer": {"solid": 4, "plaid": 2,
    "checkered": 1, "striped": 1}, "bomber": {"solid": 5, "graphic": 1},
    "denim_jacket": {"solid": 1}, "leather_jacket": {"solid": 1}, "coat": {"solid": 5, "plaid": 1},
    "parka": {"solid": 1}, "vest": {"solid": 4, "plaid": 1, "checkered": 1},
    "cardigan": {"solid": 4, "striped": 1},
    "formal_dress": {"solid": 6, "floral": 1},
    "sneakers": {"solid": 5, "graphic": 1, "checkered": 1}, "dress_shoes": {"solid": 1},
    "loafers": {"solid": 1}, "boots": {"solid": 1}, "heels": {"solid": 5, "polka_dot": 1},
    "sandals": {"solid": 1}, "flats": {"solid": 4, "polka_dot": 1},
    "belt": {"solid": 1}, "watch": {"solid": 1}, "hat": {"solid": 4, "plaid": 1},
    "tie": {"solid": 3, "striped": 3, "polka_dot": 1, "plaid": 1},
    "scarf": {"solid": 2, "plaid": 2, "striped": 1, "floral": 1, "checkered": 1},
    "bag": {"solid": 4, "checkered": 1, "floral": 1, "graphic": 1},
}  # fmt: skip
_DEFAULT_COLOURS = {c: (3 if c in NEUTRAL_COLOURS else 2) for c in COLOURS}
_COLOUR_WEIGHTS = {
    "jeans": {"blue": 6, "navy": 4, "black": 2, "grey": 1, "white": 1},
    "denim_jacket": {"blue": 6, "navy": 3, "black": 2, "white": 1},
    "dress_pants": {"black": 3, "navy": 3, "grey": 3, "tan": 1, "brown": 1, "beige": 1},
    "suit_jacket": {"black": 3, "navy": 3, "grey": 3, "brown": 1, "tan": 1, "beige": 1},
    "dress_shoes": {"black": 4, "brown": 4, "tan": 1, "navy": 1},
    "leather_jacket": {"black": 5, "brown": 3, "tan": 1, "red": 1},
    "chinos": {"tan": 3, "beige": 3, "navy": 2, "grey": 1, "green": 1, "white": 1, "brown": 1},
    "boots": {"black": 3, "brown": 3, "tan": 2, "grey": 1, "beige": 1},
    "loafers": {"black": 3, "brown": 3, "tan": 2, "navy": 1, "red": 1},
    "belt": {"black": 4, "brown": 4, "tan": 2, "navy": 1},
    "watch": {"black": 3, "brown": 3, "grey": 2, "tan": 1, "white": 1, "navy": 1},
    "dress_shirt": {"white": 5, "blue": 3, "pink": 1, "grey": 1, "beige": 1, "navy": 1},
    "tie": {"navy": 3, "red": 3, "black": 2, "blue": 2, "purple": 1, "green": 1, "grey": 1},
}  # fmt: skip
_FIT_WEIGHTS_OF = {
    "leggings": {"slim": 1},
    "dress_pants": {"slim": 3, "regular": 3, "relaxed": 1},
    "suit_jacket": {"slim": 3, "regular": 3, "relaxed": 1},
    "sweatpants": {"regular": 2, "relaxed": 3, "oversized": 2},
    "hoodie": {"slim": 1, "regular": 2, "relaxed": 2, "oversized": 3},
    "formal_dress": {"slim": 3, "regular": 2, "relaxed": 1},
}
_MIN_SECONDARY_DISTANCE = 35.0


def _choose(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = sorted(weights)
    p = np.array([weights[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _df2_class(rng: np.random.Generator, category: str, forced: str | None) -> str | None:
    options = CATEGORY_BY_NAME[category].df2_classes
    if forced is not None:
        if forced not in options:
            raise ValueError(f"{category} is never drawn as DeepFashion2 class {forced!r}")
        return forced
    if not options:
        return None
    weights = {name: (3.0 if i == 0 else 2.0 / len(options)) for i, name in enumerate(options)}
    return _choose(rng, weights)


def _fit(rng: np.random.Generator, category: str) -> str:
    if CATEGORY_BY_NAME[category].group in _FITLESS_GROUPS:
        return "regular"
    return _choose(rng, _FIT_WEIGHTS_OF.get(category, {f: 1.0 for f in FITS}))


def _secondary(rng: np.random.Generator, primary: str) -> str:
    far = {c: 1.0 for c in COLOURS if colour_distance(c, primary) >= _MIN_SECONDARY_DISTANCE}
    return _choose(rng, far)


def make_spec(
    category: str,
    df2_class: str | None,
    colour_primary: str,
    colour_secondary: str | None,
    pattern: str,
    fit: str,
    formality_noise: float = 0.0,
    appearance_seed: int = 0,
) -> GarmentSpec:
    """Build a spec whose derived labels (formality, seasons, style tags) follow the rules."""
    formality = base_formality(category, pattern, colour_primary) + formality_noise
    return GarmentSpec(
        category=category,
        df2_class=df2_class,
        colour_primary=colour_primary,
        colour_secondary=None if pattern == "solid" else colour_secondary,
        pattern=pattern,
        fit=fit,
        formality=round(float(np.clip(formality, *FORMALITY_RANGE)), 4),
        seasons=seasons_for(category, colour_primary, pattern),
        style_tags=style_tags_for(category, pattern, colour_primary),
        appearance_seed=appearance_seed,
    )


def sample_garment(
    rng: np.random.Generator, category: str | None = None, df2_class: str | None = None
) -> GarmentSpec:
    """Draw a random garment (uniform over categories unless ``category`` is given).

    ``df2_class`` forces the DeepFashion2 class (sleeve/strap variant) of the garment.
    """
    if category is None:
        category = FINE_CATEGORIES[int(rng.integers(len(FINE_CATEGORIES)))]
    if category not in CATEGORY_BY_NAME:
        raise ValueError(f"unknown fine category {category!r}")
    pattern = _choose(rng, _PATTERN_WEIGHTS.get(category, _DEFAULT_PATTERNS))
    primary = _choose(rng, _COLOUR_WEIGHTS.get(category, _DEFAULT_COLOURS))
    return make_spec(
        category=category,
        df2_class=_df2_class(rng, category, df2_class),
        colour_primary=primary,
        colour_secondary=_secondary(rng, primary),
        pattern=pattern,
        fit=_fit(rng, category),
        formality_noise=float(rng.normal(0.0, FORMALITY_NOISE)),
        appearance_seed=int(rng.integers(2**31)),
    )
