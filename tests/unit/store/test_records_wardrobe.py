"""Records methods the recommender relies on: the whole wardrobe in one query, a fingerprint
that changes with every garment write, and outfits recorded in one transaction."""

from __future__ import annotations

import pytest

from tests.helpers.store_data import make_garment
from wardrobe.store import Conflict, NotFound


def test_all_garments_is_the_whole_wardrobe_in_id_order(records):
    records.upsert_garments("u", [make_garment(f"g{i:04d}") for i in (3, 1, 2)])
    records.upsert_garments("v", [make_garment("g9999")])
    assert [g.id for g in records.all_garments("u")] == ["g0001", "g0002", "g0003"]
    assert records.all_garments("nobody") == []


def test_fingerprint_changes_on_add_replace_and_delete(records):
    assert records.garments_fingerprint("u") == (0, None)
    records.upsert_garments("u", [make_garment("a"), make_garment("b")])
    first = records.garments_fingerprint("u")
    assert first[0] == 2 and first[1] is not None
    assert records.garments_fingerprint("u") == first  # stable without writes
    records.upsert_garments("u", [make_garment("a", category="polo")])
    replaced = records.garments_fingerprint("u")
    assert replaced != first
    records.delete_garment("u", "b")
    assert records.garments_fingerprint("u")[0] == 1
    records.upsert_garments("v", [make_garment("c")])  # another user's write
    assert records.garments_fingerprint("u")[0] == 1


def test_record_outfits_is_all_or_nothing(records):
    records.upsert_garments("u", [make_garment("a"), make_garment("b"), make_garment("c")])
    shown = records.record_outfits("u", [("o1", ["a", "b"], {"score": 0.9}), (None, ["c"], None)])
    assert [o.garment_ids for o in shown] == [["a", "b"], ["c"]]
    assert records.get_outfit("u", "o1").context == {"score": 0.9}
    assert records.record_outfits("u", [("o1", ["a", "b"], None)])[0].id == "o1"  # idempotent
    with pytest.raises(NotFound):
        records.record_outfits("u", [("o2", ["a"], None), ("o3", ["zzz"], None)])
    with pytest.raises(NotFound):
        records.get_outfit("u", "o2")  # rolled back with the failing one
    with pytest.raises(Conflict):
        records.record_outfits("u", [("o1", ["a", "c"], None)])
    assert records.record_outfits("u", []) == []
