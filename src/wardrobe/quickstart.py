"""The README's main command: train the default models that ``model_artifacts/`` lacks, then serve.

``python -m wardrobe.quickstart [--hardware cpu] [--force]`` runs ``train.py`` once per missing
bundle with ``experiment=quickstart/<model>`` (small, CPU-friendly settings that meet the design's
targets on the generated data), then ``evaluate.py``, then ``serve.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

from wardrobe.artifacts import list_bundles

QUICKSTART_DIR = Path("conf/experiment/quickstart")


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
    if importlib.util.find_spec("wardrobe.serving.app") is None:
        print(
            "serving is not built yet (the LitServe service is a later issue): "
            "stopping after training and evaluation. Bundles are in model_artifacts/, "
            "the report in reports/."
        )
        return 0
    _run(["serve.py"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
