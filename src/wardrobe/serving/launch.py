"""Run ``python serve.py`` as a child process: start, wait for ``/health``, stop for sure.

Used by ``make run`` (the quickstart), ``benchmarks/serve.py`` and the end-to-end tests. The
server gets its own process group (LitServe forks HTTP processes and spawns workers), so
:meth:`ServeProcess.stop` reaches every process it started and :meth:`ServeProcess.kill9`
crashes the whole service at once, as ``kill -9`` would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeProcess:
    """One ``serve.py`` run with Hydra ``overrides``; its output goes to ``log_path`` (or to
    this process's stdout when None)."""

    def __init__(
        self,
        overrides: Sequence[str] = (),
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        cwd: Path = REPO_ROOT,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.overrides = list(overrides)
        self.env = dict(env or {})
        self.log_path = log_path
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        return [sys.executable, "serve.py", f"port={self.port}", *self.overrides]

    def start(self) -> ServeProcess:
        out = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            out = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        try:
            self.proc = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                env=os.environ | {"YOLO_OFFLINE": "1"} | self.env,
                start_new_session=True,
            )
        finally:
            if out is not None:
                out.close()
        return self

    def health(self) -> int | None:
        """The status of ``GET /health`` now (None: no answer)."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code
        except (urllib.error.URLError, OSError):
            return None

    def wait_ready(self, timeout: float = 600.0) -> list[int | None]:
        """Poll ``/health`` until 200; the statuses seen on the way (None: no answer yet).
        Raises when the process exits first or the time is up."""
        seen: list[int | None] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"serve.py exited with {self.proc.returncode} before it was healthy"
                    + (f":\n{self.log_tail()}" if self.log_path else "")
                )
            status = self.health()
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == 200:
                return seen
            time.sleep(0.25)
        raise TimeoutError(
            f"{self.url}/health did not answer 200 within {timeout:.0f} s"
            + (f":\n{self.log_tail()}" if self.log_path else "")
        )

    def log_tail(self, chars: int = 6000) -> str:
        if self.log_path is None:
            return ""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def _signal_group(self, sig: int) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    def kill9(self) -> None:
        """SIGKILL to every process of the service at once: a crash, no cleanup."""
        self._signal_group(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM to ``serve.py`` (a graceful shutdown), then SIGKILL to what is left of its
        process group. Returns serve.py's exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                code = None
        self._signal_group(signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(timeout=30)
        return code

    def __enter__(self) -> ServeProcess:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
