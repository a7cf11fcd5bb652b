"""VectorStore on a real Chroma PersistentClient in tmp_path."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.store_data import DIM, embedding
from wardrobe.store import DimensionMismatch, NotFound, VectorStore, flatten_metadata, split_list


def test_flatten_metadata_lists_become_strings_and_booleans():
    flat = flatten_metadata(
        {"seasons": ["fall", "winter"], "style_tags": [], "slot": "top", "x": None, "f": 0.5}
    )
    assert flat["seasons"] == "fall,winter" and split_list(flat["seasons"]) == ["fall", "winter"]
    assert flat["season_winter"] is True and flat["season_summer"] is False
    assert flat["style_tags"] == "" and flat["style_casual"] is False
    assert "x" not in flat and flat["f"] == 0.5 and flat["slot"] == "top"
    assert flatten_metadata({"tags": ["a"]}) == {"tags": "a", "tags_a": True}
    with pytest.raises(TypeError):
        flatten_metadata({"nested": {"a": 1}})
    with pytest.raises(ValueError):
        flatten_metadata({"tags": ["a,b"]})
    with pytest.raises(ValueError):
        flatten_metadata({"f": float("inf")})


def test_query_always_filters_by_user_and_where_narrows(vectors):
    vectors.upsert(
        "alice",
        ["a1", "a2"],
        [embedding(1), embedding(2)],
        [{"slot": "top", "seasons": ["winter"]}, {"slot": "bottom", "seasons": ["summer"]}],
    )
    vectors.upsert("bob", ["b1"], [embedding(1)], [{"slot": "top", "seasons": ["winter"]}])
    hits = vectors.query(embedding(1), "alice", n=10)
    assert [h.garment_id for h in hits] == ["a1", "a2"]
    assert hits[0].distance == pytest.approx(0.0, abs=1e-5)
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-5)
    assert all(h.metadata["user_id"] == "alice" for h in hits)
    assert [h.garment_id for h in vectors.query(embedding(1), "bob", n=10)] == ["b1"]
    assert vectors.query(embedding(1), "carol", n=10) == []
    winter = vectors.query(embedding(2), "alice", n=10, where={"season_winter": True})
    assert [h.garment_id for h in winter] == ["a1"]
    # a where naming another user cannot widen the result
    leak = vectors.query(embedding(1), "alice", n=10, where={"user_id": "bob"})
    assert leak == []
    assert vectors.count("alice") == 2 and vectors.count("bob") == 1


def test_upsert_replaces_metadata_and_embedding(vectors):
    vectors.upsert("alice", ["a"], [embedding(1)], [{"pattern": "solid", "seasons": ["winter"]}])
    vectors.upsert("alice", ["a"], [embedding(2)], [{"seasons": ["summer"]}])
    item = vectors.get_one("alice", "a")
    assert "pattern" not in item.metadata  # a plain Chroma upsert would have kept it
    assert item.metadata["season_summer"] is True and item.metadata["season_winter"] is False
    assert np.allclose(item.embedding, embedding(2), atol=1e-6)
    assert vectors.count("alice") == 1


def test_get_and_delete_are_user_scoped(vectors):
    vectors.upsert("alice", ["g"], [embedding(1)])
    vectors.upsert("bob", ["g"], [embedding(2)])
    assert set(vectors.get("alice", ["g", "missing"])) == {"g"}
    vectors.delete("bob", ["g"])
    assert vectors.get("bob", ["g"]) == {}
    assert set(vectors.get("alice", ["g"])) == {"g"}
    with pytest.raises(NotFound):
        vectors.get_one("bob", "g")
    vectors.delete_user("alice")
    assert vectors.count("alice") == 0


def test_dimension_is_checked(vectors, tmp_path):
    with pytest.raises(DimensionMismatch, match="dimension 5"):
        vectors.upsert("alice", ["a"], [np.ones(5)])
    with pytest.raises(DimensionMismatch):
        vectors.query(np.ones(DIM + 1), "alice")
    with pytest.raises(ValueError, match="zero"):
        vectors.upsert("alice", ["a"], [np.zeros(DIM)])
    with pytest.raises(ValueError, match="NaN"):
        vectors.upsert("alice", ["a"], [np.full(DIM, np.nan)])
    with pytest.raises(ValueError, match="2 embeddings for 1 ids"):
        vectors.upsert("alice", ["a"], [embedding(1), embedding(2)])
    with pytest.raises(ValueError, match="set by the store"):
        vectors.upsert("alice", ["a"], [embedding(1)], [{"user_id": "bob"}])
    with pytest.raises(DimensionMismatch, match="holds 8-d"):
        VectorStore.embedded(str(tmp_path / "chroma"), dim=16)


def test_vectors_survive_reopening(tmp_path):
    path = str(tmp_path / "chroma2")
    first = VectorStore.embedded(path, dim=DIM)
    first.upsert("alice", ["a"], [embedding(1)], [{"slot": "top"}])
    del first
    again = VectorStore.embedded(path, dim=DIM)
    assert again.count("alice") == 1
    assert [h.garment_id for h in again.query(embedding(1), "alice")] == ["a"]
    assert [(u, i.garment_id) for u, i in again.iter_all(batch=1)] == [("alice", "a")]
