"""Generate SynthWardrobe: ``python -m wardrobe.data.synthetic --out data/synthwardrobe``."""

from __future__ import annotations

import argparse
import json
import logging

from .generate import GenerateConfig, generate


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line and generate the dataset."""
    d = GenerateConfig()
    p = argparse.ArgumentParser(prog="python -m wardrobe.data.synthetic", description=__doc__)
    p.add_argument("--out", default=d.root, help="output root (default: %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="another seed = a held-out set")
    p.add_argument("--scenes", type=int, default=d.scenes, help="DeepFashion2-style photos")
    p.add_argument("--crops-per-class", type=int, default=d.crops_per_class)
    p.add_argument("--catalogue-per-class", type=int, default=None, help="Polyvore catalogue crops")
    p.add_argument("--outfits", type=int, default=d.outfits, help="Polyvore outfits")
    p.add_argument("--val-fraction", type=float, default=d.val_fraction)
    p.add_argument("--workers", type=int, default=None, help="processes (default: all CPUs)")
    p.add_argument("--preview", default=None, help="also write a contact-sheet PNG here")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    manifest = generate(
        root=a.out,
        seed=a.seed,
        scenes=a.scenes,
        crops_per_class=a.crops_per_class,
        catalogue_per_class=a.catalogue_per_class,
        outfits=a.outfits,
        val_fraction=a.val_fraction,
        workers=a.workers,
        preview=a.preview,
        progress=not a.no_progress,
    )
    print(json.dumps({"counts": manifest["counts"], "run": manifest["run"]}, indent=2))
    return manifest


if __name__ == "__main__":
    main()
