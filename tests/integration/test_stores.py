"""The stores as a deployment runs them: processes killed with SIGKILL between the two writes,
a real ``chroma run`` server shared by two clients, and a real PostgreSQL server."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.store_data import DIM, embedding, make_garment
from tests.helpers.store_servers import (
    chroma_server,
    create_database,
    postgres_server,
    postgres_unavailable,
)
from wardrobe.store import GarmentRepository, NotFound, RecordStore, VectorStore
from wardrobe.store.garments import TOKEN_KEY

CHILD = Path(__file__).parents[1] / "helpers" / "store_child.py"


def open_repo(root: Path) -> GarmentRepository:
    return GarmentRepository(
        RecordStore(f"sqlite:///{root / 'wardrobe.db'}"),
        VectorStore.embedded(str(root / "chroma"), dim=DIM),
    )


def run_child(root: Path, *args: str) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [sys.executable, str(CHILD), str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout.splitlines()


def assert_no_half_garment(repo: GarmentRepository, user: str = "alice") -> dict:
    rows = {g.id: g for g in repo.list_garments(user, limit=1000).items}
    vecs = repo.vectors.get(user, list(rows)) if rows else {}
    assert set(vecs) == set(rows)
    assert all(vecs[g].metadata[TOKEN_KEY] == rows[g].write_token for g in rows)
    assert all(vecs[g].metadata["category"] == rows[g].category for g in rows)
    assert repo.vectors.count(user) == len(rows)
    assert repo.records.pending_writes() == []
    return rows


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("stage", "rolled"), [("staged", "rolled_back"), ("vectors_written", "rolled_forward")]
)
def test_kill_9_between_the_writes_then_repair(tmp_path, stage, rolled):
    # two garments acknowledged, the process is killed inside the third write
    rc, out = run_child(tmp_path, "--count", "3", "--crash-at", stage, "--crash-on", "2")
    assert rc == -signal.SIGKILL and [line.split()[1] for line in out if "ACK" in line] == [
        "g0",
        "g1",
    ]
    repo = open_repo(tmp_path)
    report = repo.repair()
    assert getattr(report, rolled) == [("alice", "g2")]
    rows = assert_no_half_garment(repo)
    assert set(rows) == ({"g0", "g1"} if stage == "staged" else {"g0", "g1", "g2"})
    # a re-ingest killed midway: the acknowledged version or the complete new one, never a mix
    rc, _ = run_child(
        tmp_path, "--count", "3", "--crash-at", stage, "--crash-on", "0", "--category", "polo"
    )
    assert rc == -signal.SIGKILL
    repo = open_repo(tmp_path)
    repo.repair()
    g0 = assert_no_half_garment(repo)["g0"]
    assert g0.category == ("t_shirt" if stage == "staged" else "polo")


@pytest.mark.timeout(180)
def test_every_acknowledged_write_survives_kill_9(tmp_path):
    """A writer re-ingesting 6 garments in a loop is killed at a random point of a write."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(tmp_path), "--count", "6", "--forever"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if sum(x.startswith("ACK") for x in lines) == 10:
                break
        time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        lines += proc.stdout.read().splitlines()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    acked: dict[str, str] = {}  # every write acknowledged before the kill, in order
    for line in lines:
        if line.startswith("ACK"):
            _, gid, token = line.split()
            acked[gid] = token
    repo = open_repo(tmp_path)
    repo.repair()
    rows = assert_no_half_garment(repo)
    assert len(acked) == 6 and set(rows) == set(acked)  # nothing acknowledged was lost
    # each garment is at its last acknowledged write, except at most the one written at the
    # kill, which repair may have rolled forward
    assert sum(rows[g].write_token != t for g, t in acked.items()) <= 1


@pytest.mark.timeout(120)
def test_chroma_server_mode_shares_writes_between_clients(tmp_path):
    with chroma_server(tmp_path / "chroma-server") as (host, port):
        one = VectorStore.server(host, port, dim=DIM)
        two = VectorStore.server(host, port, dim=DIM)
        one.upsert("alice", ["g"], [embedding(1)], [{"seasons": ["winter"], "slot": "top"}])
        # visible to the second client at once
        assert [h.garment_id for h in two.query(embedding(1), "alice", n=3)] == ["g"]
        assert two.get_one("alice", "g").metadata["season_winter"] is True
        assert two.count("alice") == 1 and two.query(embedding(1), "bob") == []
        # the repository over the server, with a SQLite file shared by two "workers"
        url = f"sqlite:///{tmp_path / 'wardrobe.db'}"
        w1 = GarmentRepository(RecordStore(url), one)
        w2 = GarmentRepository(RecordStore(url), two)
        w1.put_one("alice", make_garment("top"), embedding(2))
        assert [s.garment.id for s in w2.similar("alice", embedding(2), n=1)] == ["top"]
        w2.delete("alice", "top")
        with pytest.raises(NotFound):
            w1.get("alice", "top")
        assert one.get("alice", ["top"]) == {}
        assert w1.repair().orphan_vectors_deleted == [("alice", "g")]  # no record for it


@pytest.mark.timeout(180)
def test_postgresql_and_chroma_server_scale_out(tmp_path):
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    with postgres_server() as admin, chroma_server(tmp_path / "chroma-server") as (host, port):
        url = create_database(admin, "wardrobe")
        workers = [
            GarmentRepository(RecordStore(url), VectorStore.server(host, port, dim=DIM))
            for _ in range(2)
        ]
        workers[0].put(
            "alice",
            [make_garment("top"), make_garment("jeans", "jeans")],
            [
                embedding(1),
                embedding(2),
            ],
        )
        workers[1].put_one("bob", make_garment("top", category="polo"), embedding(1))
        assert workers[1].get("alice", "jeans").slot == "bottom"
        with pytest.raises(NotFound):
            workers[1].get("bob", "jeans")
        outfit = workers[1].records.record_outfit("alice", ["top", "jeans"])
        event = workers[0].records.add_feedback("alice", "outfit", [outfit.id], "like", 1.0)
        assert event.garment_ids == ["top", "jeans"]
        assert workers[0].repair().clean
        assert_no_half_garment(workers[0])
        assert_no_half_garment(workers[1], "bob")
        for w in workers:
            w.records.close()
