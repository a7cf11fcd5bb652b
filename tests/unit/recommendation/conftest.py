"""Stores for the recommendation tests: a real SQLite file and a real embedded Chroma."""

from __future__ import annotations

import pytest

from tests.helpers.wardrobes import open_repo


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
