"""Real throwaway servers for the store tests: ``chroma run`` and PostgreSQL.

Both bind a free loopback port, live in a temporary folder, and are stopped afterwards. The
PostgreSQL server needs ``initdb``/``postgres`` (Debian: ``postgresql``) and the psycopg 3
driver; :func:`postgres_unavailable` says why it cannot run, for ``pytest.skip``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


# ---------------------------------------------------------------------------- Chroma
def chroma_executable() -> str:
    found = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(found).exists():
        raise FileNotFoundError("the `chroma` CLI (installed with chromadb) is not found")
    return found


class ChromaAddress(tuple):
    """``(host, port)`` of a running ``chroma run``, with its process as ``.proc``."""

    proc: subprocess.Popen


@contextlib.contextmanager
def chroma_server(
    path: Path, startup_timeout: float = 90.0, port: int | None = None
) -> Iterator[tuple[str, int]]:
    """``chroma run --path PATH`` on a free loopback port (or ``port``); yields ``(host, port)``
    (a :class:`ChromaAddress`: ``.proc`` is the server process, for fault tests)."""
    host, port = "127.0.0.1", port or free_port()
    log = open(Path(path).parent / f"chroma-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [chroma_executable(), "run", "--path", str(path), "--host", host, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ | {"ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {proc.returncode}; see {log.name}")
            try:
                url = f"http://{host}:{port}/api/v2/heartbeat"
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"chroma run gave no heartbeat in {startup_timeout} s")
            time.sleep(0.2)
        address = ChromaAddress((host, port))
        address.proc = proc
        yield address
    finally:
        _stop(proc)
        log.close()


# ---------------------------------------------------------------------------- PostgreSQL
def postgres_bindir() -> Path | None:
    """The folder with ``initdb`` and ``postgres``, or None."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "postgres").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).resolve().parent
    return None


def postgres_unavailable() -> str | None:
    """Why a throwaway PostgreSQL cannot run here (None when it can)."""
    if postgres_bindir() is None:
        return (
            "PostgreSQL server binaries (initdb, postgres) not found under "
            "/usr/lib/postgresql/*/bin or on PATH (Debian: apt-get install postgresql)"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "PostgreSQL driver missing: pip install 'psycopg[binary]>=3.2'"
    if os.geteuid() == 0 and _unprivileged_user() is None:
        return "running as root and no unprivileged user (postgres, nobody) to run the server"
    return None


def _unprivileged_user() -> pwd.struct_passwd | None:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


class PostgresURL(str):
    """The admin URL of a throwaway PostgreSQL; ``.restart(down_s)`` crashes and restarts it."""

    restart: Callable[[float], None]


def _wait_postgres(proc: subprocess.Popen, port: int, root: Path, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log = (root / "postgres.log").read_text(errors="replace")
            raise RuntimeError(f"postgres exited with {proc.returncode}:\n{log[-2000:]}")
        try:
            psycopg.connect(
                host="127.0.0.1",
                port=port,
                user="wardrobe",
                dbname="postgres",
                connect_timeout=2,
            ).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextlib.contextmanager
def postgres_server(startup_timeout: float = 60.0) -> Iterator[str]:
    """A throwaway PostgreSQL on a free loopback port (trust auth, fsync off: a test server).
    Yields an admin URL ``postgresql+psycopg://wardrobe@127.0.0.1:PORT/postgres``. The server
    refuses to run as root, so under root it runs as the ``postgres`` (or ``nobody``) user."""
    reason = postgres_unavailable()
    if reason:
        raise RuntimeError(reason)
    bindir = postgres_bindir()
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="wardrobe-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: dict = {}
    if os.geteuid() == 0:
        user = _unprivileged_user()
        assert user is not None
        for p in (root, sock):
            os.chown(p, user.pw_uid, user.pw_gid)
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"}
    port = free_port()
    proc = None
    try:
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "wardrobe",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            env=env,
            cwd=root,
            **as_user,
        )

        def launch() -> subprocess.Popen:
            started = subprocess.Popen(
                [
                    str(bindir / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(sock),
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdout=subprocess.DEVNULL,
                stderr=open(root / "postgres.log", "ab"),  # noqa: SIM115
                env=env,
                cwd=root,
                **as_user,
            )
            _wait_postgres(started, port, root, startup_timeout)
            return started

        proc = launch()
        url = PostgresURL(f"postgresql+psycopg://wardrobe@127.0.0.1:{port}/postgres")

        def restart(down_s: float = 0.0) -> None:
            """Stop the server at once (SIGKILL: a crash), wait ``down_s``, start it again on
            the same port and data."""
            nonlocal proc
            proc.kill()
            proc.wait(timeout=30)
            time.sleep(down_s)
            for attempt in range(20):  # its old backends may still hold the shared memory
                try:
                    proc = launch()
                    return
                except RuntimeError:
                    if attempt == 19:
                        raise
                    time.sleep(0.5)

        url.restart = restart
        yield url
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url``; return its URL."""
    import psycopg

    base, _, _ = admin_url.rpartition("/")
    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"
