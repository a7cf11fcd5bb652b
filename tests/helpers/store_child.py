"""Child process of the store crash tests: writes garments and is killed with SIGKILL.

    python store_child.py ROOT --count N [--crash-at staged|vectors_written --crash-on K]
        [--category polo] [--forever]

Prints ``ACK <garment id> <write token>`` after each write the repository acknowledged.
``--crash-at`` sends SIGKILL to itself at that stage of the K-th write (0-based).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers.store_data import DIM, embedding, make_garment
from wardrobe.store import GarmentRepository, RecordStore, VectorStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--crash-at", default=None)
    parser.add_argument("--crash-on", type=int, default=0)
    parser.add_argument("--category", default="t_shirt")
    parser.add_argument("--forever", action="store_true")
    args = parser.parse_args()

    root = Path(args.root)
    current = {"i": -1}

    def hook(stage: str) -> None:
        if stage == args.crash_at and current["i"] == args.crash_on:
            os.kill(os.getpid(), signal.SIGKILL)

    repo = GarmentRepository(
        RecordStore(f"sqlite:///{root / 'wardrobe.db'}"),
        VectorStore.embedded(str(root / "chroma"), dim=DIM),
        fault_hook=hook,
    )
    print("READY", flush=True)
    i = 0
    while args.forever or i < args.count:
        current["i"] = i
        gid = f"g{i % args.count}"
        stored = repo.put_one("alice", make_garment(gid, category=args.category), embedding(i))
        print(f"ACK {gid} {stored.write_token}", flush=True)
        i += 1
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
