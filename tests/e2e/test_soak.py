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


@pytest.mark.timeout(600)
def test_a_photo_pool_ingests_photos_again_and_the_ledger_follows(tiny_bundles, tmp_path, capsys):
    """``--photo-pool``: the same photos are ingested again (updates), deleted garments come back
    with their photo, and the ledger still finds every acknowledged write."""
    code = load_soak().main(
        [
            f"--artifacts={tiny_bundles}",
            f"--root={tmp_path}",
            "--duration=30",
            "--clients=4",
            "--photo-pool=2",
            "--sample-every=5",
            "--uploads-12mp=0",
        ]
    )
    out = capsys.readouterr().out
    print(out)
    ingests = sum(
        int(line.split("|")[3]) for line in out.splitlines() if line.startswith("| ingest | 200 |")
    )
    assert ingests > 4 * 2, out  # some photos went in twice
    assert "problems: 0" in out and "second half" in out, out
    assert code == 0, out
