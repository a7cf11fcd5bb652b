"""Evaluate every bundle in model_artifacts/ on held-out data: `python evaluate.py`."""

import hydra
from omegaconf import DictConfig

from wardrobe import tasks


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    """Write reports/<timestamp>/report.md with the design's table and plots."""
    tasks.evaluate(cfg)


if __name__ == "__main__":
    main()
