"""The README's main command: train the default models that ``model_artifacts/`` lacks, then serve.

``python -m wardrobe.quickstart [--hardware cpu] [--force]`` runs ``train.py`` once per missing
bundle with ``experiment=quickstart/<model>`` (small, CPU-friendly settings that meet the design's
targets on the generated data), then ``evaluate.py``, then starts ``serve.py``, waits for
``/health`` and prints two ``curl`` calls that work against it and the web app's address; the
server runs until Ctrl+C.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from wardrobe.artifacts import list_bundles
from wardrobe.serving.launch import ServeProcess

QUICKSTART_DIR = Path("conf/experiment/quickstart")
# a photo for the example call: a held-out scene that evaluate.py generated, else one that ships
# with ultralytics (people in clothes)
EXAMPLE_PHOTOS = ("data/synthwardrobe_heldout/deepfashion2/validation/image/000001.jpg",)


def default_models(conf_dir: Path = QUICKSTART_DIR) -> list[str]:
    """The models with a quickstart experiment, in training order (see each file's ``order``)."""
    files = sorted(conf_dir.glob("*.yaml"))
    order = {p.stem: _order_of(p) for p in files}
    return sorted(order, key=lambda name: (order[name], name))


def _order_of(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith("# order:"):
            return int(line.split(":", 1)[1])
    return 100


def _run(args: list[str]) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run([sys.executable, *args], check=True)


def main(argv: list[str] | None = None) -> int:
    """Train what is missing, evaluate, then serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hardware", default="cpu", help="hardware profile (conf/hardware)")
    parser.add_argument("--force", action="store_true", help="retrain even if a bundle exists")
    parser.add_argument("--no-serve", action="store_true", help="stop after the evaluation")
    parser.add_argument("--port", type=int, default=8000, help="port of the service")
    args = parser.parse_args(argv)

    present = list_bundles("model_artifacts")
    missing = [m for m in default_models() if args.force or m not in present]
    print(f"bundles present: {sorted(present) or 'none'}; to train: {missing or 'none'}")
    for name in missing:
        start = time.perf_counter()
        _run(["train.py", f"experiment=quickstart/{name}", f"hardware={args.hardware}"])
        print(f"trained {name} in {time.perf_counter() - start:.0f} s", flush=True)
    if missing:
        _run(["evaluate.py"])
    if args.no_serve:
        return 0
    return serve_and_show(port=args.port)


def example_photo() -> Path:
    """An existing photo for the example ``curl`` call."""
    for candidate in EXAMPLE_PHOTOS:
        if Path(candidate).is_file():
            return Path(candidate)
    import ultralytics

    return Path(ultralytics.__file__).parent / "assets" / "zidane.jpg"


def example_calls(url: str, photo: Path, user: str = "demo") -> list[str]:
    """Two ``curl`` calls: ingest a photo, then search the wardrobe it started."""
    search = json.dumps({"user_id": user, "text": "a blue shirt", "n": 3})
    return [
        f"curl -s -F image=@{shlex.quote(str(photo))} -F user_id={user} {url}/v1/garments",
        f"curl -s -X POST {url}/v1/search -H 'Content-Type: application/json' "
        f"-d {shlex.quote(search)}",
    ]


def serve_and_show(
    port: int = 8000, overrides: list[str] | None = None, block: bool = True
) -> int | ServeProcess:
    """Start ``serve.py``, wait until healthy, print two working ``curl`` calls and the web
    app's address, then serve
    until Ctrl+C (``block=False``: return the running server instead)."""
    server = ServeProcess([*(overrides or [])], port=port, cwd=Path.cwd())
    print("+", " ".join(server.command[1:]), flush=True)
    server.start()
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    url = server.url
    calls = example_calls(url, example_photo())
    print(
        f"\nThe service is up at {url} (API docs: {url}/docs). Try:\n\n"
        + "\n".join(calls)
        + f"\n\nThe wardrobe web app: open {url}/ in a browser.\nCtrl+C stops it.",
        flush=True,
    )
    if not block:
        return server
    try:
        return server.proc.wait()
    except KeyboardInterrupt:
        return server.stop() or 0


if __name__ == "__main__":
    sys.exit(main())
