"""The API in-process: real routes, real LitAPI hooks, real stores, fake models."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers.serving_fakes import KEYS, FakePipeline, FakeRecommender, fake_repository
from wardrobe.serving.apis import WardrobeAPI
from wardrobe.serving.app import ApiSettings, InProcessDispatch, create_app
from wardrobe.serving.auth import ApiKeys
from wardrobe.serving.service import WardrobeService


@pytest.fixture
def service(tmp_path):
    repository = fake_repository(tmp_path)
    return WardrobeService(
        FakePipeline(repository),
        repository,
        FakeRecommender(repository),
        info={"store": {"vectors": "embedded"}, "batching": {"max_batch_size": 4}},
        max_upload_bytes=200_000,
    )


def make_client(service, api_keys=None, max_batch_size: int = 1) -> TestClient:
    api = WardrobeAPI({}, max_batch_size=max_batch_size, service=service)
    settings = ApiSettings(max_upload_bytes=200_000, api_keys=ApiKeys(api_keys))
    return TestClient(create_app(InProcessDispatch(api), settings), raise_server_exceptions=False)


@pytest.fixture
def client(service):
    with make_client(service) as c:
        yield c


@pytest.fixture
def keyed_client(service):
    with make_client(service, KEYS) as c:
        yield c
