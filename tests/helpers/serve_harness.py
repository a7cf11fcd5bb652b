"""The real ``serve.py`` for the end-to-end tests: stores and logs under a test folder, the
tiny bundles, a free loopback port (the process handling is :mod:`wardrobe.serving.launch`)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from wardrobe.serving import launch

REPO_ROOT = launch.REPO_ROOT
MAX_UPLOAD = 3_000_000  # bytes: a "huge upload" is cheap to send in a test
KEYS = {"e2e-key-of-alice": "alice", "e2e-key-of-bob": "bob"}
ALICE = {"X-API-Key": "e2e-key-of-alice"}
BOB = {"X-API-Key": "e2e-key-of-bob"}


def keys_override(keys: dict[str, str] = KEYS) -> str:
    return "auth.api_keys={" + ", ".join(f"{k}: {v}" for k, v in keys.items()) + "}"


class ServeProcess(launch.ServeProcess):
    """``serve.py`` rooted in ``root`` (``paths.root_dir``: stores, logs) serving ``artifacts``."""

    def __init__(
        self,
        root: Path,
        artifacts: Path,
        overrides: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.root = Path(root)
        super().__init__(
            [
                "host=127.0.0.1",
                "log_level=warning",
                f"paths.root_dir={self.root}",
                f"artifacts_dir={artifacts}",
                *overrides,
            ],
            env={"OMP_NUM_THREADS": "1", **(env or {})},
        )

    def start(self) -> ServeProcess:
        self.log_path = self.root / f"serve-{self.port}-{time.time_ns()}.log"
        return super().start()

    def wait_ready(self, timeout: float = 300.0) -> list[int | None]:
        return super().wait_ready(timeout)

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 120), **kwargs)


@contextlib.contextmanager
def serving(
    root: Path,
    artifacts: Path,
    overrides: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Iterator[ServeProcess]:
    """A started and healthy server, stopped (for sure) on exit."""
    server = ServeProcess(root, artifacts, overrides, env)
    try:
        server.start()
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _benchmark_photos():
    """``benchmarks/photos.py`` (not a package), loaded once by path."""
    import importlib.util
    import sys

    name = "wardrobe_benchmark_photos"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / "photos.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def noise_photo(seed: int, size: tuple[int, int] = (256, 320)) -> bytes:
    """A distinct valid JPEG per seed (smooth colour noise), for bursts of writes: the one
    definition is the benchmarks' (``benchmarks/photos.py``), so tests and soak send the same."""
    return _benchmark_photos().noise_photo(seed, size)
