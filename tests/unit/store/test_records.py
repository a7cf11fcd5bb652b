"""RecordStore contract, run on a SQLite file and on a real PostgreSQL server alike."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pytest

from tests.helpers.store_data import make_garment
from tests.helpers.store_servers import free_port
from wardrobe.store import Conflict, NotFound, RecordStore, StoreUnavailable
from wardrobe.store.records import utcnow


def test_create_schema_is_idempotent_and_data_survives_reopening(record_url):
    store = RecordStore(record_url)
    store.upsert_garments("alice", [make_garment("g1")])
    store.create_schema()
    store.close()
    again = RecordStore(record_url)
    again.create_schema()
    g = again.get_garment("alice", "g1")
    assert g.category == "t_shirt" and g.attributes.colours[0].colour == "navy"
    assert g.box == (10.0, 20.0, 110.0, 220.0)
    assert g.created_at.tzinfo is not None
    again.close()


def test_user_scoping(records):
    records.upsert_garments("alice", [make_garment("g1")])
    with pytest.raises(NotFound, match="unknown garment 'g1' for user 'bob'"):
        records.get_garment("bob", "g1")
    with pytest.raises(NotFound):
        records.delete_garment("bob", "g1")
    assert records.list_garments("bob").total == 0
    assert records.garments_by_ids("bob", ["g1"]) == []
    assert records.get_garment("alice", "g1").user_id == "alice"  # untouched by bob's delete
    # the same garment id for another user is another garment
    records.upsert_garments("bob", [make_garment("g1", category="jeans")])
    assert records.get_garment("alice", "g1").category == "t_shirt"
    assert records.get_garment("bob", "g1").category == "jeans"


def test_paging_newest_first_with_total_and_filters(records):
    for i in range(7):
        cat = "jeans" if i % 2 else "t_shirt"
        records.upsert_garments("alice", [make_garment(f"g{i}", category=cat)])
    pages = [records.list_garments("alice", limit=3, offset=o) for o in (0, 3, 6)]
    assert [p.total for p in pages] == [7, 7, 7]
    ids = [g.id for p in pages for g in p.items]
    assert ids == [f"g{i}" for i in reversed(range(7))]
    bottoms = records.list_garments("alice", limit=10, slot="bottom")
    assert bottoms.total == 3 and {g.category for g in bottoms.items} == {"jeans"}
    assert records.list_garments("alice", category="t_shirt").total == 4
    with pytest.raises(ValueError):
        records.list_garments("alice", limit=0)
    with pytest.raises(ValueError):
        records.list_garments("alice", offset=-1)
    with pytest.raises(ValueError):
        records.list_garments("alice", slot="head")


def test_upsert_is_idempotent_and_keeps_created_at(records):
    first = records.upsert_garments("alice", [make_garment("g1")])[0]
    second = records.upsert_garments(
        "alice", [make_garment("g1", category="polo", quality_warnings=[])]
    )[0]
    assert records.list_garments("alice").total == 1
    assert second.category == "polo" and second.quality_warnings == []
    assert second.created_at == first.created_at and second.updated_at >= first.updated_at


def test_garments_by_ids_keeps_order_and_reports_missing(records):
    records.upsert_garments("alice", [make_garment("a"), make_garment("b"), make_garment("c")])
    assert [g.id for g in records.garments_by_ids("alice", ["c", "x", "a"])] == ["c", "a"]
    with pytest.raises(NotFound, match=r"\['x'\]"):
        records.garments_by_ids("alice", ["c", "x"], missing="raise")


def test_delete_garment(records):
    records.upsert_garments("alice", [make_garment("g1")])
    assert records.delete_garment("alice", "g1").id == "g1"
    with pytest.raises(NotFound):
        records.get_garment("alice", "g1")
    with pytest.raises(NotFound):
        records.delete_garment("alice", "g1")


def test_outfits_and_feedback(records):
    records.upsert_garments("alice", [make_garment("top"), make_garment("jeans", "jeans")])
    outfit = records.record_outfit("alice", ["top", "jeans"], outfit_id="o1", context={"k": 1})
    assert records.get_outfit("alice", "o1") == outfit
    assert records.record_outfit("alice", ["top", "jeans"], outfit_id="o1") == outfit
    with pytest.raises(Conflict, match="recorded with garments"):
        records.record_outfit("alice", ["top"], outfit_id="o1")
    with pytest.raises(NotFound, match="unknown outfit 'o1' for user 'bob'"):
        records.get_outfit("bob", "o1")
    with pytest.raises(NotFound, match="unknown garments"):
        records.record_outfit("alice", ["top", "ghost"])

    ev = records.add_feedback("alice", "outfit", ["o1"], "wear", 2.0, event_id="e1")
    assert ev.garment_ids == ["top", "jeans"] and ev.weight == 2.0
    assert records.add_feedback("alice", "outfit", ["o1"], "wear", 2.0, event_id="e1") == ev
    with pytest.raises(Conflict):
        records.add_feedback("alice", "outfit", ["o1"], "like", 1.0, event_id="e1")
    with pytest.raises(NotFound, match="unknown outfit"):
        records.add_feedback("alice", "outfit", ["nope"], "like", 1.0)
    with pytest.raises(NotFound, match="unknown outfit"):
        records.add_feedback("bob", "outfit", ["o1"], "like", 1.0)  # alice's outfit
    with pytest.raises(NotFound, match="unknown garments"):
        records.add_feedback("alice", "garment", ["ghost"], "click", 0.2)
    with pytest.raises(ValueError, match="unknown signal"):
        records.add_feedback("alice", "garment", ["top"], "love", 1.0)
    with pytest.raises(ValueError, match="exactly one outfit"):
        records.add_feedback("alice", "outfit", ["o1", "o2"], "like", 1.0)
    later = utcnow() + timedelta(seconds=1)
    records.add_feedback("alice", "garment", ["top"], "click", 0.2, created_at=later)
    events = records.list_feedback("alice")
    assert [e.signal for e in events] == ["wear", "click"]
    assert [e.signal for e in records.list_feedback("alice", since=ev.created_at)] == ["click"]
    assert records.list_feedback("bob") == []


def test_preferences_versioned(records):
    empty = records.get_preferences("alice")
    assert empty.state == {} and empty.version == 0
    p1 = records.put_preferences("alice", {"colour": {"navy": 0.3}}, expected_version=0)
    assert p1.version == 1
    with pytest.raises(Conflict, match="version 1"):
        records.put_preferences("alice", {"colour": {}}, expected_version=0)
    p2 = records.put_preferences("alice", {"colour": {"navy": 0.4}})
    assert p2.version == 2 and records.get_preferences("alice").state == {"colour": {"navy": 0.4}}
    assert records.get_preferences("bob").version == 0
    with pytest.raises(ValueError, match="JSON"):
        records.put_preferences("alice", {"x": float("nan")})


def test_delete_user_removes_everything(records):
    records.upsert_garments("alice", [make_garment("g1")])
    records.record_outfit("alice", ["g1"], outfit_id="o1")
    records.add_feedback("alice", "outfit", ["o1"], "like", 1.0)
    records.put_preferences("alice", {"a": 1})
    records.upsert_garments("bob", [make_garment("g1")])
    records.delete_user("alice")
    assert records.list_garments("alice").total == 0
    assert records.list_feedback("alice") == []
    assert records.get_preferences("alice").version == 0
    assert records.get_garment("bob", "g1")
    with pytest.raises(NotFound):
        records.delete_user("alice")


def test_concurrent_writers_from_threads(records):
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(5):
                records.upsert_garments("alice", [make_garment(f"w{worker}-{i}")])
                records.put_preferences("alice", {"w": worker})
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert records.list_garments("alice").total == 20
    assert records.get_preferences("alice").version == 20


def test_sqlite_pragmas(tmp_path):
    path = tmp_path / "w.db"
    store = RecordStore(f"sqlite:///{path}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    normal = RecordStore(f"sqlite:///{path}", sqlite_synchronous="normal")
    with normal.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    normal.close()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "mysql://x@y/z"])
def test_rejected_urls(url):
    with pytest.raises(ValueError):
        RecordStore(url)


def test_unreachable_postgresql_is_store_unavailable():
    # psycopg missing -> the error names the driver; present -> the connection is refused
    with pytest.raises(StoreUnavailable, match=r"psycopg|cannot open"):
        RecordStore(f"postgresql://nobody@127.0.0.1:{free_port()}/none")


def test_invalid_ids_are_rejected(tmp_path):
    store = RecordStore(f"sqlite:///{tmp_path / 'w.db'}")
    with pytest.raises(ValueError, match="invalid user id"):
        store.get_garment("../etc", "g1")
    with pytest.raises(ValueError, match="duplicate"):
        store.upsert_garments("alice", [make_garment("g1"), make_garment("g1")])
    store.close()


def test_stores_opened_at_once_on_a_fresh_database_all_start(record_url):
    """Several workers starting together create the schema once (no duplicate-table race)."""
    from concurrent.futures import ThreadPoolExecutor

    from wardrobe.store import RecordStore

    def open_store(_):
        store = RecordStore(record_url)
        store.ensure_user("alice")
        store.close()
        return True

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(open_store, range(4)))
