"""Polyvore Outfits (Vasileva et al., ECCV 2018): splits, questions, metadata, categories.

Layout::

    <root>/images/<item_id>.jpg
    <root>/polyvore_item_metadata.json      single-line dict item_id -> {..., "catgeories": [...]}
    <root>/categories.csv                   id,fine-grained,semantic (CRLF, no final newline)
    <root>/{disjoint,nondisjoint}/{train,valid,test}.json
    <root>/{disjoint,nondisjoint}/compatibility_<split>.txt
    <root>/{disjoint,nondisjoint}/fill_in_blank_<split>.json

Tokens in the question files are ``<set_id>_<index>``; they map to an ``item_id`` through the
split's own outfit list. The writers reproduce the byte layout of the real files.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wardrobe.data.formats._io import atomic_write_text
from wardrobe.data.formats.report import SkipReport

VARIANTS: tuple[str, ...] = ("nondisjoint", "disjoint")
SPLITS: tuple[str, ...] = ("train", "valid", "test")
# The catch-all semantic category: in a conflict, a more specific one wins over it.
GENERIC_SEMANTIC = "accessories"


@dataclass(frozen=True)
class OutfitItem:
    """One item of an outfit: its ``item_id`` (a string of digits) and 1-based ``index``."""

    item_id: str
    index: int


@dataclass(frozen=True)
class Outfit:
    """An outfit (``set_id``) and its items in file order."""

    set_id: str
    items: tuple[OutfitItem, ...]

    def token(self, index: int) -> str:
        """The question-file token of the item at ``index``: ``<set_id>_<index>``."""
        return make_token(self.set_id, index)

    @property
    def tokens(self) -> tuple[str, ...]:
        """Tokens of all items, in order."""
        return tuple(self.token(item.index) for item in self.items)

    def item_at(self, index: int) -> str:
        """``item_id`` of the item with ``index`` (KeyError if none)."""
        for item in self.items:
            if item.index == index:
                return item.item_id
        raise KeyError(f"outfit {self.set_id} has no item with index {index}")


@dataclass(frozen=True)
class CompatQuestion:
    """A line of ``compatibility_<split>.txt``: label 1 (compatible) / 0 and item tokens."""

    label: int
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class FitbQuestion:
    """A fill-in-the-blank question. ``blank_position`` is the 1-based ``index`` of the blank.

    The correct answer is the one whose set_id is the question's set_id; it is NOT always first.
    """

    question: tuple[str, ...]
    answers: tuple[str, ...]
    blank_position: int

    @property
    def set_id(self) -> str:
        """The outfit the question comes from."""
        return token_set_id(self.question[0])

    @property
    def correct_index(self) -> int:
        """Position in ``answers`` of the correct answer (ValueError unless exactly one)."""
        return fitb_correct_index(self)

    @property
    def correct_answer(self) -> str:
        """The correct answer token."""
        return self.answers[self.correct_index]


def fitb_correct_index(question: FitbQuestion) -> int:
    """Index in ``question.answers`` of the answer from the question's outfit."""
    set_ids = {token_set_id(t) for t in question.question}
    if len(set_ids) != 1:
        raise ValueError(f"question tokens come from several outfits: {sorted(set_ids)}")
    (set_id,) = set_ids
    hits = [i for i, t in enumerate(question.answers) if token_set_id(t) == set_id]
    if len(hits) != 1:
        raise ValueError(f"{len(hits)} answers match set_id {set_id}: {question.answers}")
    return hits[0]


@dataclass(frozen=True)
class ItemMeta:
    """One record of ``polyvore_item_metadata.json`` (``categories`` is the misspelt key)."""

    item_id: str
    semantic_category: str
    category_id: str
    title: str = ""
    description: str = ""
    url_name: str = ""
    categories: tuple[str, ...] = ()
    related: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolyvoreCategory:
    """A category id of ``categories.csv`` after cleaning.

    ``semantic`` is the resolved semantic category ('' if every row left it empty);
    ``semantics`` lists every distinct (stripped, non-empty) value seen, so len > 1 = conflict.
    """

    category_id: str
    semantic: str
    fine_grained: tuple[str, ...]
    semantics: tuple[str, ...]

    @property
    def conflicting(self) -> bool:
        """Whether rows of this id disagree on the semantic category."""
        return len(self.semantics) > 1


