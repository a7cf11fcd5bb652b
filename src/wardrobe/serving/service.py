"""What one inference worker does with a batch of requests: call the pipelines, map the results.

:class:`WardrobeService` holds the ingestion pipeline, the garment repository and the
recommender of one worker process, and answers plain request dicts (``{"op": ..., ...}``) with
:class:`~wardrobe.serving.errors.Outcome` objects. It is wiring only: every decision about
images, garments and outfits is made by ``wardrobe.ingestion``, ``wardrobe.recommendation`` and
``wardrobe.store``.

A batch may mix operations and users. Photos are grouped by user and each group goes through
``pipeline.ingest`` as one batch (one forward pass per model); the other operations run one by
one. An exception fails only the requests it belongs to.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from wardrobe.serving import schemas
from wardrobe.serving.errors import (
    Outcome,
    UnknownUser,
    error,
    image_error,
    outcome_from_exception,
)

log = logging.getLogger(__name__)

OPS = (
    "ingest",
    "list_garments",
    "get_garment",
    "delete_garment",
    "recommend",
    "feedback",
    "search",
    "info",
)


class Pipeline(Protocol):  # what the service needs of wardrobe.ingestion.pipeline
    model_versions: Mapping[str, str]
    embedding_dim: int

    def ingest(self, user_id: str, uploads: Sequence[Any], photo_ids: Any = None) -> list: ...

    def search(self, user_id: str, *, text: Any = None, image: Any = None, n: int = 10) -> list: ...


def jsonable(value: Any) -> Any:
    """Plain JSON data from pydantic models, dataclasses, numpy scalars and containers."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def garment_out(garment: Any) -> dict[str, Any]:
    """A stored garment as the API shows it (no write token, no internal status)."""
    data = garment.model_dump() if isinstance(garment, BaseModel) else dict(garment)
    return schemas.GarmentOut.model_validate(data).model_dump(mode="json")


