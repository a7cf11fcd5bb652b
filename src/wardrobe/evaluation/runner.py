"""``evaluate.py``: every bundle present, on held-out data, into ``reports/<timestamp>/``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from wardrobe.artifacts import Bundle, list_bundles, load_bundle
from wardrobe.evaluation.colour import evaluate_colour_rules_report
from wardrobe.evaluation.detection import evaluate_detector_report
from wardrobe.evaluation.images import evaluate_classifier, evaluate_tagger
from wardrobe.evaluation.outfits import evaluate_compatibility
from wardrobe.evaluation.report import Row, rows_for, write_report
from wardrobe.evaluation.retrieval import evaluate_clip
from wardrobe.evaluation.shared_trunk import TrunkOutputs

log = logging.getLogger(__name__)

# bundle name -> (evaluator, the held-out sub-folder it reads)
Evaluator = Callable[[Bundle, Path, Path], tuple[dict[str, float], list[Path]]]
EVALUATORS: dict[str, tuple[Evaluator, str]] = {
    "classifier": (evaluate_classifier, "classification"),
    "tagger": (evaluate_tagger, "attributes"),
    "compatibility": (evaluate_compatibility, "polyvore"),
    "detector": (evaluate_detector_report, "deepfashion2"),
    "clip": (evaluate_clip, "attributes"),
}
# the crop bundles whose trunk outputs one run shares (evaluation.shared_trunk)
SHARE_TRUNK = ("classifier", "tagger", "clip")
# weight-free methods, evaluated like a bundle but always present
RULES: dict[str, tuple[Evaluator, str]] = {
    "colour_rules": (evaluate_colour_rules_report, "attributes"),
}


def ensure_heldout(cfg: DictConfig) -> Path:
    """The held-out SynthWardrobe root (another seed), generated on first use and again when an
    older generator made it (1.0's Polyvore items carry no labels: the rule studies need them).
    A root made with other settings than ``heldout.generator`` is used as it is (a warning)."""
    from wardrobe.data.synthetic.generate import VERSION, GenerateConfig, generate

    root = Path(cfg.heldout.data_dir)
    settings = OmegaConf.to_container(cfg.heldout.generator, resolve=True)
    manifest = root / "manifest.json"
    if manifest.is_file():
        made = json.loads(manifest.read_text())
        if made.get("version") == VERSION:
            if made.get("config") != json.loads(json.dumps(GenerateConfig(**settings).content())):
                log.warning("%s was generated with other settings than heldout.generator", root)
            return root
        log.info("%s is from SynthWardrobe %s: generating it again", root, made.get("version"))
    log.info("generating the held-out set (seed %s) in %s", settings["seed"], root)
    generate(**settings)
    return root


def evaluate_bundles(cfg: DictConfig) -> dict[str, dict[str, float]]:
    """Evaluate the selected bundles (and rules) and write the report; metrics per model."""
    bundles = list_bundles(cfg.paths.artifacts_dir)
    wanted = list(cfg.models) if cfg.get("models") else [*bundles, *RULES]
    missing = [m for m in wanted if m not in bundles and m not in RULES]
    if missing:
        raise FileNotFoundError(f"no bundle for {missing} in {cfg.paths.artifacts_dir}")
    report_dir = Path(cfg.report_dir)
    heldout = ensure_heldout(cfg)
    results, rows, figures = {}, [], {}
    trunk = TrunkOutputs()
    for name in wanted:
        if name not in EVALUATORS and name not in RULES:
            log.warning("no evaluator for bundle %r yet: left out of the report", name)
            continue
        evaluator, subdir = RULES.get(name) or EVALUATORS[name]
        bundle = load_bundle(bundles[name]) if name in bundles else None
        shared = {"trunk": trunk} if name in SHARE_TRUNK else {}
        metrics, figures[name] = evaluator(bundle, heldout / subdir, report_dir, **shared)
        results[name] = metrics
        rows += rows_for(name, metrics)
        log.info("%s: %s", name, {k: round(v, 4) for k, v in metrics.items()})
    trunk.log_summary()
    notes = _real_photo_rows(cfg, bundles, report_dir, results, rows, figures)
    path = write_report(report_dir, rows, figures, notes)
    _print_table(rows, path)
    return results


def _real_photo_rows(cfg, bundles, report_dir, results, rows, figures) -> dict[str, str]:
    """The whole pipeline on the real photos' validation split (wardrobe.evaluation.real_photos)."""
    from wardrobe.evaluation.real_photos import REAL_TARGETS, real_photo_section

    section = real_photo_section(cfg, bundles, report_dir)
    if section is None:
        return {}
    metrics, figures["real_photos"], table = section
    results["real_photos"] = metrics
    overall = {k: v for k, v in metrics.items() if "/" not in k}
    rows += [Row("real_photos", k, v, REAL_TARGETS.get(k)) for k, v in overall.items()]
    log.info("real_photos: %s", {k: round(v, 4) for k, v in overall.items()})
    return {"real_photos": "main garment through the ingestion pipeline, per label:\n\n" + table}


def _print_table(rows: list[Row], path: Path) -> None:
    width = max((len(r.metric) for r in rows), default=10)
    print(f"\n{'model':<14} {'metric':<{width}} {'target':>7} {'measured':>9}  result")
    for r in rows:
        target = f"{r.target:.2f}" if r.target is not None else "-"
        print(f"{r.model:<14} {r.metric:<{width}} {target:>7} {r.measured:>9.4f}  {r.verdict}")
    print(f"\nreport: {path}")
