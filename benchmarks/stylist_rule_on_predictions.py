"""The stylist rule on *predicted* attributes: what the compatibility features let a model reach.

    python benchmarks/stylist_rule_on_predictions.py [--data data/synthwardrobe/polyvore]

SynthWardrobe's outfits follow a hidden rule (``wardrobe.data.synthetic.outfits``: slots, colour
families, formality spread, a shared season). This scores that same rule on what the ingestion
models predicted for each catalogue item (the records the compatibility quickstart cached under
``<data>/features/records-*.npz``, the newest file) for every compatibility question of each
split: accuracy (compatible = no part broken), AUC of minus the number of broken parts, and how
often each part is broken, per label. Parts broken on positive outfits are the predictions'
errors. A second table substitutes the generator's true labels (``catalogue_attributes.jsonl``)
for one prediction at a time: what each perception error costs the rule, and so what a better
classifier, tagger or colour extractor would buy the compatibility model.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sklearn.metrics import roc_auc_score

from wardrobe.data.formats.polyvore import (
    outfits_by_set_id,
    read_compatibility,
    read_outfits,
    resolve_token,
)
from wardrobe.data.synthetic.outfits import rule_violations
from wardrobe.evaluation.outfits import heldout_specs
from wardrobe.taxonomy import CATEGORY_BY_NAME

# rule part -> the spec fields it reads (what "true <part>" substitutes; a GarmentSpec's slot
# follows its category)
PART_FIELDS = {
    "slots": ("category", "slot"),
    "colour": ("colour_primary",),
    "formality": ("formality",),
    "season": ("seasons",),
}


def predicted_records(root: Path) -> dict[str, dict]:
    """Item id -> the newest cached describe record."""
    caches = sorted((root / "features").glob("records-*.npz"), key=lambda p: p.stat().st_mtime)
    if not caches:
        raise SystemExit(f"no records-*.npz under {root / 'features'}: train the quickstart first")
    z = np.load(caches[-1], allow_pickle=False)
    return dict(zip((str(i) for i in z["ids"]), json.loads(str(z["records"])), strict=True))


def as_spec(record: dict) -> SimpleNamespace:
    """The rule's inputs from a predicted record."""
    attributes = record["attributes"]
    colours = attributes.get("colours") or [{"colour": None}]
    return SimpleNamespace(
        category=record["category"],
        slot=CATEGORY_BY_NAME[record["category"]].slot,
        colour_primary=colours[0]["colour"],
        formality=attributes.get("formality") if attributes.get("formality") is not None else 0.5,
        seasons=attributes.get("seasons") or [],
    )


def questions(root: Path, split: str) -> list[tuple[int, list[str]]]:
    """``(label, item ids)`` of every compatibility question of ``split``."""
    by_set = outfits_by_set_id(read_outfits(root / f"nondisjoint/{split}.json"))
    return [
        (q.label, [resolve_token(t, by_set) for t in q.tokens])
        for q in read_compatibility(root / f"nondisjoint/compatibility_{split}.txt")
    ]


def with_truth(predicted: SimpleNamespace, true, parts: tuple[str, ...]) -> SimpleNamespace:
    """``predicted`` with the true value of every field ``parts`` read."""
    fields = {f: getattr(true, f) for part in parts for f in PART_FIELDS[part]}
    return SimpleNamespace(**{**vars(predicted), **fields})


def rule_scores(qs, specs_of) -> tuple[np.ndarray, np.ndarray]:
    """Labels and minus the number of broken parts, per question."""
    y = np.array([label for label, _ in qs])
    return y, np.array([-len(rule_violations([specs_of(i) for i in ids])) for _, ids in qs])


def score_split(root: Path, split: str, records: dict[str, dict]) -> str:
    labels, scores, broken = [], [], Counter()
    for label, ids in questions(root, split):
        parts = rule_violations([as_spec(records[i]) for i in ids])
        broken.update((part, label) for part in parts)
        labels.append(label)
        scores.append(-len(parts))
    y, s = np.array(labels), np.array(scores)
    per_part = ", ".join(
        f"{part} {broken[(part, 1)]}/{broken[(part, 0)]}"
        for part in ("slots", "colour", "formality", "season")
    )
    return (
        f"| {split} | {len(y)} ({y.sum()} positive) | {((s == 0) == (y == 1)).mean():.3f} | "
        f"{roc_auc_score(y, s):.3f} | {per_part} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/synthwardrobe/polyvore"))
    args = parser.parse_args()
    records = predicted_records(args.data)
    print(f"{len(records)} predicted item records from {args.data / 'features'}")
    print("| split | questions | accuracy | AUC | broken on positives/negatives |")
    print("|---|---|---|---|---|")
    for split in ("valid", "test"):
        print(score_split(args.data, split, records))
    truth = heldout_specs(args.data)
    if not truth:
        return  # not SynthWardrobe (no true labels beside the items)
    print("\n| predictions, valid split | accuracy | AUC |\n|---|---|---|")
    qs = questions(args.data, "valid")
    for parts in ((), *((p,) for p in PART_FIELDS), ("colour", "formality"), tuple(PART_FIELDS)):
        y, s = rule_scores(qs, lambda i, p=parts: with_truth(as_spec(records[i]), truth[i], p))
        name = "all predicted" if not parts else "true " + " + ".join(parts)
        print(f"| {name} | {((s == 0) == (y == 1)).mean():.3f} | {roc_auc_score(y, s):.3f} |")


if __name__ == "__main__":
    main()
