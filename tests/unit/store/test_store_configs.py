"""The pipeline/store Hydra group composes and instantiates into working stores."""

from __future__ import annotations

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from tests.helpers.store_data import embedding, make_garment
from wardrobe.store import GarmentRepository


def test_embedded_store_config_instantiates_under_root_dir(make_cfg, tmp_path, monkeypatch):
    monkeypatch.delenv("WARDROBE_RECORDS_URL", raising=False)
    cfg = make_cfg("serve", ["pipeline/store=chroma_embedded", "pipeline.store.vectors.dim=8"])
    store_cfg = cfg.pipeline.store
    assert store_cfg.records.url == f"sqlite:///{tmp_path}/store/wardrobe.db"
    assert store_cfg.vectors.path == f"{tmp_path}/store/chroma"
    assert store_cfg.process_safe is False
    repo = instantiate(store_cfg)
    assert isinstance(repo, GarmentRepository)
    repo.put_one("alice", make_garment("g"), embedding(1))
    assert (tmp_path / "store" / "wardrobe.db").exists()
    assert (tmp_path / "store" / "chroma").is_dir()
    repo.records.close()


def test_server_store_config_composes(make_cfg, monkeypatch):
    monkeypatch.setenv("WARDROBE_CHROMA_PORT", "8123")
    monkeypatch.setenv("WARDROBE_RECORDS_URL", "postgresql+psycopg://u@db/wardrobe")
    cfg = make_cfg("serve", ["pipeline/store=chroma_server"])
    store = OmegaConf.to_container(cfg.pipeline.store, resolve=True)
    assert store["vectors"] | {"headers": {}} == {
        "mode": "server",
        "host": "127.0.0.1",
        "port": 8123,
        "ssl": False,
        "headers": {},
        "collection": "garments",
        "dim": 512,
    }
    assert store["records"]["url"] == "postgresql+psycopg://u@db/wardrobe"
    assert store["process_safe"] is True and store["repair_min_age_s"] > 0


def test_unknown_vector_mode_is_refused(tmp_path):
    from wardrobe.store import open_repository

    with pytest.raises(ValueError, match=r"vectors\.mode"):
        open_repository({"url": f"sqlite:///{tmp_path}/w.db"}, {"mode": "cloud"})