class WardrobeService:
    """The operations of the API on one worker's pipeline, stores and recommender."""

    def __init__(
        self,
        pipeline: Any,
        repository: Any,
        recommender: Any,
        *,
        info: Mapping[str, Any] | None = None,
        max_upload_bytes: int | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.repository = repository
        self.recommender = recommender
        self.info_extra = dict(info or {})
        self.max_upload_bytes = max_upload_bytes
        self._known_users: set[str] = set()
        self._handlers: dict[str, Callable[[dict[str, Any]], Outcome]] = {
            "list_garments": self.list_garments,
            "get_garment": self.get_garment,
            "delete_garment": self.delete_garment,
            "recommend": self.recommend,
            "feedback": self.feedback,
            "search": self.search,
            "info": self.info,
        }

    # ------------------------------------------------------------------ batch entry point
    def handle(self, requests: Sequence[Mapping[str, Any]]) -> list[Outcome]:
        """Answer every request of a batch, in order; never raises."""
        start = time.perf_counter()
        outcomes: list[Outcome | None] = [None] * len(requests)
        photos: dict[str, list[int]] = {}
        for i, req in enumerate(requests):
            op = req.get("op")
            if op == "ingest":
                photos.setdefault(str(req["user_id"]), []).append(i)
            elif op in self._handlers:
                outcomes[i] = self._guarded(self._handlers[op], dict(req))
            else:
                outcomes[i] = error(400, "unknown_operation", f"unknown operation {op!r}")
        n_photos = sum(len(v) for v in photos.values())
        for user_id, indices in photos.items():
            for i, outcome in zip(
                indices, self._ingest(user_id, [requests[i] for i in indices]), strict=True
            ):
                outcomes[i] = outcome
        done = [o if o is not None else error(500, "internal_error", "no answer") for o in outcomes]
        elapsed_ms = f"{(time.perf_counter() - start) * 1e3:.1f}"
        for o in done:
            o.headers.setdefault("X-Wardrobe-Worker", str(os.getpid()))
            o.headers.setdefault("X-Wardrobe-Batch", f"{len(requests)}/{n_photos}")
            o.headers.setdefault("X-Wardrobe-Batch-Ms", elapsed_ms)
        return done

    @staticmethod
    def _guarded(fn: Callable[[dict[str, Any]], Outcome], req: dict[str, Any]) -> Outcome:
        try:
            return fn(req)
        except Exception as err:  # one request's failure must not fail its batch
            return outcome_from_exception(err)

    # ------------------------------------------------------------------ ingestion
    def _ingest(self, user_id: str, reqs: Sequence[Mapping[str, Any]]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(reqs)
        todo = []
        for j, req in enumerate(reqs):
            image = req.get("image")
            if self.max_upload_bytes is not None and len(image or b"") > self.max_upload_bytes:
                outcomes[j] = image_error(
                    "too_large",
                    f"The photo has {len(image)} bytes; the limit is {self.max_upload_bytes}.",
                )
            else:
                todo.append(j)
        if todo:
            try:
                results = self.pipeline.ingest(
                    user_id,
                    [reqs[j]["image"] for j in todo],
                    photo_ids=[reqs[j].get("photo_id") for j in todo],
                )
            except Exception as err:  # a store or model failure: every photo of the group
                failed = outcome_from_exception(err)
                results = None
            for k, j in enumerate(todo):
                if results is None:
                    outcomes[j] = Outcome(failed.status, failed.body)
                else:
                    outcomes[j] = self._photo_outcome(user_id, results[k], len(reqs))
        if any(o is not None and o.status < 300 for o in outcomes):
            self._known_users.add(user_id)
        return [o for o in outcomes if o is not None]

    def _photo_outcome(self, user_id: str, result: Any, batch_size: int) -> Outcome:
        if not result.ok:
            err = result.error
            return image_error(str(getattr(err, "code", "invalid_image")), str(err.message))
        garments = []
        for g in result.garments:
            row = garment_out(g.garment)
            row["detector_class"] = g.detector_class
            row["detector_confidence"] = float(g.detector_confidence)
            row["top_k"] = [{"category": c, "score": float(s)} for c, s in g.top_k]
            garments.append(row)
        body = schemas.IngestResponse(
            photo_id=str(result.photo_id),
            user_id=user_id,
            image_sha256=result.image_sha256,
            garments=garments,
            warnings=[jsonable(w) for w in result.warnings],
            batch_size=batch_size,
        )
        return Outcome(200, body.model_dump(mode="json"))

    # ------------------------------------------------------------------ garments
    def _require_user(self, user_id: str) -> None:
        """:class:`NotFound`-like 404 for a user the stores have never seen."""
        if user_id in self._known_users:
            return
        if user_id in set(self.repository.records.user_ids()):
            self._known_users.add(user_id)
            return
        raise UnknownUser(user_id)

    def list_garments(self, req: dict[str, Any]) -> Outcome:
        user_id, limit, offset = req["user_id"], int(req["limit"]), int(req["offset"])
        page = self.repository.list_garments(user_id, limit=limit, offset=offset)
        if page.total == 0:
            self._require_user(user_id)
        end = offset + len(page.items)
        body = schemas.GarmentPageOut(
            items=[garment_out(g) for g in page.items],
            total=page.total,
            limit=limit,
            offset=offset,
            next_offset=end if end < page.total else None,
        )
        return Outcome(200, body.model_dump(mode="json"))

    def get_garment(self, req: dict[str, Any]) -> Outcome:
        return Outcome(200, garment_out(self.repository.get(req["user_id"], req["garment_id"])))

    def delete_garment(self, req: dict[str, Any]) -> Outcome:
        deleted = self.repository.delete(req["user_id"], req["garment_id"])
        return Outcome(200, {"deleted": garment_out(deleted)})

    # ------------------------------------------------------------------ recommendation
    def recommend(self, req: dict[str, Any]) -> Outcome:
        user_id = req["user_id"]
        self._require_user(user_id)
        constraints = req.get("constraints")
        if constraints is not None:
            constraints = self._constraints(constraints)
        rec = self.recommender.recommend(
            user_id, constraints=constraints, text=req.get("text"), k=req.get("k")
        )
        body = schemas.RecommendResponse(
            outfits=[jsonable(o) for o in rec.outfits],
            reason=getattr(rec, "reason", None),
            constraints=jsonable(getattr(rec, "constraints", None)),
        )
        return Outcome(200, body.model_dump(mode="json"))

    @staticmethod
    def _constraints(data: Mapping[str, Any]) -> Any:
        from wardrobe.recommendation import Constraints

        return Constraints.model_validate(dict(data))

    def feedback(self, req: dict[str, Any]) -> Outcome:
        event = self.recommender.feedback(
            req["user_id"],
            req["signal"],
            outfit_id=req.get("outfit_id"),
            garment_ids=req.get("garment_ids"),
            event_id=req.get("event_id"),
        )
        body = schemas.FeedbackResponse.model_validate(jsonable(event))
        return Outcome(200, body.model_dump(mode="json"))

    # ------------------------------------------------------------------ search
    def search(self, req: dict[str, Any]) -> Outcome:
        user_id = req["user_id"]
        self._require_user(user_id)
        hits = self.pipeline.search(
            user_id, text=req.get("text"), image=req.get("image"), n=int(req["n"])
        )
        body = schemas.SearchResponse(
            hits=[
                schemas.SearchHit(garment=garment_out(h.garment), similarity=float(h.similarity))
                for h in hits
            ]
        )
        return Outcome(200, body.model_dump(mode="json"))

    # ------------------------------------------------------------------ info
    def info(self, req: dict[str, Any]) -> Outcome:
        status = getattr(self.recommender, "learned_scorer_status", None)
        body = schemas.InfoResponse(
            model_versions=dict(self.pipeline.model_versions),
            embedding_dim=int(self.pipeline.embedding_dim),
            learned_scorer=None if status is None else str(status),
            store=self.info_extra.get("store", {}),
            batching=self.info_extra.get("batching", {}),
            auth=bool(self.info_extra.get("auth", False)),
            worker_pid=os.getpid(),
        )
        return Outcome(200, body.model_dump(mode="json"))


def build_service(cfg: Mapping[str, Any], device: str = "cpu") -> WardrobeService:
    """Load the bundles and open the stores for one worker process (``cfg``: the resolved
    serve config as plain data). Raises when a bundle is missing or does not match the store:
    the worker then never reports ready and the server does not start."""
    import copy

    from hydra.utils import instantiate

    from wardrobe.ingestion.pipeline import IngestionPipeline
    from wardrobe.recommendation import Recommender

    pipe_cfg = cfg["pipeline"]
    settings = dict(pipe_cfg["ingest"])
    if device != "cpu":  # LitServe places the worker; the models follow
        settings["device"] = device
    artifacts_dir = cfg["artifacts_dir"]
    pipeline = IngestionPipeline.from_artifacts(artifacts_dir, settings=settings)

    store_cfg = copy.deepcopy(dict(pipe_cfg["store"]))
    store_cfg["vectors"] = {**store_cfg["vectors"], "dim": pipeline.embedding_dim}
    repository = instantiate(store_cfg)
    pipeline.attach(repository)

    recommender = Recommender.from_config(
        pipe_cfg["recommend"],
        repository,
        artifacts_dir=artifacts_dir,
        text_embedder=pipeline.embed_text,
        clip_weights_sha256=pipeline.clip_weights_sha256,
    )
    return WardrobeService(
        pipeline,
        repository,
        recommender,
        info=service_info(cfg),
        max_upload_bytes=int(cfg["max_upload_bytes"]),
    )


def service_info(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The deployment facts ``/info`` shows besides the model versions."""
    store = cfg["pipeline"]["store"]
    vectors = store.get("vectors", {})
    return {
        "store": {
            "vectors": vectors.get("mode"),
            "records": str(store.get("records", {}).get("url", "")).split(":", 1)[0],
            "process_safe": bool(store.get("process_safe", False)),
        },
        "batching": {
            "max_batch_size": int(cfg["max_batch_size"]),
            "batch_timeout": float(cfg["batch_timeout"]),
        },
        "auth": bool((cfg.get("auth") or {}).get("api_keys")),
    }
