"""Real photos shipped inside installed packages (ultralytics, matplotlib)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PACKAGE_PHOTOS = {
    "bus": ("ultralytics", "assets", "bus.jpg"),
    "zidane": ("ultralytics", "assets", "zidane.jpg"),
    "grace_hopper": ("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"),
}


def package_photo_path(name: str) -> Path:
    """A photo shipped inside an installed package, found without importing the package
    (ultralytics takes seconds to import); skips the test when it is not there."""
    package, *parts = PACKAGE_PHOTOS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} not installed")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"{path} not shipped")
    return path
