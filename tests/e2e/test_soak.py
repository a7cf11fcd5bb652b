"""The short soak: ``benchmarks/soak.py`` for a minute of mixed load from 8 clients, then 16
concurrent 12 MP uploads; the ledger of acknowledged writes must match the server, no answer
but 2xx or an expected 4xx, and the service's RSS stays under the benchmark's bound."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.helpers.serve_harness import REPO_ROOT


def load_soak():
    spec = importlib.util.spec_from_file_location("soak", REPO_ROOT / "benchmarks" / "soak.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(600)
def test_a_minute_of_mixed_load_keeps_every_acknowledged_write(tiny_bundles, tmp_path, capsys):
    soak = load_soak()
    code = soak.main(
        [
            f"--artifacts={tiny_bundles}",
            f"--root={tmp_path}",
            "--duration=60",
            "--clients=8",
            "--max-requests=3000",
            "--sample-every=10",
            "--uploads-12mp=16",
        ]
    )
    out = capsys.readouterr().out
    print(out)
    assert "problems: 0" in out, out
    assert code == 0, out
