"""Store fixtures: real SQLite files, a real Chroma PersistentClient, and (where the machine has
one) a real throwaway PostgreSQL server - no mocks of the stores."""

from __future__ import annotations

import itertools

import pytest

from tests.helpers.store_data import DIM
from tests.helpers.store_servers import create_database, postgres_server, postgres_unavailable
from wardrobe.store import GarmentRepository, RecordStore, VectorStore

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_admin_url():
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def record_url(request, tmp_path):
    """A fresh database: a SQLite file in tmp_path, or a new database on the throwaway
    PostgreSQL server (skipped, with the reason, where the server or its driver is absent)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records' / 'wardrobe.db'}"
    admin = request.getfixturevalue("pg_admin_url")
    return create_database(admin, f"test_{next(_db_counter)}")


@pytest.fixture
def records(record_url):
    store = RecordStore(record_url)
    yield store
    store.close()


@pytest.fixture
def sqlite_records(tmp_path):
    store = RecordStore(f"sqlite:///{tmp_path / 'wardrobe.db'}")
    yield store
    store.close()


@pytest.fixture
def vectors(tmp_path):
    return VectorStore.embedded(str(tmp_path / "chroma"), dim=DIM)


@pytest.fixture
def repo(sqlite_records, vectors):
    return GarmentRepository(sqlite_records, vectors)
