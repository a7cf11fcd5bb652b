"""Serve the ingestion and recommendation pipelines over LitServe: `python serve.py`."""

import hydra
from omegaconf import DictConfig

from wardrobe import tasks


@hydra.main(version_base="1.3", config_path="conf", config_name="serve")
def main(cfg: DictConfig) -> None:
    """Load the bundles of model_artifacts/ and serve until interrupted."""
    tasks.serve(cfg)


if __name__ == "__main__":
    main()
