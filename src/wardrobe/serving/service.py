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

import hashlib
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
    disk_full,
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
    "garment_image",
    "correct_garment",
)
IMAGE_KINDS = ("crop", "photo")


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
        images: Any = None,
        image_max_age_s: int = 86400,
    ) -> None:
        self.pipeline = pipeline
        self.repository = repository
        self.recommender = recommender
        self.images = images  # a wardrobe.store.images.ImageStore, or None: images not kept
        self.image_max_age_s = int(image_max_age_s)
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
            "garment_image": self.garment_image,
            "correct_garment": self.correct_garment,
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
            try:
                answers = self._ingest(user_id, [requests[i] for i in indices])
            except Exception as err:  # a store gone mid-way: this user's photos, not the batch
                failed = outcome_from_exception(err)
                answers = [
                    Outcome(failed.status, failed.body, dict(failed.headers)) for _ in indices
                ]
            for i, outcome in zip(indices, answers, strict=True):
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
        try:
            kept = self._keep_photos(user_id, [reqs[j]["image"] for j in todo])
        except OSError as err:  # the disk is full: refuse the group before any model runs
            full = outcome_from_exception(err)
            for j in todo:
                outcomes[j] = Outcome(full.status, full.body, dict(full.headers))
            todo, kept = [], []
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
                    outcomes[j] = Outcome(failed.status, failed.body, dict(failed.headers))
                else:
                    self._keep_crops(user_id, results[k], reqs[j]["image"])
                    outcomes[j] = self._photo_outcome(user_id, results[k], len(reqs))
            try:
                self._forget_unused_photos(user_id, kept)
            except Exception:  # tidying only: the next upload or delete of the photo tidies it
                log.warning("could not forget the unused photos of %s", user_id, exc_info=True)
        if any(o is not None and o.status < 300 for o in outcomes):
            self._known_users.add(user_id)
        return [o for o in outcomes if o is not None]

    # ------------------------------------------------------------------ images
    def _keep_photos(self, user_id: str, uploads: Sequence[bytes]) -> list[str]:
        """Store each upload before the models see it, so that a garment the API acknowledges
        always has its photo (a crash in between leaves a photo that the next upload or
        delete of it tidies). Returns the stored sha256s."""
        if self.images is None:
            return []
        shas = []
        for data in uploads:
            sha = hashlib.sha256(data).hexdigest()
            try:
                self.images.put_photo(user_id, sha, data)
                shas.append(sha)
            except OSError as err:
                if disk_full(err):  # nothing could be stored either: a 507, not a lost photo
                    raise
                # the records stay the source of truth; the page shows no image
                log.exception("could not keep the photo %s of %s", sha[:12], user_id)
        return shas

    def _keep_crops(self, user_id: str, result: Any, upload: bytes) -> None:
        if self.images is None or not getattr(result, "ok", False) or not result.garments:
            return
        from wardrobe.ingestion.crops import garment_thumbnails

        try:
            garments = [g.garment for g in result.garments]
            crops = garment_thumbnails(upload, [garment.box for garment in garments])
            for garment, crop in zip(garments, crops, strict=True):
                self.images.put_crop(user_id, garment.id, crop)
        except Exception:  # a thumbnail is rebuilt from the photo on its first request
            log.exception("could not write the crops of photo %s", result.photo_id)

    def _forget_unused_photos(self, user_id: str, shas: Sequence[str]) -> None:
        """Delete kept photos that gave no garment (refused, or nothing detected)."""
        for sha in set(shas):
            if self.repository.records.count_garments_of_photo(user_id, sha) == 0:
                self.images.delete_photo(user_id, sha)

    def garment_image(self, req: dict[str, Any]) -> Outcome:
        """The garment's crop (``kind="crop"``) or its source photo, with cache headers; 304
        when the client's ``etag`` is current."""
        user_id, garment_id, kind = req["user_id"], req["garment_id"], req.get("kind", "crop")
        if kind not in IMAGE_KINDS:
            return error(422, "invalid_request", f"kind must be one of {IMAGE_KINDS}")
        garment = self.repository.get(user_id, garment_id)
        if self.images is None:
            return error(404, "no_image", "this server does not keep images (images.root)")
        box = ",".join(f"{v:.1f}" for v in garment.box or ())
        etag = f'"{garment.image_sha256[:32]}-{hashlib.sha1(box.encode()).hexdigest()[:8]}"'
        headers = {
            "ETag": etag,
            # private: the image belongs to one user; a shared cache must not keep it
            "Cache-Control": f"private, max-age={self.image_max_age_s}",
            "Vary": "X-API-Key, Authorization",
        }
        if req.get("etag") == etag:
            return Outcome(304, None, headers)
        data = self._image_bytes(garment, kind)
        if data is None:
            return error(404, "no_image", f"the {kind} of garment {garment_id!r} is not stored")
        from wardrobe.store.images import media_type

        return Outcome(200, None, headers, content=data, media_type=media_type(data))

    def _image_bytes(self, garment: Any, kind: str) -> bytes | None:
        user_id = garment.user_id
        if kind == "photo":
            return self.images.photo(user_id, garment.image_sha256)
        crop = self.images.crop(user_id, garment.id)
        if crop is None:
            photo = self.images.photo(user_id, garment.image_sha256)
            if photo is None:
                return None
            from wardrobe.ingestion.crops import garment_thumbnail

            crop = garment_thumbnail(photo, garment.box)
            self.images.put_crop(user_id, garment.id, crop)
        return crop

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
        filters = {k: req[k] for k in ("slot", "category", "colour") if req.get(k) is not None}
        page = self.repository.list_garments(user_id, limit=limit, offset=offset, **filters)
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
        user_id = req["user_id"]
        deleted = self.repository.delete(user_id, req["garment_id"])
        if self.images is not None:
            self.images.delete_crop(user_id, deleted.id)
            self._forget_unused_photos(user_id, [deleted.image_sha256])
        return Outcome(200, {"deleted": garment_out(deleted)})

    def correct_garment(self, req: dict[str, Any]) -> Outcome:
        """Store the caller's correction of a garment; the garment as corrected."""
        user_id = req["user_id"]
        garment = self.repository.correct(
            user_id, req["garment_id"], req["patch"], corrected_by=req.get("by") or user_id
        )
        return Outcome(200, garment_out(garment))

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
    images_cfg = cfg.get("images") or {}
    images = None
    if images_cfg.get("root"):
        from wardrobe.store.images import ImageStore

        images = ImageStore(images_cfg["root"])
    return WardrobeService(
        pipeline,
        repository,
        recommender,
        info=service_info(cfg),
        max_upload_bytes=int(cfg["max_upload_bytes"]),
        images=images,
        image_max_age_s=int(images_cfg.get("max_age_s", 86400)),
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
            "light_threads": int(cfg.get("light_threads", 2)),  # 0: one queue (LitServe's loop)
            "batch_nice": int(cfg.get("batch_nice", 10)),
        },
        "auth": bool((cfg.get("auth") or {}).get("api_keys")),
    }
