"""The stylist rule on *predicted* attributes: what the compatibility features let a model reach.

    python benchmarks/stylist_rule_on_predictions.py [--data data/synthwardrobe/polyvore]

SynthWardrobe's outfits follow a hidden rule (``wardrobe.data.synthetic.outfits``: slots, colour
families, formality spread, a shared season). This scores that same rule on what the ingestion
models predicted for each catalogue item (the records the compatibility quickstart cached under
``<data>/features/records-*.npz``, the newest file) for every compatibility question of each
split: accuracy (compatible = no part broken), AUC of minus the number of broken parts, and how
often each part is broken, per label. Parts broken on positive outfits are the predictions'
errors: what no model reading these features can recover.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from sklearn.metrics import roc_auc_score

from wardrobe.data.synthetic.outfits import rule_violations
from wardrobe.taxonomy import CATEGORY_BY_NAME


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


def score_split(root: Path, split: str, records: dict[str, dict]) -> str:
    outfits = json.loads((root / f"nondisjoint/{split}.json").read_text())
    items = {o["set_id"]: {i["index"]: i["item_id"] for i in o["items"]} for o in outfits}
    labels, scores, broken = [], [], Counter()
    for line in (root / f"nondisjoint/compatibility_{split}.txt").read_text().splitlines():
        label, *tokens = line.split()
        specs = []
        for token in tokens:
            set_id, index = token.rsplit("_", 1)
            specs.append(as_spec(records[items[set_id][int(index)]]))
        parts = rule_violations(specs)
        broken.update((part, int(label)) for part in parts)
        labels.append(int(label))
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


if __name__ == "__main__":
    main()
