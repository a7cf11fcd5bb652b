"""``SkipReport``: what a reader skipped or repaired, and why.

Readers never stop for one bad file or row. They count each problem under a short reason
(``"missing_annotation"``, ``"corrupt_image"``, ...) and keep the first few examples, so a run
over 190,000 files ends with one readable paragraph instead of a stack trace.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MAX_EXAMPLES = 3


@dataclass
class SkipReport:
    """Counts of skipped (or repaired) records per reason, with the first few examples."""

    name: str = "data"
    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    max_examples: int = MAX_EXAMPLES

    def add(self, reason: str, example: object = "", n: int = 1) -> None:
        """Record ``n`` occurrences of ``reason``; keep ``example`` if few are kept yet."""
        if n <= 0:
            return
        self.counts[reason] += n
        kept = self.examples.setdefault(reason, [])
        if example != "" and len(kept) < self.max_examples:
            kept.append(str(example))

    def merge(self, other: SkipReport) -> SkipReport:
        """Add ``other``'s counts and examples into this report; return ``self``."""
        self.counts.update(other.counts)
        for reason, examples in other.examples.items():
            kept = self.examples.setdefault(reason, [])
            kept.extend(examples[: max(0, self.max_examples - len(kept))])
        return self

    @property
    def total(self) -> int:
        """Number of problems recorded, all reasons together."""
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return self.total > 0

    def __getitem__(self, reason: str) -> int:
        return self.counts.get(reason, 0)

    def __str__(self) -> str:
        if not self.counts:
            return f"{self.name}: nothing skipped."
        parts = []
        for reason, count in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0])):
            examples = self.examples.get(reason) or []
            shown = f" (e.g. {'; '.join(examples)})" if examples else ""
            parts.append(f"{count} × {reason}{shown}")
        return f"{self.name}: {self.total} problem(s): " + ", ".join(parts) + "."