# ---------------------------------------------------------------------------- tokens


def make_token(set_id: str, index: int) -> str:
    """``<set_id>_<index>``."""
    return f"{set_id}_{int(index)}"


def split_token(token: str) -> tuple[str, int]:
    """``"<set_id>_<index>"`` -> ``(set_id, index)`` (ValueError if malformed)."""
    set_id, sep, index = token.rpartition("_")
    if not sep or not set_id or not index.isdigit():
        raise ValueError(f"malformed Polyvore token {token!r}; expected <set_id>_<index>")
    return set_id, int(index)


def token_set_id(token: str) -> str:
    """The set_id part of a token."""
    return split_token(token)[0]


def resolve_token(token: str, outfits_by_set: Mapping[str, Outfit]) -> str:
    """``item_id`` of ``<set_id>_<index>`` through the split's outfits (KeyError if absent)."""
    set_id, index = split_token(token)
    outfit = outfits_by_set.get(set_id)
    if outfit is None:
        raise KeyError(f"token {token!r}: set_id {set_id} is not in this split")
    return outfit.item_at(index)


def outfits_by_set_id(outfits: Iterable[Outfit]) -> dict[str, Outfit]:
    """``{set_id: outfit}``."""
    return {outfit.set_id: outfit for outfit in outfits}


# ---------------------------------------------------------------------------- readers


def read_outfits(path: str | os.PathLike) -> list[Outfit]:
    """Read ``<split>.json``: a list of ``{"items": [{"item_id", "index"}], "set_id"}``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [
        Outfit(
            set_id=str(record["set_id"]),
            items=tuple(
                OutfitItem(item_id=str(item["item_id"]), index=int(item["index"]))
                for item in record["items"]
            ),
        )
        for record in data
    ]


def read_compatibility(path: str | os.PathLike) -> list[CompatQuestion]:
    """Read ``compatibility_<split>.txt``: ``label token token ...`` split on whitespace."""
    questions = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields:
            questions.append(CompatQuestion(label=int(fields[0]), tokens=tuple(fields[1:])))
    return questions


def read_fitb(path: str | os.PathLike) -> list[FitbQuestion]:
    """Read ``fill_in_blank_<split>.json``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [
        FitbQuestion(
            question=tuple(str(t) for t in record["question"]),
            answers=tuple(str(t) for t in record["answers"]),
            blank_position=int(record["blank_position"]),
        )
        for record in data
    ]


def _meta(item_id: str, record: Mapping) -> ItemMeta:
    categories = record.get("catgeories", record.get("categories")) or ()
    return ItemMeta(
        item_id=str(item_id),
        semantic_category=str(record.get("semantic_category", "")),
        category_id=str(record.get("category_id", "")),
        title=str(record.get("title") or ""),
        description=str(record.get("description") or ""),
        url_name=str(record.get("url_name") or ""),
        categories=tuple(str(c) for c in categories),
        related=tuple(str(r) for r in record.get("related") or ()),
    )


def read_item_metadata(path: str | os.PathLike) -> dict[str, ItemMeta]:
    """Read ``polyvore_item_metadata.json`` (one-line dict; the key ``catgeories`` is sic)."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return {str(item_id): _meta(item_id, record) for item_id, record in data.items()}


def read_categories_rows(path: str | os.PathLike) -> list[tuple[str, str, str]]:
    """The raw rows of ``categories.csv``, untouched (trailing spaces kept)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return [tuple(row) for row in csv.reader(handle) if row]  # type: ignore[misc]


def _resolve_semantic(values: Sequence[str]) -> str:
    """Majority vote; a tie prefers a specific category over ``accessories``, then file order."""
    counts = Counter(values)
    if not counts:
        return ""
    best = max(counts.values())
    tied = [v for v in dict.fromkeys(values) if counts[v] == best]
    specific = [v for v in tied if v != GENERIC_SEMANTIC]
    return (specific or tied)[0]


