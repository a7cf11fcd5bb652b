"""GarmentRepository: both stores written consistently; repair() after a crash between them."""

from __future__ import annotations

import threading

import pytest

from tests.helpers.store_data import embedding, make_garment
from wardrobe.store import Conflict, GarmentRepository, NotFound
from wardrobe.store.garments import TOKEN_KEY, garment_metadata


class SimulatedCrash(BaseException):
    """Stands for the process dying: not an Exception, so no cleanup code catches it."""


class FailingVectors:
    """The real VectorStore whose upsert raises (fault injection, not a mock of the store)."""

    def __init__(self, real, land_first: bool = False):
        self._real, self._land_first = real, land_first

    def __getattr__(self, name):
        return getattr(self._real, name)

    def upsert(self, *args, **kwargs):
        if self._land_first:  # e.g. a timeout after the server applied the write
            self._real.upsert(*args, **kwargs)
        raise ConnectionError("chroma went away")


def crash_at(stage: str):
    def hook(current: str) -> None:
        if current == stage:
            raise SimulatedCrash(stage)

    return hook


def assert_consistent(repo: GarmentRepository, user: str = "alice") -> None:
    """No half garment: every ready row has its own vector and every vector a ready row."""
    rows = {g.id: g for g in repo.list_garments(user, limit=1000).items}
    vecs = repo.vectors.get(user, list(rows)) if rows else {}
    assert set(vecs) == set(rows)
    for gid, row in rows.items():
        assert vecs[gid].metadata[TOKEN_KEY] == row.write_token
        assert vecs[gid].metadata["category"] == row.category
    assert repo.vectors.count(user) == len(rows)
    assert repo.records.pending_writes() == []


def test_put_get_similar_delete(repo):
    garments = [make_garment("top"), make_garment("jeans", "jeans", attributes={"seasons": []})]
    stored = repo.put("alice", garments, [embedding("top"), embedding("jeans")])
    assert [g.status for g in stored] == ["ready", "ready"]
    assert repo.get("alice", "top").write_token == stored[0].write_token
    similar = repo.similar("alice", embedding("jeans"), n=2)
    assert [s.garment.id for s in similar] == ["jeans", "top"]
    assert similar[0].similarity == pytest.approx(1.0, abs=1e-5)
    assert [
        s.garment.id for s in repo.similar("alice", embedding("top"), where={"slot": "bottom"})
    ] == ["jeans"]
    assert repo.similar("bob", embedding("top")) == []
    with pytest.raises(NotFound):
        repo.delete("bob", "top")
    repo.delete("alice", "top")
    with pytest.raises(NotFound):
        repo.get("alice", "top")
    assert repo.vectors.get("alice", ["top"]) == {}
    assert_consistent(repo)


def test_reingest_is_an_upsert(repo):
    repo.put_one("alice", make_garment("g"), embedding(1))
    again = repo.put_one("alice", make_garment("g", category="polo"), embedding(2))
    assert again.category == "polo"
    assert repo.list_garments("alice").total == 1 and repo.vectors.count("alice") == 1
    assert repo.vectors.get_one("alice", "g").metadata["category"] == "polo"
    assert list(repo.embeddings("alice", ["g"])) == ["g"]
    assert_consistent(repo)


def test_nothing_is_written_when_the_embedding_is_wrong(repo):
    with pytest.raises(ValueError):
        repo.put("alice", [make_garment("g")], [[0.0] * 3])
    assert repo.records.pending_writes() == [] and repo.list_garments("alice").total == 0


def test_failed_vector_write_rolls_back_and_keeps_the_previous_version(repo):
    repo.put_one("alice", make_garment("old"), embedding(1))
    failing = GarmentRepository(repo.records, FailingVectors(repo.vectors))
    with pytest.raises(ConnectionError):
        failing.put_one("alice", make_garment("new"), embedding(2))
    with pytest.raises(ConnectionError):
        failing.put_one("alice", make_garment("old", category="polo"), embedding(3))
    assert repo.get("alice", "old").category == "t_shirt"
    with pytest.raises(NotFound):
        repo.get("alice", "new")
    assert_consistent(repo)


def test_failed_vector_call_that_landed_is_committed(repo):
    landing = GarmentRepository(repo.records, FailingVectors(repo.vectors, land_first=True))
    stored = landing.put_one("alice", make_garment("g"), embedding(1))
    assert stored.status == "ready"
    assert_consistent(repo)


