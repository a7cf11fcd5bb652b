"""One garment, two stores: the records row (SQL) and its embedding (Chroma), kept consistent.

Two stores cannot share a transaction, so every garment write is ordered and tagged:

1. **stage** - the garment is written to the records as a *pending write* (table
   ``garment_writes``, status ``pending``) under a fresh write token, and committed. Reads never
   see pending writes; an existing ready version stays visible meanwhile.
2. **vector** - the embedding is upserted to Chroma, its metadata carrying the write token.
3. **commit** - in one locked SQL transaction: read the token the vector now carries; the pending
   write with that token becomes the ready row (``garments``, status ``ready``); drop our pending
   write. Only then does :meth:`GarmentRepository.put` return (the acknowledgement).

A crash (or ``kill -9``) can stop this anywhere; :meth:`GarmentRepository.repair`, run on start,
finishes or rolls back what it left, by the same rule: a pending write whose token the vector
carries rolls *forward* to ready (its vector exists); one whose vector never came rolls *back*
(dropped; a previous ready version, whose vector is untouched, stays); a vector with no ready row
and no pending write is deleted. Because the rule compares tokens, a crashed re-ingest of a
garment never pairs new attributes with an old embedding or the reverse, and two concurrent
writers of one garment end with the row and the vector of the same write (the last vector
write wins; its pending write is still there for whichever commit comes last).

**Delete** removes the records row first (with any pending writes), then the vector. A crash in
between leaves a vector with no row: nothing lists it, :meth:`similar` drops hits without a
ready row, and repair deletes it. The other order could leave a ready row without its vector -
a garment that lists but never appears in similarity search, a visible half garment.

Re-ingesting the same garment id is an upsert; ids are per user, so the same photo ingested by
two users gives two garments.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wardrobe.store.errors import Conflict
from wardrobe.store.records import RecordStore
from wardrobe.store.schema import Garment, GarmentIn, GarmentPage, check_id
from wardrobe.store.vectors import VectorStore

log = logging.getLogger(__name__)

TOKEN_KEY = "write_token"


def garment_metadata(garment: GarmentIn) -> dict[str, Any]:
    """The vector metadata of a garment (flattened by the vector store): what similarity search
    filters on - category, slot, colours, pattern, fit, formality, seasons, style tags."""
    attrs = garment.attributes
    return {
        "category": garment.category,
        "slot": garment.slot,
        "category_confidence": float(garment.category_confidence),
        "pattern": attrs.pattern,
        "fit": attrs.fit,
        "formality": attrs.formality,
        "colour_primary": attrs.primary_colour,
        "colours": [c.colour for c in attrs.colours],
        "seasons": list(attrs.seasons),
        "style_tags": list(attrs.style_tags),
        "image_sha256": garment.image_sha256,
    }


@dataclass
class RepairReport:
    """What :meth:`GarmentRepository.repair` did."""

    rolled_forward: list[tuple[str, str]] = field(default_factory=list)  # pending -> ready
    rolled_back: list[tuple[str, str]] = field(default_factory=list)  # pending dropped
    orphan_vectors_deleted: list[tuple[str, str]] = field(default_factory=list)
    missing_vectors: list[tuple[str, str]] = field(default_factory=list)  # ready, no vector
    mismatched_vectors: list[tuple[str, str]] = field(default_factory=list)  # other write's
    pending_left: int = 0  # younger than min_age_s: possibly in flight in another process

    @property
    def clean(self) -> bool:
        return not (self.missing_vectors or self.mismatched_vectors)


@dataclass(frozen=True)
class SimilarGarment:
    garment: Garment
    similarity: float


class GarmentRepository:
    """Garments written to and read from the records and the vector store together.

    ``fault_hook(stage)`` is called after ``"staged"`` and ``"vectors_written"``: tests use it to
    crash the process between the writes.
    """

    def __init__(
        self,
        records: RecordStore,
        vectors: VectorStore,
        *,
        fault_hook: Callable[[str], None] | None = None,
    ) -> None:
        self.records = records
        self.vectors = vectors
        self._fault_hook = fault_hook

    def _hook(self, stage: str) -> None:
        if self._fault_hook is not None:
            self._fault_hook(stage)

    def _vector_tokens(self, user_id: str) -> Callable[[list[str]], dict[str, str | None]]:
        def read(ids: list[str]) -> dict[str, str | None]:
            found = self.vectors.get(user_id, ids)
            return {g: (str(v.metadata.get(TOKEN_KEY) or "") or None) for g, v in found.items()}

        return read

    # ------------------------------------------------------------------ writes
    def put(self, user_id: str, garments: Sequence[GarmentIn], embeddings: Any) -> list[Garment]:
        """Write garments (one photo's, or a batch of one user) with their embeddings to both
        stores; returns the ready rows. Idempotent per garment id (an upsert)."""
        check_id(user_id, "user id")
        items = [GarmentIn.model_validate(g) for g in garments]
        if not items:
            return []
        ids = [g.id for g in items]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate garment ids in {ids}")
        arr = self.vectors.check_embeddings(embeddings, len(items))  # fail before any write
        token = uuid.uuid4().hex
        metadatas = [garment_metadata(g) | {TOKEN_KEY: token} for g in items]

        self.records.stage_garment_writes(user_id, items, token)
        self._hook("staged")
        try:
            self.vectors.upsert(user_id, ids, arr, metadatas)
        except Exception as err:
            # The vector write failed, or maybe landed before the error (a timeout): resolve by
            # the token rule now; if even that fails, repair() will.
            try:
                result = self.records.commit_garment_writes(
                    user_id, ids, self._vector_tokens(user_id), own_token=token
                )
            except Exception:
                log.exception("could not resolve the failed write %s; repair() will", token)
                raise err from None  # the original error, not the resolve failure
            landed = [g for g in ids if result[g] is not None and result[g].write_token == token]
            if len(landed) != len(ids):
                raise
            return [result[g] for g in ids]
        self._hook("vectors_written")
        result = self.records.commit_garment_writes(
            user_id, ids, self._vector_tokens(user_id), own_token=token
        )
        lost = [g for g in ids if result[g] is None]
        if lost:
            raise Conflict(f"garments {lost} of {user_id!r} were deleted while being written")
        return [result[g] for g in ids]

    def put_one(self, user_id: str, garment: GarmentIn, embedding: Any) -> Garment:
        return self.put(user_id, [garment], [embedding])[0]

    def delete(self, user_id: str, garment_id: str) -> Garment:
        """Delete from both stores: records first, then the vector (see the module doc).
        :class:`NotFound` when the user has no such garment."""
        deleted = self.records.delete_garment(user_id, garment_id)
        try:
            self.vectors.delete(user_id, [garment_id])
        except Exception:  # the record is gone: the garment is deleted; repair() sweeps this
            log.exception("vector of %s/%s not deleted; repair() will", user_id, garment_id)
        return deleted

    def correct(
        self, user_id: str, garment_id: str, patch: Mapping[str, Any], corrected_by: str
    ) -> Garment:
        """Record the user's correction of a garment (records only: the embedding describes
        the pixels, which a correction does not change). See :meth:`RecordStore.correct_garment`."""
        return self.records.correct_garment(user_id, garment_id, patch, corrected_by)

    def delete_user(self, user_id: str) -> None:
        """Remove a user and all it owns from both stores (records first)."""
        self.records.delete_user(user_id)
        self.vectors.delete_user(user_id)

    # ------------------------------------------------------------------ reads (ready only)
    def get(self, user_id: str, garment_id: str) -> Garment:
        return self.records.get_garment(user_id, garment_id)

    def list_garments(
        self, user_id: str, limit: int = 50, offset: int = 0, **filters: Any
    ) -> GarmentPage:
        return self.records.list_garments(user_id, limit, offset, **filters)

    def by_ids(self, user_id: str, garment_ids: Sequence[str], **kwargs: Any) -> list[Garment]:
        return self.records.garments_by_ids(user_id, garment_ids, **kwargs)

    def embeddings(self, user_id: str, garment_ids: Sequence[str]) -> dict[str, Any]:
        """``garment_id -> embedding`` of the user's ready garments among ``garment_ids``."""
        ready = {g.id for g in self.records.garments_by_ids(user_id, garment_ids)}
        found = self.vectors.get(user_id, sorted(ready), include_embeddings=True)
        return {g: v.embedding for g, v in found.items()}

    def similar(
        self,
        user_id: str,
        embedding: Any,
        n: int = 10,
        where: Mapping[str, Any] | None = None,
    ) -> list[SimilarGarment]:
        """The user's ready garments nearest to ``embedding`` (vectors without a ready row -
        a write in flight or a crashed delete - are skipped)."""
        hits = self.vectors.query(embedding, user_id, n, where)
        rows = {
            g.id: g for g in self.records.garments_by_ids(user_id, [h.garment_id for h in hits])
        }
        return [
            SimilarGarment(rows[h.garment_id], h.similarity) for h in hits if h.garment_id in rows
        ]

    # ------------------------------------------------------------------ recovery
    def repair(self, *, min_age_s: float = 0.0, sweep: bool = True) -> RepairReport:
        """Finish or roll back what a crash left between the two stores.

        Pending writes older than ``min_age_s`` are resolved by the token rule; with ``sweep``,
        vectors with neither a ready row nor a pending write are deleted (only if they were not
        rewritten since they were listed) and ready rows are checked for their vector. Run it on
        start, before serving (``min_age_s=0``). Where other processes may be writing at the same
        moment, give ``min_age_s`` well above the longest write (a minute) so that their writes in
        flight are left alone.
        """
        report = RepairReport()
        all_pending = self.records.pending_writes()
        old = self.records.pending_writes(older_than_s=min_age_s)
        report.pending_left = len(all_pending) - len(old)
        by_user: dict[str, set[str]] = {}
        for p in old:
            by_user.setdefault(p.user_id, set()).add(p.garment_id)
        for user_id, garment_ids in sorted(by_user.items()):
            ids = sorted(garment_ids)
            before = self.records.garments_by_ids(user_id, ids)
            before_tokens = {g.id: g.write_token for g in before}
            result = self.records.commit_garment_writes(
                user_id, ids, self._vector_tokens(user_id), own_token=None
            )
            for garment_id in ids:
                after = result[garment_id]
                changed = after is not None and after.write_token != before_tokens.get(garment_id)
                key = (user_id, garment_id)
                (report.rolled_forward if changed else report.rolled_back).append(key)
        if sweep:
            self._sweep(report)
        if report.rolled_forward or report.rolled_back or report.orphan_vectors_deleted:
            log.warning("store repair: %s", report)
        if not report.clean:
            log.error(
                "store repair: %d ready garments without their vector, %d with another write's "
                "vector (re-ingest them)",
                len(report.missing_vectors),
                len(report.mismatched_vectors),
            )
        return report

    def _sweep(self, report: RepairReport) -> None:
        listed = {(u, item.garment_id): item for u, item in self.vectors.iter_all()}
        ready = self.records.garment_keys()  # read after listing: see the docstring of repair
        pending = self.records.pending_keys()
        for key, item in sorted(listed.items()):
            if key in ready or key in pending:
                continue
            user_id, garment_id = key
            token = item.metadata.get(TOKEN_KEY)
            where = {TOKEN_KEY: {"$eq": token}} if token else None
            self.vectors.delete(user_id, [garment_id], where=where)
            report.orphan_vectors_deleted.append(key)
        for key, token in sorted(ready.items()):
            item = listed.get(key)
            if item is None:
                if key not in pending:
                    report.missing_vectors.append(key)
            elif token is not None and item.metadata.get(TOKEN_KEY) != token:
                report.mismatched_vectors.append(key)


def open_repository(
    records: Mapping[str, Any],
    vectors: Mapping[str, Any],
    *,
    repair_on_open: bool = True,
    repair_min_age_s: float = 0.0,
    process_safe: bool | None = None,
) -> GarmentRepository:
    """Build the stores from plain settings (the ``pipeline/store`` Hydra group).

    ``records``: keyword arguments of :class:`RecordStore` (``url``, ``sqlite_synchronous``...).
    ``vectors``: ``mode`` (``embedded`` with ``path``, or ``server`` with ``host``, ``port``,
    ``ssl``, ``headers``), ``collection`` and ``dim``. ``process_safe`` is declared by the
    config for the serving layer (false: one process only) and not used here.
    """
    rec = RecordStore(**dict(records))
    vec_cfg = dict(vectors)
    mode = vec_cfg.pop("mode", "embedded")
    if mode == "embedded":
        vec = VectorStore.embedded(**vec_cfg)
    elif mode == "server":
        vec = VectorStore.server(**vec_cfg)
    else:
        raise ValueError(f"vectors.mode must be 'embedded' or 'server', got {mode!r}")
    repo = GarmentRepository(rec, vec)
    if repair_on_open:
        repo.repair(min_age_s=repair_min_age_s)
    return repo