def read_categories_csv(
    path: str | os.PathLike,
) -> tuple[dict[str, PolyvoreCategory], SkipReport]:
    """Read ``categories.csv`` into a clean ``{category_id: PolyvoreCategory}`` map.

    Values are stripped. The report counts ``duplicate_id_rows`` (rows repeating an id),
    ``conflicting_semantic`` (ids whose rows disagree: the resolved value is in the map, the
    example names all values), ``trailing_space`` and ``empty_semantic`` rows, ``bad_row``.
    """
    report = SkipReport(name=f"Polyvore {Path(path).name}")
    fine: dict[str, list[str]] = {}
    semantics: dict[str, list[str]] = {}
    for number, row in enumerate(read_categories_rows(path), start=1):
        if len(row) != 3 or not row[0].strip():
            report.add("bad_row", f"line {number}: {row!r}")
            continue
        if any(value != value.strip() for value in row):
            report.add("trailing_space", f"line {number}: {','.join(row)!r}")
        cid, name, semantic = (value.strip() for value in row)
        if cid in fine:
            report.add("duplicate_id_rows", cid)
        fine.setdefault(cid, []).append(name)
        semantics.setdefault(cid, [])
        if semantic:
            semantics[cid].append(semantic)
        else:
            report.add("empty_semantic", f"line {number}: id {cid} ({name})")
    categories = {}
    for cid, names in fine.items():
        distinct = tuple(dict.fromkeys(semantics[cid]))
        category = PolyvoreCategory(
            cid, _resolve_semantic(semantics[cid]), tuple(dict.fromkeys(names)), distinct
        )
        if category.conflicting:
            report.add("conflicting_semantic", f"id {cid}: {list(distinct)} -> {category.semantic}")
        categories[cid] = category
    return categories, report


# ---------------------------------------------------------------------------- writers

_INDENTED = {"indent": 4, "separators": (", ", ": ")}


def outfits_text(outfits: Iterable[Outfit]) -> str:
    """The text of ``<split>.json``: indent 4, ``", "`` separators, no final newline."""
    records = [
        {"items": [{"item_id": i.item_id, "index": i.index} for i in o.items], "set_id": o.set_id}
        for o in outfits
    ]
    return json.dumps(records, **_INDENTED)


def write_outfits(path: str | os.PathLike, outfits: Iterable[Outfit]) -> Path:
    """Write ``<split>.json`` in the real files' byte layout."""
    return atomic_write_text(path, outfits_text(outfits))


def compatibility_text(questions: Iterable[CompatQuestion]) -> str:
    """Lines ``1 tok tok`` / ``0  tok tok`` (two spaces after 0), no final newline."""
    lines = []
    for q in questions:
        label = f"{int(q.label)} " if q.label else f"{int(q.label)}  "
        lines.append(label + " ".join(q.tokens))
    return "\n".join(lines)


def write_compatibility(path: str | os.PathLike, questions: Iterable[CompatQuestion]) -> Path:
    """Write ``compatibility_<split>.txt`` in the real files' byte layout."""
    return atomic_write_text(path, compatibility_text(questions))


def write_fitb(path: str | os.PathLike, questions: Iterable[FitbQuestion]) -> Path:
    """Write ``fill_in_blank_<split>.json`` (indent 4, ``", "`` separators, no final newline)."""
    records = [
        {
            "question": list(q.question),
            "blank_position": q.blank_position,
            "answers": list(q.answers),
        }
        for q in questions
    ]
    return atomic_write_text(path, json.dumps(records, **_INDENTED))


def item_meta_to_dict(meta: ItemMeta) -> dict:
    """A metadata record, keys in the real file's order (with the ``catgeories`` typo)."""
    return {
        "url_name": meta.url_name,
        "description": meta.description,
        "catgeories": list(meta.categories),
        "title": meta.title,
        "related": list(meta.related),
        "category_id": meta.category_id,
        "semantic_category": meta.semantic_category,
    }