@pytest.mark.parametrize("existing", [False, True])
def test_crash_after_the_record_write_is_rolled_back(repo, existing):
    if existing:
        repo.put_one("alice", make_garment("g"), embedding(1))
    crashing = GarmentRepository(repo.records, repo.vectors, fault_hook=crash_at("staged"))
    with pytest.raises(SimulatedCrash):
        crashing.put_one("alice", make_garment("g", category="polo"), embedding(2))
    # the pending write is invisible before repair
    assert repo.list_garments("alice").total == (1 if existing else 0)
    report = repo.repair()
    assert report.rolled_back == [("alice", "g")] and report.rolled_forward == []
    if existing:
        assert repo.get("alice", "g").category == "t_shirt"  # the acknowledged version stays
    else:
        with pytest.raises(NotFound):
            repo.get("alice", "g")
    assert_consistent(repo)


@pytest.mark.parametrize("existing", [False, True])
def test_crash_after_the_vector_write_is_completed_by_repair(repo, existing):
    if existing:
        repo.put_one("alice", make_garment("g"), embedding(1))
    crashing = GarmentRepository(repo.records, repo.vectors, fault_hook=crash_at("vectors_written"))
    with pytest.raises(SimulatedCrash):
        crashing.put_one("alice", make_garment("g", category="polo"), embedding(2))
    # before repair: never a half garment (old version or nothing)
    visible = repo.similar("alice", embedding(2), n=5)
    assert [s.garment.category for s in visible] == (["t_shirt"] if existing else [])
    report = repo.repair()
    assert report.rolled_forward == [("alice", "g")] and report.clean
    assert repo.get("alice", "g").category == "polo"
    assert_consistent(repo)


def test_crash_between_the_two_deletes_is_swept(repo):
    repo.put_one("alice", make_garment("g"), embedding(1))
    repo.records.delete_garment("alice", "g")  # the record went, the process died
    assert repo.similar("alice", embedding(1)) == []  # the orphan vector is never visible
    report = repo.repair()
    assert report.orphan_vectors_deleted == [("alice", "g")]
    assert_consistent(repo)


def test_repair_reports_ready_rows_without_vector(repo):
    repo.records.upsert_garments("alice", [make_garment("novector")])
    report = repo.repair()
    assert report.missing_vectors == [("alice", "novector")] and not report.clean


def test_repair_leaves_young_pending_writes_alone(repo):
    repo.records.stage_garment_writes("alice", [make_garment("g")], "t" * 32)
    report = repo.repair(min_age_s=3600)
    assert report.pending_left == 1 and report.rolled_back == []
    assert repo.records.pending_writes()  # still there for its writer
    repo.repair()
    assert repo.records.pending_writes() == []


def test_concurrent_writers_end_with_the_row_of_the_last_vector_write(repo):
    """A stages, B stages, B writes its vector, A writes its vector, B commits, A commits:
    both stores must end on A's write (whose vector won)."""
    user, gid = "alice", "g"
    a, b = make_garment(gid, category="polo"), make_garment(gid, category="hoodie")
    tok_a = repo.records.stage_garment_writes(user, [a])
    tok_b = repo.records.stage_garment_writes(user, [b])
    repo.vectors.upsert(user, [gid], [embedding(2)], [garment_metadata(b) | {TOKEN_KEY: tok_b}])
    repo.vectors.upsert(user, [gid], [embedding(1)], [garment_metadata(a) | {TOKEN_KEY: tok_a}])
    read = repo._vector_tokens(user)
    after_b = repo.records.commit_garment_writes(user, [gid], read, own_token=tok_b)[gid]
    after_a = repo.records.commit_garment_writes(user, [gid], read, own_token=tok_a)[gid]
    assert after_b.category == after_a.category == "polo" and after_a.write_token == tok_a
    assert_consistent(repo)


def test_write_racing_a_delete_is_reported(repo):
    repo.put_one("alice", make_garment("g"), embedding(1))

    def delete_meanwhile(stage: str) -> None:
        if stage == "vectors_written":
            repo.records.delete_garment("alice", "g")

    racing = GarmentRepository(repo.records, repo.vectors, fault_hook=delete_meanwhile)
    with pytest.raises(Conflict, match="deleted while being written"):
        racing.put_one("alice", make_garment("g"), embedding(2))
    assert repo.similar("alice", embedding(2)) == []
    repo.repair()
    assert_consistent(repo)


def test_delete_user_clears_both_stores(repo):
    repo.put_one("alice", make_garment("g"), embedding(1))
    repo.put_one("bob", make_garment("g"), embedding(1))
    repo.delete_user("alice")
    assert repo.vectors.count("alice") == 0 and repo.list_garments("alice").total == 0
    assert repo.get("bob", "g")
    assert_consistent(repo, "bob")


def test_threads_rewriting_the_same_garments_stay_consistent(repo):
    errors: list[BaseException] = []
    categories = ["polo", "hoodie", "sweater", "henley"]

    def work(worker: int) -> None:
        try:
            for i in range(4):
                gid = f"g{i % 2}"
                repo.put_one("alice", make_garment(gid, category=categories[worker]), embedding(i))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert_consistent(repo)
    assert repo.list_garments("alice").total == 2
