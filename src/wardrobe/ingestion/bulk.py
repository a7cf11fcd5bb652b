"""Bulk ingestion of a folder of photos into a user's wardrobe, with a progress bar.

    python -m wardrobe.ingestion.bulk photos/ --user alice [hydra overrides of conf/serve.yaml]
    python -m wardrobe.ingestion.bulk catalogue/ --user shop pipeline/store=chroma_server

The stores, the bundles and the pipeline settings are the server's (``conf/serve.yaml``), so a
folder ingested here is what the service then serves. Photos are read by a DataLoader (file I/O
in ``--workers`` processes) and go through the pipeline ``pipeline.ingest.batch_size`` at a
time; each photo is decoded once. Photo ids are the files' sha256 prefixes, so running the
command again over the same folder updates instead of duplicating. Refused photos are listed at
the end with their reasons; the exit status is 1 when any photo was refused.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from torch.utils.data import DataLoader, Dataset

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


class _Files(Dataset):
    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[str, bytes]:
        try:
            return str(self.paths[i]), self.paths[i].read_bytes()
        except OSError:
            return str(self.paths[i]), b""  # reported as an empty upload


def photos_in(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive), sorted."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())


def build(overrides: Sequence[str]):
    """The serving config's pipeline (models loaded once) attached to its stores."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from wardrobe import config as _config  # noqa: F401  (resolvers)
    from wardrobe.ingestion.pipeline import IngestionPipeline

    conf_dir = Path(__file__).resolve().parents[3] / "conf"
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        cfg = compose(config_name="serve", overrides=list(overrides))
    settings = dict(cfg.pipeline.ingest)
    pipeline = IngestionPipeline.from_artifacts(cfg.paths.artifacts_dir, settings=settings)
    store = instantiate(cfg.pipeline.store, vectors={"dim": pipeline.embedding_dim})
    pipeline.attach(store)
    return pipeline


def ingest_folder(pipeline, folder: Path, user_id: str, workers: int = 2, progress=True):
    """Ingest every photo under ``folder`` for ``user_id``; returns ``(garments, refused)``."""
    from tqdm import tqdm

    paths = photos_in(folder)
    batch = pipeline.settings.batch_size
    loader = DataLoader(
        _Files(paths), batch_size=batch, num_workers=workers, collate_fn=lambda b: b
    )
    garments, refused = 0, []
    with tqdm(total=len(paths), unit="photo", disable=not progress) as bar:
        for items in loader:
            names = [n for n, _ in items]
            for name, result in zip(
                names, pipeline.ingest(user_id, [b for _, b in items]), strict=True
            ):
                if result.ok:
                    garments += len(result.garments)
                else:
                    refused.append((name, result.error.message))
            bar.update(len(items))
            bar.set_postfix(garments=garments, refused=len(refused))
    return garments, refused


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--user", required=True, help="the wardrobe's owner (user id)")
    parser.add_argument("--workers", type=int, default=2, help="file-reading processes")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/serve.yaml")
    args = parser.parse_intermixed_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    pipeline = build(args.overrides)
    garments, refused = ingest_folder(pipeline, args.folder, args.user, args.workers)
    print(f"{garments} garments stored for {args.user}; {len(refused)} photos refused")
    for name, why in refused:
        print(f"  {name}: {why}")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
