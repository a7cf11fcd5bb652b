"""Colour extraction: accuracy and time per garment, before (the code of another checkout,
e.g. main) and after (this checkout: the naming models), in one run on the same images.

    python benchmarks/colour.py [--synth /tmp/heldout] [--real ../shared/real-data/...]
                                [--baseline-src /path/to/main/src] [--repeats 2]

Rows: ``before`` (``--baseline-src``'s ``extract_colours``, e.g. main's), then this checkout's
namings — ``anchor`` (the CIEDE2000-nearest of the 14 anchors, the oldest rule), ``regions``
(the fitted CIELCh regions) and ``prototypes`` (palette cores + the vote of public named
colours), with shade merging, exposure correction and the default illuminant estimate — then
``prototypes`` under each illuminant estimate (``/none``: no white balance; the default is
marked ``*``). Columns:

* ``synth`` — primary-colour accuracy on held-out SynthWardrobe crops (seed 1: every crop of
  ``<synth>/attributes/{train,val}.jsonl``; ``python -m wardrobe.data.synthetic --out
  /tmp/heldout --seed 1 --scenes 10 --outfits 10 --crops-per-class 20`` writes the 940 crops),
  foreground estimated as served;
* ``crowd`` — the held-out crowd colour names (never fitted) painted on garment photos, shop
  and scene (:func:`wardrobe.evaluation.colour.evaluate_colour_names`; ``before``: its
  ``prototypes`` naming, with the baseline's default illuminant);
* ``real`` — the hand-labelled real photos (``tests/fixtures/real_colour_labels.csv``);
* ``ms/crop``, ``ms/photo`` — ``extract_colours`` time per SynthWardrobe crop (128 px) and per
  real photo (shorter side 240 px): the best of ``--repeats`` passes, rows timed alternately
  pass by pass so that load from other processes hits every row alike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests/fixtures/real_colour_labels.csv"


def image_sets(synth: Path, real: Path) -> dict[str, list[tuple[str, str]]]:
    """``{"synth": [(path, label)], "real": [...]}`` — what both checkouts are timed on."""
    from wardrobe.evaluation.colour import _rows, read_real_labels

    rows = _rows(synth / "attributes", ("train", "val"))
    return {
        "synth": [(str(path), row.colour_primary) for row, path in rows],
        "real": [(str(real / p), c) for p, c in read_real_labels(LABELS)],
    }


def variants() -> dict[str, dict[str, str]]:
    """This checkout's rows: name -> ``extract_colours`` keyword arguments."""
    from wardrobe.ingestion.colour import DEFAULT_ILLUMINANT, ILLUMINANT_METHODS, NAMINGS

    rows: dict[str, dict[str, str]] = {n: {"naming": n} for n in NAMINGS[::-1]}
    for method in ILLUMINANT_METHODS:
        mark = "*" if method == DEFAULT_ILLUMINANT else ""
        rows[f"prototypes/{method}{mark}"] = {"naming": "prototypes", "illuminant": method}
    return rows


def time_pass(images, kwargs: dict[str, str]) -> tuple[float, float]:
    """(accuracy, ms per image) of one pass; ``kwargs={}``: the checkout's default call."""
    from wardrobe.ingestion.colour import extract_colours, primary_secondary

    start = time.perf_counter()
    right = [primary_secondary(extract_colours(rgb, **kwargs))[0] == c for rgb, c in images]
    return float(np.mean(right)), 1000 * (time.perf_counter() - start) / len(images)


def _decoded(sets):
    from wardrobe.ingestion.decode import decode_image

    return {k: [(decode_image(p).rgb, c) for p, c in v] for k, v in sets.items()}


def child(spec: str, crowd: bool) -> None:
    """In the baseline process: one timing pass per set (and the crowd-names accuracy of its
    default naming), as JSON on stdout."""
    sets = _decoded(json.loads(Path(spec).read_text()))
    out: dict = {k: time_pass(v, {}) for k, v in sets.items()}
    if crowd:
        out["crowd"] = crowd_accuracy({"naming": "prototypes"})
    print(json.dumps(out))


def crowd_accuracy(kwargs: dict[str, str]) -> float:
    """Primary-colour accuracy on the held-out crowd colour names under ``kwargs``."""
    from wardrobe.evaluation.colour import evaluate_colour_names

    return evaluate_colour_names(**kwargs)[0].accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synth", type=Path, default=Path("/tmp/heldout"))
    parser.add_argument(
        "--real", type=Path, default=ROOT.parent / "shared/real-data/clothing-dataset-small"
    )
    parser.add_argument(
        "--baseline-src", type=Path, default=None, help="src/ of the checkout to compare with"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-crowd", action="store_true", help="skip the crowd-names column")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, not args.no_crowd)
    sets = image_sets(args.synth, args.real)
    spec = Path(os.environ.get("TMPDIR", "/tmp")) / f"colour_bench_{os.getpid()}.json"
    spec.write_text(json.dumps(sets))
    images = _decoded(sets)
    print(f"synth: {len(sets['synth'])} held-out crops in {args.synth}; real: {len(sets['real'])}")
    baseline = args.baseline_src is not None and (args.baseline_src / "wardrobe").is_dir()
    if not baseline:
        print(f"no baseline checkout at {args.baseline_src}: 'anchor' is the before row")
    mine = variants()
    rows = ["before"] * baseline + [*mine]
    best: dict[str, dict[str, tuple[float, float]]] = {r: {} for r in rows}
    env = {**os.environ, "PYTHONPATH": f"{args.baseline_src}{os.pathsep}{ROOT}"}
    crowd = {}
    for _ in range(args.repeats):
        results = {}
        if baseline:
            command = [sys.executable, __file__, "--child", str(spec)]
            command += ["--no-crowd"] * (args.no_crowd or "before" in crowd)
            out = subprocess.run(
                command, env=env, capture_output=True, text=True, check=True, cwd=ROOT
            )
            before = json.loads(out.stdout)
            if "crowd" in before:
                crowd["before"] = f"{before.pop('crowd'):.1%}"
            results["before"] = {k: tuple(v) for k, v in before.items()}
        for row, kwargs in mine.items():
            results[row] = {k: time_pass(v, kwargs) for k, v in images.items()}
        for row, by_set in results.items():
            for name, (acc, ms) in by_set.items():
                if name not in best[row] or ms < best[row][name][1]:
                    best[row][name] = (acc, ms)
    spec.unlink()
    header = f"{'row':<26} {'synth':>7} {'crowd':>7} {'real':>7} {'ms/crop':>8} {'ms/photo':>9}"
    print(f"before = {args.baseline_src}\n{header}\n" + "-" * len(header))
    for row in rows:
        if row in mine and not args.no_crowd:
            crowd[row] = f"{crowd_accuracy(mine[row]):.1%}"
        (s_acc, s_ms), (r_acc, r_ms) = best[row]["synth"], best[row]["real"]
        print(
            f"{row:<26} {s_acc:>7.1%} {crowd.get(row, '-'):>7} {r_acc:>7.1%} {s_ms:>8.1f} "
            f"{r_ms:>9.1f}"
        )


if __name__ == "__main__":
    main()
