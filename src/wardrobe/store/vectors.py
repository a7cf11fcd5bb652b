"""Garment embeddings in ChromaDB, scoped by user.

Two modes, one class:

* ``VectorStore.embedded(path)``: a ``chromadb.PersistentClient`` on a local folder, the
  embedded default. **A PersistentClient is not process-safe: never open one path from two
  processes** (two LitServe worker processes, a server and a notebook...). Several threads of one
  process may share one ``VectorStore``. Use the server mode as soon as a second process needs
  the vectors.
* ``VectorStore.server(host, port)``: a ``chromadb.HttpClient`` against ``chroma run --path DIR
  --host H --port P``, shared by any number of processes and hosts; a write of one client is
  visible to the others at once.

Every vector belongs to a user: Chroma ids are ``"{user_id}/{garment_id}"`` (ids cannot contain
``/``), the metadata always carries ``user_id`` and ``garment_id``, every method takes the
``user_id``, and :meth:`VectorStore.query` always filters on it (a caller's ``where`` can only
narrow the result, never widen it to another user).

Metadata is flattened to Chroma's scalar types (str, int, float, bool) so that ``where`` filters
work on every Chroma version: a list such as ``seasons=["fall", "winter"]`` is stored as the
comma-joined string ``seasons="fall,winter"`` *and* one boolean per vocabulary value,
``season_fall=True, season_winter=True, season_spring=False, season_summer=False``, so
``where={"season_winter": True}`` selects winter garments. ``upsert`` replaces a vector's
metadata wholly (Chroma itself would merge the old keys in). Collections use cosine distance;
:class:`VectorHit` gives ``distance`` and ``similarity = 1 - distance``. The embedding dimension
is fixed per collection (recorded in its metadata); a mismatch raises :class:`DimensionMismatch`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wardrobe import taxonomy
from wardrobe.store.errors import DimensionMismatch, NotFound, StoreUnavailable
from wardrobe.store.schema import check_id

Scalar = str | int | float | bool
RESERVED_KEYS = ("user_id", "garment_id")
DIM_KEY = "wardrobe:dim"

# List-valued metadata: key -> (prefix of the per-value boolean keys, vocabulary or None).
LIST_KEYS: Mapping[str, tuple[str, tuple[str, ...] | None]] = {
    "seasons": ("season", taxonomy.SEASONS),
    "style_tags": ("style", taxonomy.STYLE_TAGS),
    "colours": ("colour", taxonomy.COLOURS),
}

GET_BATCH = 5000  # ids per Chroma get


def flatten_metadata(metadata: Mapping[str, Any]) -> dict[str, Scalar]:
    """Chroma-ready metadata: scalars kept, ``None`` dropped, lists of strings joined with
    commas plus one boolean key per value (per vocabulary value for the known lists)."""
    flat: dict[str, Scalar] = {}

    def put(key: str, value: Scalar) -> None:
        if key in flat and flat[key] != value:
            raise ValueError(f"metadata key {key!r} is produced twice with different values")
        flat[key] = value

    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"metadata keys must be non-empty strings, got {key!r}")
        if value is None:
            continue
        if isinstance(value, (bool, int, str)):
            put(key, value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"metadata {key!r} must be finite, got {value}")
            put(key, value)
        elif isinstance(value, (list, tuple, set, frozenset)):
            values = list(value)
            for v in values:
                if not isinstance(v, str) or not v or "," in v:
                    raise ValueError(f"metadata list {key!r} must hold strings without ',': {v!r}")
            prefix, vocabulary = LIST_KEYS.get(key, (key, None))
            put(key, ",".join(values))
            for v in vocabulary or ():
                put(f"{prefix}_{v}", False)
            for v in values:
                flat[f"{prefix}_{v}"] = True
        else:
            raise TypeError(
                f"metadata {key!r}: {type(value).__name__} is not a Chroma scalar or list of str"
            )
    return flat


def split_list(value: str | None) -> list[str]:
    """Inverse of the comma-joining of :func:`flatten_metadata`."""
    return [v for v in (value or "").split(",") if v]


def vector_id(user_id: str, garment_id: str) -> str:
    return f"{check_id(user_id, 'user id')}/{check_id(garment_id, 'garment id')}"


@dataclass(frozen=True)
class VectorHit:
    """One nearest neighbour: the garment, its cosine distance, and its stored metadata."""

    garment_id: str
    distance: float
    metadata: dict[str, Scalar] = field(default_factory=dict)

    @property
    def similarity(self) -> float:
        return 1.0 - self.distance


@dataclass(frozen=True)
class VectorItem:
    """A stored vector: its garment, metadata and (when asked for) embedding."""

    garment_id: str
    metadata: dict[str, Scalar]
    embedding: np.ndarray | None = None


def _settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


class VectorStore:
    """User-scoped garment embeddings in one Chroma collection (cosine space).

    Build it with :meth:`embedded` or :meth:`server`; ``dim`` must equal the embedder's output
    size, and a collection created with another size refuses to open.
    """

    def __init__(self, client: Any, *, collection: str = "garments", dim: int = 512) -> None:
        if int(dim) < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.client = client
        self.dim = int(dim)
        self.collection_name = collection
        self.collection = self._open_collection(collection)

    @classmethod
    def embedded(cls, path: str, *, collection: str = "garments", dim: int = 512) -> VectorStore:
        """A ``PersistentClient`` on ``path`` (created if missing). One process per path."""
        import chromadb

        return cls(
            chromadb.PersistentClient(path=str(path), settings=_settings()),
            collection=collection,
            dim=dim,
        )

    @classmethod
    def server(
        cls,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        ssl: bool = False,
        headers: Mapping[str, str] | None = None,
        collection: str = "garments",
        dim: int = 512,
    ) -> VectorStore:
        """An ``HttpClient`` against a ``chroma run`` server (shared by many processes)."""
        import chromadb

        try:
            client = chromadb.HttpClient(
                host=host,
                port=int(port),
                ssl=ssl,
                headers=dict(headers or {}),
                settings=_settings(),
            )
            client.heartbeat()
        except Exception as err:
            raise StoreUnavailable(f"no Chroma server at {host}:{port}: {err}") from err
        return cls(client, collection=collection, dim=dim)

    def _open_collection(self, name: str):
        from chromadb.errors import NotFoundError

        try:
            collection = self.client.get_collection(name, embedding_function=None)
        except (NotFoundError, ValueError):
            collection = self.client.get_or_create_collection(
                name,
                metadata={"hnsw:space": "cosine", DIM_KEY: self.dim},
                embedding_function=None,
            )
        meta = collection.metadata or {}
        space = meta.get("hnsw:space")
        config = getattr(collection, "configuration", None) or {}
        hnsw = config.get("hnsw") if isinstance(config, Mapping) else None
        if isinstance(hnsw, Mapping) and hnsw.get("space"):
            space = hnsw["space"]
        if space != "cosine":
            raise ValueError(f"Chroma collection {name!r} uses {space!r} distance, not cosine")
        stored = meta.get(DIM_KEY)
        if stored is not None and int(stored) != self.dim:
            raise DimensionMismatch(
                f"Chroma collection {name!r} holds {stored}-d embeddings; this store was "
                f"configured for {self.dim}-d (dim must equal the embedder's output size)"
            )
        return collection

    # ------------------------------------------------------------------ helpers
    def check_embeddings(self, embeddings: Any, count: int | None = None) -> np.ndarray:
        """Embeddings as a float32 ``[N, dim]`` array; wrong size, NaN or zero vectors raise."""
        arr = np.asarray(embeddings, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise DimensionMismatch(f"embeddings must be [N, {self.dim}], got shape {arr.shape}")
        if arr.shape[1] != self.dim:
            raise DimensionMismatch(
                f"embedding dimension {arr.shape[1]} != the store's {self.dim} "
                f"(collection {self.collection_name!r})"
            )
        if count is not None and arr.shape[0] != count:
            raise ValueError(f"{arr.shape[0]} embeddings for {count} ids")
        if not np.isfinite(arr).all():
            raise ValueError("embeddings contain NaN or infinite values")
        if (np.linalg.norm(arr, axis=1) == 0).any():
            raise ValueError("a zero embedding has no cosine direction")
        return arr

    @staticmethod
    def _user_where(user_id: str, where: Mapping[str, Any] | None) -> dict[str, Any]:
        scope = {"user_id": {"$eq": user_id}}
        if not where:
            return scope
        if not isinstance(where, Mapping):
            raise TypeError(f"where must be a dict, got {type(where).__name__}")
        return {"$and": [scope, dict(where)]}

    # ------------------------------------------------------------------ writes
    def upsert(
        self,
        user_id: str,
        ids: Sequence[str],
        embeddings: Any,
        metadatas: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Insert or replace the user's vectors (never Chroma's ``add``, which ignores an
        existing id). The stored metadata becomes exactly the given one (flattened)."""
        ids = [check_id(g, "garment id") for g in ids]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate garment ids in {ids}")
        if not ids:
            return
        arr = self.check_embeddings(embeddings, len(ids))
        metadatas = list(metadatas) if metadatas is not None else [{} for _ in ids]
        if len(metadatas) != len(ids):
            raise ValueError(f"{len(metadatas)} metadatas for {len(ids)} ids")
        flat: list[dict[str, Any]] = []
        for garment_id, meta in zip(ids, metadatas, strict=True):
            for key in RESERVED_KEYS:
                if key in meta:
                    raise ValueError(f"metadata key {key!r} is set by the store")
            flat.append(flatten_metadata(meta) | {"user_id": user_id, "garment_id": garment_id})
        keys = [vector_id(user_id, g) for g in ids]
        # Chroma's upsert merges metadata into an existing record: blank the keys that are gone.
        old = self.collection.get(ids=keys, include=["metadatas"])
        previous = dict(zip(old["ids"], old["metadatas"] or [], strict=False))
        for key, meta in zip(keys, flat, strict=True):
            for stale in set(previous.get(key) or {}) - set(meta):
                meta[stale] = None
        self.collection.upsert(ids=keys, embeddings=arr.tolist(), metadatas=flat)

    def delete(self, user_id: str, ids: Sequence[str], *, where: Mapping | None = None) -> None:
        """Delete the user's vectors with these ids (absent ids are ignored). ``where``
        narrows the deletion (e.g. ``{"write_token": t}``: only if not overwritten since)."""
        keys = [vector_id(user_id, g) for g in ids]
        if keys:
            self.collection.delete(ids=keys, where=self._user_where(user_id, where))

    def delete_user(self, user_id: str) -> None:
        """Delete all of the user's vectors."""
        check_id(user_id, "user id")
        self.collection.delete(where={"user_id": {"$eq": user_id}})

    # ------------------------------------------------------------------ reads
    def get(
        self, user_id: str, ids: Sequence[str], *, include_embeddings: bool = False
    ) -> dict[str, VectorItem]:
        """The user's stored vectors among ``ids`` (absent ones are missing from the dict)."""
        keys = [vector_id(user_id, g) for g in ids]
        if not keys:
            return {}
        include = ["metadatas", "embeddings"] if include_embeddings else ["metadatas"]
        out: dict[str, VectorItem] = {}
        for start in range(0, len(keys), GET_BATCH):
            # by id only: the ids are user-scoped, and Chroma 1.5 answers ids + where ~70x slower
            got = self.collection.get(ids=keys[start : start + GET_BATCH], include=include)
            embeddings = got.get("embeddings") if include_embeddings else None
            for i, meta in enumerate(got["metadatas"] or []):
                meta = dict(meta or {})
                if meta.get("user_id") != user_id:  # never another user's, whatever the id
                    continue
                emb = None if embeddings is None else np.asarray(embeddings[i], dtype=np.float32)
                out[str(meta["garment_id"])] = VectorItem(str(meta["garment_id"]), meta, emb)
        return out

    def get_one(self, user_id: str, garment_id: str, *, include_embedding: bool = True):
        """One vector, or :class:`NotFound`."""
        found = self.get(user_id, [garment_id], include_embeddings=include_embedding)
        if garment_id not in found:
            raise NotFound(f"no vector for garment {garment_id!r} of user {user_id!r}")
        return found[garment_id]

    def query(
        self,
        embedding: Any,
        user_id: str,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
    ) -> list[VectorHit]:
        """The user's ``n`` nearest garments to ``embedding`` (cosine), nearest first, among
        those matching ``where`` (Chroma's filter syntax on the flattened metadata)."""
        check_id(user_id, "user id")
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        arr = self.check_embeddings(embedding, 1)
        res = self.collection.query(
            query_embeddings=arr.tolist(),
            n_results=int(n),
            where=self._user_where(user_id, where),
            include=["metadatas", "distances"],
        )
        hits = []
        for meta, dist in zip(res["metadatas"][0], res["distances"][0], strict=True):
            meta = dict(meta or {})
            if meta.get("user_id") != user_id:  # belt and braces: never leak another user
                continue
            hits.append(VectorHit(str(meta["garment_id"]), float(dist), meta))
        return hits

    def count(self, user_id: str) -> int:
        """How many vectors the user has."""
        check_id(user_id, "user id")
        return len(self.collection.get(where={"user_id": {"$eq": user_id}}, include=[])["ids"])

    def iter_all(self, batch: int = 1000) -> Iterator[tuple[str, VectorItem]]:
        """``(user_id, item)`` for every vector of every user (for repair), in pages."""
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=batch, offset=offset)
            if not got["ids"]:
                return
            for meta in got["metadatas"] or []:
                meta = dict(meta or {})
                yield str(meta.get("user_id")), VectorItem(str(meta.get("garment_id")), meta)
            offset += len(got["ids"])

    def heartbeat(self) -> int:
        """Raise :class:`StoreUnavailable` if Chroma does not answer."""
        try:
            return int(self.client.heartbeat())
        except Exception as err:
            raise StoreUnavailable(f"Chroma does not answer: {err}") from err

    def __repr__(self) -> str:
        return f"VectorStore(collection={self.collection_name!r}, dim={self.dim})"
