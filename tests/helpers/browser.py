"""Headless Chromium for the web-app tests: Debian's ``chromium`` package driven by Playwright
(``executable_path``: Playwright's own browser download is not used), screenshots per step."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    """``$WARDROBE_CHROMIUM`` or the first Chromium on PATH."""
    configured = os.environ.get("WARDROBE_CHROMIUM")
    if configured:
        return configured
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The browser, or a skip that says how to install it (a failure on CI, which has it)."""
    path = chromium_path()
    missing = path is None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        message = "needs Debian's chromium and playwright (apt-get install chromium; .[dev])"
        if os.environ.get("WARDROBE_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class Steps:
    """Numbered full-page screenshots of one test, in ``folder`` (the test's tmp folder)."""

    def __init__(self, page, folder: Path) -> None:
        self.page = page
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        return path
