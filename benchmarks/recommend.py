"""Recommendation latency (top 10) and search cost by wardrobe size, vs the exhaustive baseline.

    python benchmarks/recommend.py [--sizes 100 1000 10000] [--requests 40] [--exhaustive 30 60]

For each size, a synthetic wardrobe (SynthWardrobe garment specs, random unit 256-d vectors in
place of CLIP embeddings: the latency does not depend on their values) is written to a real
SQLite + embedded Chroma store, and ``Recommender.recommend`` is timed over a mix of requests
(no constraints, an occasion, weather, free text, an included garment) with the learned scorer
on: the compatibility bundle in ``model_artifacts/compatibility`` when it matches the CLIP
bundle, else an untrained net of the same shape. Reported: p50/p95 of warm requests (the
wardrobe index cached, as in a serving worker), the first (cold) request, outfits scored
(partial and complete outfits the beam search evaluated + learned-net evaluations) and the
candidate space (outfits the templates allow). The baseline in the same run: the exhaustive
search (every outfit scored with the same blend, learned net included) on small wardrobes,
with whether it picks the same top-1 outfit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from wardrobe.artifacts import BundleError, load_bundle, read_meta
from wardrobe.models.components.compatibility_net import OutfitCompatibilityNet
from wardrobe.recommendation import Constraints, Recommender, RecommendSettings
from wardrobe.recommendation.candidates import candidate_space
from wardrobe.recommendation.synthetic import random_embeddings, sample_wardrobe
from wardrobe.store import GarmentRepository, RecordStore, VectorStore

ROOT = Path(__file__).resolve().parents[1]
DIM = 256
REQUESTS = [
    ("none", {}, None),
    ("business", {"occasion": "business"}, None),
    ("rainy 10°C", {"temperature_c": 10.0, "rain": True}, None),
    ("text", {}, "smart casual for a rainy 10°C day"),
    ("summer wedding", {}, "something for a summer wedding"),
    ("include top", "include", None),
]


def compatibility(artifacts: Path) -> tuple[object, str, str]:
    """The served bundle and CLIP sha when they match, else an untrained net of that shape."""
    try:
        bundle = load_bundle(artifacts / "compatibility")
        sha = read_meta(artifacts / "clip")["weights_sha256"]
        if bundle.preprocessing.get("feature_dim") == DIM:
            return bundle, sha, f"bundle {bundle.version}"
    except (BundleError, OSError):
        pass
    from wardrobe.artifacts import Bundle

    torch.manual_seed(0)
    sha = "0" * 64
    pre = {"encoder": {"kind": "bundle"}, "feature_dim": DIM, "encoder_weights_sha256": sha}
    net = OutfitCompatibilityNet(DIM).eval()
    meta = {"weights_sha256": "f" * 64}
    return Bundle("compatibility", net, {}, pre, meta), sha, "untrained net (no bundle)"


def build_store(root: Path, n: int, seed: int) -> tuple[GarmentRepository, float]:
    """A store holding a synthetic wardrobe of ``n`` garments for user ``bench``."""
    records = RecordStore(f"sqlite:///{root / f'w{n}-{seed}.db'}")
    vectors = VectorStore.embedded(str(root / f"chroma{n}-{seed}"), dim=DIM)
    repo = GarmentRepository(records, vectors)
    rng = np.random.default_rng(seed)
    items = sample_wardrobe(rng, n)
    emb = random_embeddings(rng, n, DIM)
    start = time.perf_counter()
    for i in range(0, n, 1000):
        repo.put("bench", [g for g, _ in items[i : i + 1000]], emb[i : i + 1000])
    return repo, time.perf_counter() - start


def constraints_for(spec, repo: GarmentRepository) -> Constraints:
    if spec == "include":
        tops = repo.records.list_garments("bench", 1, 0, slot="top").items
        return Constraints(include_ids=[tops[0].id])
    return Constraints(**spec)


def space(rec: Recommender) -> int:
    search = rec._prepare("bench", Constraints(), None, 10)
    return sum(candidate_space(steps) for steps in search.plans)


def bench_size(rec: Recommender, repo: GarmentRepository, n: int, requests: int) -> dict:
    start = time.perf_counter()
    rec.recommend("bench")  # cold: loads the wardrobe index
    cold = time.perf_counter() - start
    times, scored, learned = [], [], []
    for i in range(requests):
        name, spec, text = REQUESTS[i % len(REQUESTS)]
        c = constraints_for(spec, repo)
        start = time.perf_counter()
        result = rec.recommend("bench", c, text=text, k=10)
        times.append(time.perf_counter() - start)
        if name == "none":
            scored.append(rec.last_stats["scored"])
            learned.append(rec.last_stats["learned"])
        assert result.outfits, (name, result.reason)
    return {
        "garments": n,
        "space": space(rec),
        "scored": int(np.median(scored)),
        "learned": int(np.median(learned)),
        "p50": 1000 * float(np.percentile(times, 50)),
        "p95": 1000 * float(np.percentile(times, 95)),
        "cold": 1000 * cold,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--exhaustive", type=int, nargs="*", default=[30, 60])
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--artifacts", type=Path, default=ROOT / "model_artifacts")
    args = parser.parse_args(argv)
    # one intra-op thread: on a shared 2-core machine more threads fight other processes
    torch.set_num_threads(args.torch_threads)
    bundle, sha, which = compatibility(args.artifacts)
    settings = RecommendSettings()
    print(f"learned scorer: {which}; torch threads: {torch.get_num_threads()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            repo, setup = build_store(Path(tmp), n, seed=n)
            rec = Recommender(repo, settings, compatibility=bundle, clip_weights_sha256=sha)
            assert rec.learned_scorer_status.startswith("on"), rec.learned_scorer_status
            print(f"  {n} garments written in {setup:.1f} s", file=sys.stderr)
            rows.append(bench_size(rec, repo, n, args.requests))
            repo.records.close()
        print()
        print(
            "| garments | candidate space | outfits scored (beam + learned) | p50 ms | p95 ms "
            "| cold ms |"
        )
        print("|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['garments']:,} | {r['space']:.2e} | {r['scored']:,} + {r['learned']} "
                f"| {r['p50']:.1f} | {r['p95']:.1f} | {r['cold']:.0f} |"
            )
        if len(rows) > 1:
            a, b = rows[0], rows[-1]
            print(
                f"\n{a['garments']:,} -> {b['garments']:,} garments: candidate space x"
                f"{b['space'] / a['space']:.1e}, outfits scored x{b['scored'] / a['scored']:.1f}, "
                f"p50 x{b['p50'] / a['p50']:.1f}"
            )
        if args.exhaustive:
            print("\nexhaustive baseline (every outfit scored with the same blend, learned on):")
            print(
                "| garments | outfits (exhaustive) | exhaustive s | beam outfits scored "
                "| beam ms | same top-1 |"
            )
            print("|---:|---:|---:|---:|---:|:---:|")
            for n in args.exhaustive:
                for seed in range(3):
                    repo, _ = build_store(Path(tmp), n, seed=seed)
                    rec = Recommender(repo, settings, compatibility=bundle, clip_weights_sha256=sha)
                    _exhaustive_row(rec, n)
                    repo.records.close()
    return 0


def _exhaustive_row(rec: Recommender, n: int) -> None:
    start = time.perf_counter()
    best, _, count = rec.exhaustive_best("bench")
    slow = time.perf_counter() - start
    rec.recommend("bench", k=10)  # warm the index
    start = time.perf_counter()
    top = rec.recommend("bench", k=10).outfits[0]
    fast = time.perf_counter() - start
    scored = rec.last_stats["scored"] + rec.last_stats["learned"]
    same = "yes" if top.garment_ids == best else "no"
    print(f"| {n} | {count:,} | {slow:.1f} | {scored:,} | {1000 * fast:.1f} | {same} |")


if __name__ == "__main__":
    sys.exit(main())
