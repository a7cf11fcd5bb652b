"""``python serve.py host=0.0.0.0`` without API keys refuses to start, saying how to fix it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers.serve_harness import REPO_ROOT
from wardrobe.serving.auth import API_KEYS_ENV


@pytest.mark.timeout(180)
def test_serving_the_network_without_keys_exits_with_the_ways_out(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in (API_KEYS_ENV, "WARDROBE_API_KEYS_FILE")}
    # it exits before binding any port: nothing listens on 0.0.0.0
    done = subprocess.run(
        [sys.executable, "serve.py", "host=0.0.0.0", "port=1", f"paths.root_dir={tmp_path}"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "refusing to serve on host=0.0.0.0 without API keys" in output
    assert "auth.allow_anonymous=true" in output and API_KEYS_ENV in output
    assert "Traceback" not in output
