"""Fixtures of the ingestion tests: real photos shipped inside installed packages."""

from __future__ import annotations

import pytest

from tests.helpers.package_photos import package_photo_path


@pytest.fixture
def package_photo():
    """``package_photo("bus")`` -> path of ultralytics' bus.jpg (also zidane, grace_hopper)."""
    return package_photo_path
