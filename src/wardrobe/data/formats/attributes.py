"""Garment attribute labels: ``AttributeRow`` files (JSONL or CSV) and the iMaterialist mapping.

A row labels one garment image (path relative to the file's folder). ``None`` means the label is
missing (the loss masks it), an empty tuple for ``seasons``/``style_tags`` means "labelled: none".
Every value is checked against :mod:`wardrobe.taxonomy`; colour words go through
``normalise_colour`` (``"cream"`` -> ``"beige"``). A row with an unknown value is skipped and
counted, never guessed.

JSONL: one object per line, sorted keys. CSV: a header with the field names; ``seasons`` and
``style_tags`` are ``|``-separated; an empty cell is a missing label.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path

import yaml

from wardrobe.data.formats._io import atomic_write_text
from wardrobe.data.formats.report import SkipReport
from wardrobe.taxonomy import (
    FINE_CATEGORIES,
    FITS,
    FORMALITY_RANGE,
    PATTERNS,
    SEASONS,
    STYLE_TAGS,
    normalise_colour,
)

IMATERIALIST_MAPPING_PATH = Path(__file__).with_name("imaterialist_mapping.yaml")
LIST_SEPARATOR = "|"


@dataclass(frozen=True)
class AttributeRow:
    """Attribute labels of one garment image; ``None`` = missing label."""

    image: str
    category: str | None = None
    colour_primary: str | None = None
    colour_secondary: str | None = None
    pattern: str | None = None
    fit: str | None = None
    formality: float | None = None
    seasons: tuple[str, ...] | None = None
    style_tags: tuple[str, ...] | None = None


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(AttributeRow))
_LIST_FIELDS = ("seasons", "style_tags")
_VOCAB = {"category": FINE_CATEGORIES, "pattern": PATTERNS, "fit": FITS}
_LIST_VOCAB = {"seasons": SEASONS, "style_tags": STYLE_TAGS}


class InvalidRow(ValueError):
    """A row value outside the taxonomy; ``reason`` is the SkipReport key."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


# ---------------------------------------------------------------------------- validation


