"""The evaluation report: the design's table (metric, target, measured, pass/fail) + plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

# The quality targets of the original design, on held-out data: model -> metric key -> target.
TARGETS: dict[str, dict[str, tuple[str, float]]] = {
    "detector": {"map50": ("mAP@0.5", 0.70)},
    "classifier": {"top1": ("top-1 accuracy", 0.80)},
    "tagger": {"macro_f1": ("attributes macro F1", 0.70), "colour_acc": ("colour accuracy", 0.85)},
    "colour_rules": {"colour_acc": ("colour accuracy", 0.85)},
    "compatibility": {"accuracy": ("compatibility accuracy", 0.65)},
}


@dataclass(frozen=True)
class Row:
    """One measured metric of one evaluated model."""

    model: str
    metric: str
    measured: float
    target: float | None = None

    @property
    def verdict(self) -> str:
        """``pass``/``fail`` against the target, or ``reported`` when the design sets none."""
        if self.target is None:
            return "reported"
        return "pass" if self.measured > self.target else "fail"


def rows_for(
    model: str, metrics: dict[str, float], labels: dict[str, str] | None = None
) -> list[Row]:
    """Rows for a model's measured metrics: targeted ones first, then the reported ones."""
    targets = TARGETS.get(model, {})
    rows = [
        Row(model, name, metrics[key], target)
        for key, (name, target) in targets.items()
        if key in metrics
    ]
    rows += [
        Row(model, (labels or {}).get(key, key), value)
        for key, value in metrics.items()
        if key not in targets
    ]
    return rows


def write_report(
    report_dir: Path,
    rows: Sequence[Row],
    plots: dict[str, Sequence[Path]],
    notes: dict[str, str] | None = None,
) -> Path:
    """Write ``report.md`` (+ ``metrics.json``) to ``report_dir``; return the report's path."""
    report_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Evaluation report",
        "",
        "Held-out data; targets from the original design. One row per measured metric of each",
        "evaluated bundle (a model without a bundle has no row).",
        "",
        "| model | metric | target | measured | result |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        target = f"> {row.target:.2f}" if row.target is not None else "–"
        lines.append(
            f"| {row.model} | {row.metric} | {target} | {row.measured:.4f} | {row.verdict} |"
        )
    for model, note in (notes or {}).items():
        lines += ["", f"**{model}**: {note}"]
    for model, paths in plots.items():
        lines += ["", f"## {model}", ""]
        lines += [f"![{p.stem}]({p.relative_to(report_dir).as_posix()})" for p in paths]
    path = report_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    (report_dir / "metrics.json").write_text(
        json.dumps([asdict(r) | {"verdict": r.verdict} for r in rows], indent=2)
    )
    return path