def write_item_metadata(path: str | os.PathLike, metas: Iterable[ItemMeta]) -> Path:
    """Write ``polyvore_item_metadata.json`` as one line."""
    return atomic_write_text(path, json.dumps({m.item_id: item_meta_to_dict(m) for m in metas}))


def write_categories_csv(path: str | os.PathLike, rows: Iterable[Sequence[str]]) -> Path:
    """Write ``categories.csv`` rows ``id,fine,semantic`` with CRLF and no final newline."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return atomic_write_text(path, buffer.getvalue().removesuffix("\r\n"))


# ---------------------------------------------------------------------------- a whole split


@dataclass
class PolyvoreSplit:
    """One split of one variant, tied together, with what failed to resolve in ``report``."""

    name: str
    outfits: list[Outfit]
    compatibility: list[CompatQuestion] = field(default_factory=list)
    fitb: list[FitbQuestion] = field(default_factory=list)
    images_dir: Path | None = None
    report: SkipReport = field(default_factory=SkipReport)

    def __post_init__(self) -> None:
        self.by_set = outfits_by_set_id(self.outfits)

    @property
    def item_ids(self) -> set[str]:
        """Distinct item ids of the split."""
        return {item.item_id for outfit in self.outfits for item in outfit.items}

    def resolve(self, token: str) -> str:
        """``item_id`` of a token of this split."""
        return resolve_token(token, self.by_set)

    def image_path(self, item_id: str) -> Path | None:
        """``images/<item_id>.jpg`` (None without an images folder)."""
        return None if self.images_dir is None else self.images_dir / f"{item_id}.jpg"

    @classmethod
    def load(
        cls,
        split_dir: str | os.PathLike,
        split: str = "valid",
        images_dir: str | os.PathLike | None = None,
    ) -> PolyvoreSplit:
        """Read ``<split>.json`` and, where present, the compatibility and FITB files."""
        split_dir = Path(split_dir)
        report = SkipReport(name=f"Polyvore {split_dir.name}/{split}")
        outfits = read_outfits(split_dir / f"{split}.json")
        compat_path = split_dir / f"compatibility_{split}.txt"
        fitb_path = split_dir / f"fill_in_blank_{split}.json"
        self = cls(
            name=split,
            outfits=outfits,
            compatibility=read_compatibility(compat_path) if compat_path.is_file() else [],
            fitb=read_fitb(fitb_path) if fitb_path.is_file() else [],
            images_dir=Path(images_dir) if images_dir is not None else None,
            report=report,
        )
        self.check()
        return self

    @classmethod
    def from_root(cls, root: str | os.PathLike, variant: str = "nondisjoint", split: str = "valid"):
        """Load ``<root>/<variant>/<split>*`` with images in ``<root>/images``."""
        if variant not in VARIANTS or split not in SPLITS:
            raise ValueError(f"variant in {VARIANTS} and split in {SPLITS}; got {variant}/{split}")
        root = Path(root)
        return cls.load(root / variant, split, root / "images")

    def check(self) -> SkipReport:
        """Count unresolved tokens, FITB questions without one correct answer, missing images."""
        for outfit in self.outfits:
            if len({item.index for item in outfit.items}) != len(outfit.items):
                self.report.add("duplicate_index", outfit.set_id)
        tokens = [t for q in self.compatibility for t in q.tokens]
        tokens += [t for q in self.fitb for t in (*q.question, *q.answers)]
        for token in tokens:
            try:
                self.resolve(token)
            except (KeyError, ValueError):
                self.report.add("unresolved_token", token)
        for question in self.fitb:
            try:
                fitb_correct_index(question)
            except ValueError:
                self.report.add("fitb_without_one_answer", question.question[:1])
        self._check_images()
        return self.report

    def _check_images(self) -> None:
        if self.images_dir is None:
            return
        if not self.images_dir.is_dir():
            self.report.add("images_dir_missing", self.images_dir)
            return
        present = {p.stem for p in self.images_dir.glob("*.jpg")}
        for item_id in sorted(self.item_ids - present):
            self.report.add("missing_image", item_id)