def _word(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


def _colour(value: object) -> str | None:
    word = _word(value)
    if word is None:
        return None
    colour = normalise_colour(word)
    if colour is None:
        raise InvalidRow("unknown_colour", repr(value))
    return colour


def _choice(name: str, value: object) -> str | None:
    word = _word(value)
    if word is not None and word not in _VOCAB[name]:
        raise InvalidRow(f"unknown_{name}", repr(value))
    return word


def _formality(value: object) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidRow("bad_formality", repr(value)) from None
    low, high = FORMALITY_RANGE
    if not low <= number <= high:  # NaN fails too
        raise InvalidRow("formality_out_of_range", repr(value))
    return number


def _tags(name: str, value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.split(LIST_SEPARATOR) if v.strip()]
    tags = tuple(dict.fromkeys(str(v).strip().lower() for v in value))  # type: ignore[union-attr]
    unknown = [t for t in tags if t not in _LIST_VOCAB[name]]
    if unknown:
        raise InvalidRow(f"unknown_{name}", repr(unknown))
    return tags


def clean_attribute_row(raw: Mapping[str, object]) -> AttributeRow:
    """Validate one raw row (dict) into an ``AttributeRow``; raise ``InvalidRow``."""
    image = str(raw.get("image") or "").strip()
    if not image:
        raise InvalidRow("missing_image", repr(dict(raw))[:80])
    unknown_keys = set(raw) - set(FIELD_NAMES)
    if unknown_keys:
        raise InvalidRow("unknown_field", repr(sorted(unknown_keys)))
    return AttributeRow(
        image=image,
        category=_choice("category", raw.get("category")),
        colour_primary=_colour(raw.get("colour_primary")),
        colour_secondary=_colour(raw.get("colour_secondary")),
        pattern=_choice("pattern", raw.get("pattern")),
        fit=_choice("fit", raw.get("fit")),
        formality=_formality(raw.get("formality")),
        seasons=_tags("seasons", raw.get("seasons")),
        style_tags=_tags("style_tags", raw.get("style_tags")),
    )


# ---------------------------------------------------------------------------- files


def _raw_rows_jsonl(text: str, report: SkipReport) -> Iterable[tuple[str, Mapping]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError:
            report.add("bad_json", f"line {number}")
            continue
        if not isinstance(raw, dict):
            report.add("bad_json", f"line {number}: not an object")
            continue
        yield f"line {number}", raw


def _raw_rows_csv(text: str) -> Iterable[tuple[str, Mapping]]:
    for number, raw in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        cleaned = {k: (v if v is None or v.strip() else None) for k, v in raw.items() if k}
        yield f"line {number}", cleaned


def read_attribute_rows(path: str | os.PathLike) -> tuple[list[AttributeRow], SkipReport]:
    """Read a ``.jsonl`` or ``.csv`` attribute file; skip and count invalid rows."""
    path = Path(path)
    report = SkipReport(name=f"attributes {path.name}")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        raw_rows = _raw_rows_csv(text)
    else:
        raw_rows = _raw_rows_jsonl(text, report)
    rows = []
    for where, raw in raw_rows:
        try:
            rows.append(clean_attribute_row(raw))
        except InvalidRow as exc:
            report.add(exc.reason, f"{where}: {exc}")
    return rows, report


def _row_dict(row: AttributeRow) -> dict:
    data = asdict(row)
    for name in _LIST_FIELDS:
        if data[name] is not None:
            data[name] = list(data[name])
    return data


def attribute_rows_text(rows: Iterable[AttributeRow], csv_format: bool = False) -> str:
    """JSONL (sorted keys, one row a line) or CSV (header, ``|`` lists, empty = missing)."""
    if not csv_format:
        return "".join(json.dumps(_row_dict(r), sort_keys=True) + "\n" for r in rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELD_NAMES)
    for row in rows:
        values = []
        for name in FIELD_NAMES:
            value = getattr(row, name)
            if name in _LIST_FIELDS and value is not None:
                value = LIST_SEPARATOR.join(value)
            values.append("" if value is None else value)
        writer.writerow(values)
    return buffer.getvalue()


def write_attribute_rows(path: str | os.PathLike, rows: Iterable[AttributeRow]) -> Path:
    """Write rows to ``.jsonl`` (default) or ``.csv`` by suffix, deterministically, atomically."""
    path = Path(path)
    return atomic_write_text(path, attribute_rows_text(rows, path.suffix.lower() == ".csv"))


# ---------------------------------------------------------------------------- iMaterialist


@lru_cache(maxsize=4)
def load_imaterialist_mapping(path: str | os.PathLike | None = None) -> dict[str, dict]:
    """The iMaterialist-Fashion -> taxonomy mapping: ``{section: {their name: ours or None}}``."""
    data = yaml.safe_load(Path(path or IMATERIALIST_MAPPING_PATH).read_text(encoding="utf-8"))
    return {
        section: {str(k).strip().lower(): v for k, v in (table or {}).items()}
        for section, table in data.items()
    }


def _only(values: list[str]) -> str | None:
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else None


def map_imaterialist_labels(names: Iterable[str]) -> dict[str, str]:
    """Map one object's iMaterialist labels (its class + attribute names) to row fields.

    Returns only the fields it could set, e.g. ``{"category": "jeans", "pattern": "striped"}``.
    A nickname (``"jeans"``, ``"polo (shirt)"``) refines the class; for a ``dress``, a length
    attribute (``"maxi (length)"``) picks the dress category. Two labels that disagree on a
    field leave it missing rather than guessing.
    """
    mapping = load_imaterialist_mapping()
    names = [str(n).strip().lower() for n in names]
    out: dict[str, str] = {}
    classes = [n for n in names if n in mapping["categories"]]
    nicknames = [mapping["nicknames"][n] for n in names if mapping["nicknames"].get(n)]
    category = _only(nicknames) or _only(
        [mapping["categories"][n] for n in classes if mapping["categories"][n]]
    )
    if category is None and classes == ["dress"]:
        category = _only(
            [mapping["dress_lengths"][n] for n in names if mapping["dress_lengths"].get(n)]
        )
    for field_name, value in (
        ("category", category),
        ("pattern", _only([mapping["patterns"][n] for n in names if mapping["patterns"].get(n)])),
        ("fit", _only([mapping["fits"][n] for n in names if mapping["fits"].get(n)])),
    ):
        if value is not None:
            out[field_name] = value
    return out
