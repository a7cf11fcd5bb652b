"""Persistence shared by ingestion, recommendation and serving (no Lightning, no LitServe).

* :class:`RecordStore` (``records.py``): users, garments, outfits shown, feedback events and
  preference state in SQL - a SQLite file (WAL, ``synchronous=FULL``) embedded, or PostgreSQL.
* :class:`VectorStore` (``vectors.py``): garment embeddings in ChromaDB - ``PersistentClient``
  embedded (one process per path!) or ``HttpClient`` against ``chroma run``.
* :class:`GarmentRepository` (``garments.py``): one garment written to both consistently, with
  ``repair()`` for what a crash leaves between the two writes.

Everything is scoped by ``user_id``: another user's object reads as :class:`NotFound`.
Build the stores from the Hydra group ``pipeline/store`` with ``hydra.utils.instantiate`` (it
calls :func:`open_repository`).
"""

from wardrobe.store.errors import (
    Conflict,
    DimensionMismatch,
    NotFound,
    StoreError,
    StoreUnavailable,
)
from wardrobe.store.garments import (
    GarmentRepository,
    RepairReport,
    SimilarGarment,
    garment_metadata,
    open_repository,
)
from wardrobe.store.records import RecordStore
from wardrobe.store.schema import (
    ColourShare,
    FeedbackEvent,
    Garment,
    GarmentAttributes,
    GarmentIn,
    GarmentPage,
    Outfit,
    PendingWrite,
    Preferences,
)
from wardrobe.store.vectors import VectorHit, VectorItem, VectorStore, flatten_metadata, split_list

__all__ = [
    "ColourShare",
    "Conflict",
    "DimensionMismatch",
    "FeedbackEvent",
    "Garment",
    "GarmentAttributes",
    "GarmentIn",
    "GarmentPage",
    "GarmentRepository",
    "NotFound",
    "Outfit",
    "PendingWrite",
    "Preferences",
    "RecordStore",
    "RepairReport",
    "SimilarGarment",
    "StoreError",
    "StoreUnavailable",
    "VectorHit",
    "VectorItem",
    "VectorStore",
    "flatten_metadata",
    "garment_metadata",
    "open_repository",
    "split_list",
]
