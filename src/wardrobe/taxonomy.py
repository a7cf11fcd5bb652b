"""The one vocabulary of the project.

Every list of classes, categories, slots, colours, patterns, fits, seasons and style tags is
spelled here and nowhere else. Other modules import these names; datasets, models, bundles and
the API all speak this vocabulary.

Corrections to the original design document:

* ``cardigan`` was listed twice (tops and outerwear). It is kept once, in ``outerwear``: it is
  worn as a layer over a top, and DeepFashion2 annotates cardigans as outwear. 47 unique labels.
* ``vest`` (fine category, outerwear) is a gilet/waistcoat. DeepFashion2's class ``vest`` is any
  sleeveless upper-body garment with wide straps (a tank top is one). The two live in different
  namespaces here: ``FINE_CATEGORIES`` vs ``DF2_CLASSES``.
* The colour rules of the design mention ``cream`` and ``burgundy``, which the 14-colour palette
  lacks; ``COLOUR_ALIASES`` maps such words onto palette colours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

# --------------------------------------------------------------------------------------------
# Detection: the 13 DeepFashion2 classes. DeepFashion2 annotations number them 1..13
# (``category_id``); YOLO labels number them 0..12. Names as the official COCO converter writes
# them; ``DF2_RAW_NAMES`` are the ``category_name`` strings of the raw per-image annotations.
# --------------------------------------------------------------------------------------------
DF2_CLASSES: tuple[str, ...] = (
    "short_sleeve_top",
    "long_sleeve_top",
    "short_sleeve_outwear",
    "long_sleeve_outwear",
    "vest",
    "sling",
    "shorts",
    "trousers",
    "skirt",
    "short_sleeve_dress",
    "long_sleeve_dress",
    "vest_dress",
    "sling_dress",
)
DF2_RAW_NAMES: tuple[str, ...] = tuple(name.replace("_", " ") for name in DF2_CLASSES)
#: what a DeepFashion2 class says of a garment's length: ``(part, length)``, its sleeves (tops,
#: outerwear, dresses) or legs (bottoms) short or long; absent: nothing (sleeveless). A skirt
#: counts as short legs: detectors take shorts for skirts (8 of 25 shorts photos of
#: clothing-dataset-small validation/ with a quickstart detector), rarely for trousers.
DF2_LENGTH = MappingProxyType(
    {
        "short_sleeve_top": ("sleeves", "short"),
        "long_sleeve_top": ("sleeves", "long"),
        "short_sleeve_outwear": ("sleeves", "short"),
        "long_sleeve_outwear": ("sleeves", "long"),
        "shorts": ("legs", "short"),
        "trousers": ("legs", "long"),
        "skirt": ("legs", "short"),
        "short_sleeve_dress": ("sleeves", "short"),
        "long_sleeve_dress": ("sleeves", "long"),
    }
)

#: a garment's length: of the sleeves of a top, of the legs of bottoms (the two the real photos'
#: labels tell: "t-shirt" / "longsleeve", "shorts" / "pants")
LENGTHS: tuple[str, ...] = ("short", "long")
LENGTH_PART = MappingProxyType({"tops": "sleeves", "bottoms": "legs"})
#: the DeepFashion2 classes that differ by length alone: (short, long)
DF2_LENGTH_PAIRS: tuple[tuple[str, str], ...] = (
    ("short_sleeve_top", "long_sleeve_top"),
    ("short_sleeve_outwear", "long_sleeve_outwear"),
    ("short_sleeve_dress", "long_sleeve_dress"),
    ("shorts", "trousers"),
)


def with_length(df2_class: str | None, length: str) -> str | None:
    """``df2_class`` with sleeves or legs of ``length`` (a ``short_sleeve_top`` made "long" is a
    ``long_sleeve_top``); a class outside :data:`DF2_LENGTH_PAIRS` (skirt, vest, sling) as it is."""
    for pair in DF2_LENGTH_PAIRS:
        if df2_class in pair:
            return pair[LENGTHS.index(length)]
    return df2_class


def length_of_classes(df2_classes: tuple[str, ...] | list[str]) -> str | None:
    """The one length every class of ``df2_classes`` has (:data:`DF2_LENGTH_PAIRS`), else None
    (none, mixed, or a class without one: a sling dress has no sleeves to be long)."""
    lengths = set()
    for df2_class in df2_classes:
        pair = next((p for p in DF2_LENGTH_PAIRS if df2_class in p), None)
        if pair is None:
            return None
        lengths.add(LENGTHS[pair.index(df2_class)])
    return lengths.pop() if len(lengths) == 1 else None


# Landmarks per DeepFashion2 category (``landmarks`` holds K*(x, y, v) for the item's class).
DF2_NUM_LANDMARKS: tuple[int, ...] = (25, 33, 31, 39, 15, 15, 10, 14, 8, 29, 37, 19, 19)


def df2_id_to_yolo(category_id: int) -> int:
    """DeepFashion2 ``category_id`` (1..13) -> YOLO class index (0..12)."""
    if not 1 <= category_id <= len(DF2_CLASSES):
        raise ValueError(f"DeepFashion2 category_id must be in 1..13, got {category_id}")
    return category_id - 1


def df2_class_name(category_id: int) -> str:
    """DeepFashion2 ``category_id`` (1..13) -> class name."""
    return DF2_CLASSES[df2_id_to_yolo(category_id)]


# --------------------------------------------------------------------------------------------
# Fine categories: 47 labels in 6 groups; each has an outfit slot and the DeepFashion2 classes it
# can appear as (first = the usual one; empty = DeepFashion2 does not annotate it).
# --------------------------------------------------------------------------------------------
SLOTS: tuple[str, ...] = ("top", "bottom", "one_piece", "outerwear", "footwear", "accessory")

GROUP_SLOT = MappingProxyType(
    {
        "tops": "top",
        "bottoms": "bottom",
        "outerwear": "outerwear",
        "dresses": "one_piece",
        "footwear": "footwear",
        "accessories": "accessory",
    }
)
GROUPS: tuple[str, ...] = tuple(GROUP_SLOT)

_LS, _SS = "long_sleeve_top", "short_sleeve_top"
_CATEGORY_TABLE: dict[str, dict[str, tuple[str, ...]]] = {
    "tops": {
        "t_shirt": (_SS, _LS),
        "polo": (_SS, _LS),
        "tank_top": ("vest", "sling"),
        "henley": (_LS, _SS),
        "dress_shirt": (_LS, _SS),
        "oxford": (_LS, _SS),
        "flannel": (_LS,),
        "blouse": (_LS, _SS, "sling"),
        "sweater": (_LS,),
        "hoodie": (_LS,),
        "sweatshirt": (_LS,),
    },
    "bottoms": {
        "jeans": ("trousers", "shorts"),
        "chinos": ("trousers", "shorts"),
        "dress_pants": ("trousers",),
        "shorts": ("shorts",),
        "sweatpants": ("trousers",),
        "joggers": ("trousers",),
        "skirt": ("skirt",),
        "leggings": ("trousers",),
    },
    "outerwear": {
        "blazer": ("long_sleeve_outwear",),
        "suit_jacket": ("long_sleeve_outwear",),
        "bomber": ("long_sleeve_outwear",),
        "denim_jacket": ("long_sleeve_outwear", "short_sleeve_outwear"),
        "leather_jacket": ("long_sleeve_outwear",),
        "coat": ("long_sleeve_outwear",),
        "parka": ("long_sleeve_outwear",),
        "vest": ("vest",),
        "cardigan": ("long_sleeve_outwear", "short_sleeve_outwear"),
    },
    "dresses": {
        "casual_dress": ("short_sleeve_dress", "vest_dress", "long_sleeve_dress"),
        "formal_dress": ("sling_dress", "long_sleeve_dress", "vest_dress"),
        "maxi_dress": ("sling_dress", "vest_dress", "long_sleeve_dress"),
        "midi_dress": ("short_sleeve_dress", "long_sleeve_dress", "vest_dress"),
        "mini_dress": ("sling_dress", "short_sleeve_dress", "vest_dress"),
        "sundress": ("sling_dress", "vest_dress"),
    },
    "footwear": {
        name: ()
        for name in ("sneakers", "dress_shoes", "loafers", "boots", "sandals", "heels", "flats")
    },
    "accessories": {name: () for name in ("belt", "tie", "scarf", "hat", "watch", "bag")},
}


@dataclass(frozen=True)
class Category:
    """A fine garment category with its group, outfit slot and DeepFashion2 classes."""

    name: str
    group: str
    slot: str
    df2_classes: tuple[str, ...]

    @property
    def detectable(self) -> bool:
        """Whether a DeepFashion2-trained detector can find this garment."""
        return bool(self.df2_classes)


CATEGORIES: tuple[Category, ...] = tuple(
    Category(name, group, GROUP_SLOT[group], df2)
    for group, members in _CATEGORY_TABLE.items()
    for name, df2 in members.items()
)
FINE_CATEGORIES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
CATEGORY_BY_NAME = MappingProxyType({c.name: c for c in CATEGORIES})
CATEGORY_INDEX = MappingProxyType({name: i for i, name in enumerate(FINE_CATEGORIES)})


def categories_in_slot(slot: str) -> tuple[str, ...]:
    """Fine categories worn in ``slot``."""
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r}; expected one of {SLOTS}")
    return tuple(c.name for c in CATEGORIES if c.slot == slot)


def categories_for_df2(df2_class: str) -> tuple[str, ...]:
    """Fine categories that can appear as DeepFashion2 class ``df2_class``."""
    if df2_class not in DF2_CLASSES:
        raise ValueError(f"unknown DeepFashion2 class {df2_class!r}")
    return tuple(c.name for c in CATEGORIES if df2_class in c.df2_classes)


# --------------------------------------------------------------------------------------------
# Attributes.
# --------------------------------------------------------------------------------------------
# The 14 palette colours with their sRGB reference values (from the original design).
COLOUR_RGB = MappingProxyType(
    {
        "black": (0, 0, 0),
        "white": (255, 255, 255),
        "grey": (128, 128, 128),
        "navy": (0, 0, 128),
        "blue": (70, 130, 180),
        "red": (220, 20, 60),
        "green": (34, 139, 34),
        "brown": (139, 69, 19),
        "tan": (210, 180, 140),
        "beige": (245, 245, 220),
        "pink": (255, 182, 193),
        "purple": (128, 0, 128),
        "orange": (255, 140, 0),
        "yellow": (255, 215, 0),
    }
)
COLOURS: tuple[str, ...] = tuple(COLOUR_RGB)
NEUTRAL_COLOURS: frozenset[str] = frozenset({"black", "white", "grey", "navy", "beige", "tan"})
# Colour words people use that are not palette colours -> nearest palette colour.
COLOUR_ALIASES = MappingProxyType(
    {
        "cream": "beige",
        "ivory": "beige",
        "camel": "tan",
        "khaki": "tan",
        "burgundy": "red",
        "maroon": "red",
        "gray": "grey",
        "charcoal": "grey",
        "olive": "green",
        "teal": "blue",
        "violet": "purple",
        "gold": "yellow",
    }
)

PATTERNS: tuple[str, ...] = (
    "solid",
    "striped",
    "plaid",
    "checkered",
    "floral",
    "graphic",
    "polka_dot",
    "abstract",
)
FITS: tuple[str, ...] = ("slim", "regular", "relaxed", "oversized")
SEASONS: tuple[str, ...] = ("spring", "summer", "fall", "winter")
STYLE_TAGS: tuple[str, ...] = (
    "casual",
    "formal",
    "preppy",
    "streetwear",
    "minimalist",
    "bohemian",
    "athletic",
    "classic",
    "trendy",
    "vintage",
)
FORMALITY_RANGE: tuple[float, float] = (0.0, 1.0)

# Attribute heads of the tagger: name -> (kind, vocabulary). ``formality`` is a regression.
ATTRIBUTE_HEADS = MappingProxyType(
    {
        "colour": ("multiclass", COLOURS),
        "pattern": ("multiclass", PATTERNS),
        "fit": ("multiclass", FITS),
        "formality": ("regression", ()),
        "seasons": ("multilabel", SEASONS),
        "style_tags": ("multilabel", STYLE_TAGS),
    }
)


def normalise_colour(word: str) -> str | None:
    """Map a colour word (palette name or alias, any case) to a palette colour, else None."""
    key = word.strip().lower().replace(" ", "_")
    if key in COLOUR_RGB:
        return key
    return COLOUR_ALIASES.get(key)


# Colour names in data sets ("pale mint green", "Navy Blue", "lightseagreen") -> palette colour.
# The *head word* (the last word) decides, spelt as a palette name (or "gray"); a compound whose
# modifier is itself the palette name of that shade ("navy blue" is navy) takes the modifier.
COLOUR_HEAD_SPELLINGS = MappingProxyType({**{c: c for c in COLOURS}, "gray": "grey"})
COLOUR_COMPOUNDS = MappingProxyType({("navy", "blue"): "navy"})


def colour_head_word(name: str) -> str | None:
    """The palette colour a colour *name* belongs to by its head word, else None.

    Names written as one word (CSS ``lightseagreen``) end in their head word."""
    words = re.findall(r"[a-z]+", name.lower())
    if not words:
        return None
    if len(words) >= 2 and (words[-2], words[-1]) in COLOUR_COMPOUNDS:
        return COLOUR_COMPOUNDS[(words[-2], words[-1])]
    last = words[-1]
    if last in COLOUR_HEAD_SPELLINGS:
        return COLOUR_HEAD_SPELLINGS[last]
    if len(words) == 1:  # run-together CSS/X11 names: the longest palette word it ends in
        ends = [w for w in COLOUR_HEAD_SPELLINGS if last.endswith(w)]
        if ends:
            return COLOUR_HEAD_SPELLINGS[max(ends, key=len)]
    return None


# --------------------------------------------------------------------------------------------
# Feedback signals and their default weights (the design's table; overridable in config).
# --------------------------------------------------------------------------------------------
FEEDBACK_SIGNALS: tuple[str, ...] = ("like", "dislike", "wear", "skip", "click")


# --------------------------------------------------------------------------------------------
# Styling rules shared by the recommender (and anything that explains an outfit).
# --------------------------------------------------------------------------------------------
# Occasions and the formality range (0 = loungewear .. 1 = black tie) each garment must fall in.
OCCASION_FORMALITY = MappingProxyType(
    {
        "athletic": (0.0, 0.3),
        "casual": (0.0, 0.55),
        "smart_casual": (0.3, 0.75),
        "business_casual": (0.45, 0.8),
        "business": (0.6, 1.0),
        "formal": (0.7, 1.0),
    }
)
OCCASIONS: tuple[str, ...] = tuple(OCCASION_FORMALITY)

# Hue families of the non-neutral palette colours on the painter's (RYB) colour wheel, and how
# two families combine: complementary (opposite on the wheel, plus the classic blue-brown),
# analogous (neighbours), anything else clashes. The design's "complementary" table mostly
# paired a colour with neutrals; those pairs are CLASSIC_COLOUR_PAIRS below.
COLOUR_HUE_FAMILY = MappingProxyType(
    {
        "red": "red",
        "pink": "red",
        "orange": "warm",
        "yellow": "warm",
        "brown": "earth",
        "green": "green",
        "blue": "blue",
        "purple": "purple",
    }
)
COMPLEMENTARY_FAMILIES: frozenset[frozenset[str]] = frozenset(
    frozenset(pair)
    for pair in (("red", "green"), ("blue", "warm"), ("purple", "warm"), ("blue", "earth"))
)
ANALOGOUS_FAMILIES: frozenset[frozenset[str]] = frozenset(
    frozenset(pair)
    for pair in (
        ("red", "purple"),
        ("red", "warm"),
        ("red", "earth"),
        ("warm", "earth"),
        ("warm", "green"),
        ("green", "blue"),
        ("green", "earth"),
        ("blue", "purple"),
    )
)


def _classic_pairs(table: dict[str, tuple[str, ...]]) -> frozenset[frozenset[str]]:
    pairs = set()
    for first, others in table.items():
        for other in others:
            a, b = normalise_colour(first), normalise_colour(other)
            if a is None or b is None or a == b:
                raise ValueError(f"classic colour pair {first}/{other} is not two palette colours")
            pairs.add(frozenset((a, b)))
    return frozenset(pairs)


# The design's colour pairings (cream -> beige, burgundy -> red), as unordered palette pairs.
CLASSIC_COLOUR_PAIRS: frozenset[frozenset[str]] = _classic_pairs(
    {
        "navy": ("white", "tan", "cream", "burgundy"),
        "black": ("white", "grey", "red", "pink"),
        "grey": ("navy", "blue", "pink", "burgundy"),
        "blue": ("tan", "brown", "white", "grey"),
        "brown": ("blue", "navy", "white", "cream"),
    }
)
if set(COLOUR_HUE_FAMILY) != set(COLOURS) - NEUTRAL_COLOURS:
    raise RuntimeError("COLOUR_HUE_FAMILY must cover exactly the non-neutral palette colours")
