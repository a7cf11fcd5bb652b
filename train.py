"""Train a model: `python train.py model=tagger hardware=rtx3050` (see conf/train.yaml)."""

import hydra
from omegaconf import DictConfig

from wardrobe import tasks


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Train, test and export; return the optimised metric for Hydra sweepers."""
    metrics, _ = tasks.train(cfg)
    return tasks.metric_value(metrics, cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
