"""``make run`` ends with the server up and two example ``curl`` calls that work: run them."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.helpers.serve_harness import REPO_ROOT
from wardrobe import quickstart
from wardrobe.serving.launch import free_port

pytestmark = pytest.mark.slow


@pytest.mark.timeout(600)
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_printed_curl_calls_work(tiny_bundles, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO_ROOT)
    overrides = [f"paths.root_dir={tmp_path}", f"artifacts_dir={tiny_bundles}", "log_level=warning"]
    server = quickstart.serve_and_show(port=free_port(), overrides=overrides, block=False)
    try:
        printed = capsys.readouterr().out
        calls = [line for line in printed.splitlines() if line.startswith("curl ")]
        assert len(calls) == 2, printed
        assert f"open {server.url}/ in a browser" in printed  # the web app's address
        page = subprocess.run(["curl", "-sf", f"{server.url}/"], capture_output=True, text=True)
        assert page.returncode == 0 and "<title>Wardrobe</title>" in page.stdout
        outputs = []
        for call in calls:
            done = subprocess.run(call, shell=True, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            outputs.append(json.loads(done.stdout))
        ingested, searched = outputs
        assert ingested["user_id"] == "demo" and ingested["garments"], ingested
        found = {h["garment"]["id"] for h in searched["hits"]}
        assert found and found <= {g["id"] for g in ingested["garments"]}
    finally:
        assert server.stop() == 0
