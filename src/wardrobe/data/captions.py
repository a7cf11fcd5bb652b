"""Captions for image-text (CLIP) training: one deterministic sentence per garment.

Attribute rows (:class:`~wardrobe.data.formats.attributes.AttributeRow`) become::

    a navy and white striped dress shirt, slim fit, formal, preppy

i.e. ``a[n] <colour>[ and <second colour>] <pattern> <category>, <fit> fit, <style tags>`` with
underscores as spaces, style tags in :data:`~wardrobe.taxonomy.STYLE_TAGS` order, and missing
labels left out (a row without a category says ``garment``). Seasons and formality are not
visible in a photo and stay out. The same labels always give the same caption, so captions
repeat across crops; retrieval metrics count any image with the query's caption as a hit.

Polyvore items use their metadata title (then the URL name, then the description's first
sentence); an item with none of them has no caption.
"""

from __future__ import annotations

import re

from wardrobe.data.formats.attributes import AttributeRow
from wardrobe.data.formats.polyvore import ItemMeta
from wardrobe.taxonomy import COLOURS, FINE_CATEGORIES, FITS, PATTERNS, STYLE_TAGS

CAPTION_TEMPLATE = (
    "a <colour> [and <colour>] <pattern> <category>, <fit> fit, <style tag>, <style tag>..."
)
GENERIC_GARMENT = "garment"
# The words a caption is made of, besides the vocabulary's own.
_TEMPLATE_WORDS = ("a", "an", "and", "fit", GENERIC_GARMENT)
_CAPTION_FIELDS = ("category", "colour_primary", "pattern", "fit", "style_tags")


def _words(label: str) -> str:
    return label.replace("_", " ")


def has_caption_attributes(row: AttributeRow) -> bool:
    """Whether ``row`` has any label a caption describes (else its caption says nothing)."""
    return any(getattr(row, name) for name in _CAPTION_FIELDS)


def caption_for(row: AttributeRow) -> str:
    """The caption of an attribute row, e.g. ``"a navy striped dress shirt, slim fit, formal"``."""
    colour = row.colour_primary
    if colour and row.colour_secondary and row.colour_secondary != colour:
        colour = f"{colour} and {row.colour_secondary}"
    noun = " ".join(
        _words(part)
        for part in (colour, row.pattern, row.category or GENERIC_GARMENT)
        if part is not None
    )
    article = "an" if noun[0] in "aeiou" else "a"
    parts = [f"{article} {noun}"]
    if row.fit:
        parts.append(f"{row.fit} fit")
    tags = set(row.style_tags or ())
    parts += [_words(tag) for tag in STYLE_TAGS if tag in tags]
    return ", ".join(parts)


def caption_words() -> list[str]:
    """Every word an attribute caption can contain (sorted): what the text tower has seen."""
    labels = (*COLOURS, *PATTERNS, *FINE_CATEGORIES, *FITS, *STYLE_TAGS)
    words = {w for label in labels for w in _words(label).split()}
    return sorted(words | set(_TEMPLATE_WORDS))


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def caption_for_item(meta: ItemMeta) -> str:
    """The caption of a Polyvore item: its title, else URL name, else first sentence; or ``""``."""
    for text in (meta.title, meta.url_name.replace("-", " "), meta.description.split(". ")[0]):
        cleaned = _clean(text).rstrip(".")
        if cleaned:
            return cleaned
    return ""
