"""Stores for the recommendation tests: a real SQLite file and a real embedded Chroma."""

from __future__ import annotations

import pytest

from tests.unit.recommendation.wardrobes import DIM
from wardrobe.store import GarmentRepository, RecordStore, VectorStore


def open_repo(root) -> GarmentRepository:
    records = RecordStore(f"sqlite:///{root / 'wardrobe.db'}", sqlite_synchronous="NORMAL")
    return GarmentRepository(records, VectorStore.embedded(str(root / "chroma"), dim=DIM))


@pytest.fixture
def repo(tmp_path):
    repository = open_repo(tmp_path)
    yield repository
    repository.records.close()


@pytest.fixture(scope="module")
def shared_repo(tmp_path_factory):
    """One store for a module's tests; each test uses its own user ids."""
    repository = open_repo(tmp_path_factory.mktemp("shared"))
    yield repository
    repository.records.close()
