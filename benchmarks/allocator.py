"""glibc malloc settings vs the defaults: the CPU step times of the quickstart's networks.

    python benchmarks/allocator.py [--rounds 3] [--steps 5]

PyTorch's CPU tuning guide replaces glibc's allocator (jemalloc, tcmalloc) because the default
one hands big tensors back to the kernel after each use (``mmap``/``munmap`` above
``M_MMAP_THRESHOLD``, heap trimming), so the next batch pays its page faults again; on a VM with
slow first-touch faults that dominates. The same fix needs no extra library: glibc's own
tunables (:data:`wardrobe.allocator.MALLOC_ENV`, which ``make run`` gives its steps and its
server). Each workload runs in fresh processes (glibc reads them at start), the two settings
alternating ``--rounds`` times:

* ``lite0 infer b32``: the offline Lite0 (the classifier's, tagger's and CLIP's trunk), forward
  of a batch of 32 at 224 px (ingestion, feature caching);
* ``lite0 train b16``: forward + backward + AdamW step of the whole net, batch 16 at 224 px
  (the fine-tuned tails, CLIP);
* ``yolov8n train b8``: the detector's net (random init), forward + backward of its raw outputs'
  sum + AdamW step, batch 8 at 192 px (the quickstart detector's shapes; not its loss).

Printed: the median seconds per step of each setting over its rounds (the first step of each
process is warm-up, not counted) and the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from wardrobe.allocator import MALLOC_ENV

WORKLOADS = ("lite0 infer b32", "lite0 train b16", "yolov8n train b8")


def _run_workload(name: str, steps: int) -> list[float]:
    """Seconds of each step of ``name`` in this process."""
    import torch

    torch.manual_seed(0)
    train = "train" in name
    if name.startswith("yolov8n"):
        from ultralytics import YOLO

        model = YOLO("yolov8n.yaml").model
        batch = torch.randn(8, 3, 192, 192)
    else:
        from wardrobe.models.components.backbones import build_imagenet_model

        model = build_imagenet_model()
        batch = torch.randn(16 if train else 32, 3, 224, 224)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4) if train else None
    model.train(train)
    times = []
    for _ in range(steps + 1):
        t = time.perf_counter()
        if train:
            optimiser.zero_grad()
            _scalar(model(batch)).backward()
            optimiser.step()
        else:
            with torch.inference_mode():
                model(batch)
        times.append(time.perf_counter() - t)
    return times[1:]


def _scalar(out):
    """A scalar of a net's outputs (a tensor or YOLO's nested maps) to backpropagate."""
    if isinstance(out, dict):
        return sum(_scalar(o) for o in out.values())
    if isinstance(out, (list, tuple)):
        return sum(_scalar(o) for o in out)
    return out.float().square().mean()


def _in_child(name: str, steps: int, tuned: bool) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k not in MALLOC_ENV}
    if tuned:
        env |= MALLOC_ENV
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, "--steps", str(steps)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(_run_workload(a.child, a.steps)))
        return
    print("| workload | glibc defaults s/step | MALLOC_ENV s/step | speed-up |")
    print("|---|---|---|---|")
    for name in WORKLOADS:
        seen: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(a.rounds):
            for tuned in (False, True):
                seen[tuned] += _in_child(name, a.steps, tuned)
        base, tuned = statistics.median(seen[False]), statistics.median(seen[True])
        print(f"| {name} | {base:.3f} | {tuned:.3f} | {base / tuned:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
