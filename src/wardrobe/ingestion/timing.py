"""Seconds spent per pipeline stage, for benchmarks and the service's logs."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class StageTimer:
    """``with timer("detect"): ...`` adds the block's wall time to ``seconds["detect"]``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start

    def reset(self) -> None:
        self.seconds.clear()
