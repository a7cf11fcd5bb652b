"""The ingestion pipeline: photos -> every garment in them, analysed and stored.

``IngestionPipeline.ingest(user_id, uploads)`` runs one batch of photos through:

1. **decode** each upload once (bytes or path; :func:`decode_image`), sha256 of its bytes;
2. **quality** check (too small rejects; blur and exposure warn);
3. **detect** garments in all photos as one batch; every detection above ``conf`` is a garment
   (at most ``max_garments``, boxes under ``min_box_side`` px dropped); a photo without any
   detection is taken whole as one garment (product shots of shoes and accessories, which a
   DeepFashion2 detector does not know) and warned ``not_clothing`` when no detection reached
   ``min_clothing_confidence``;
4. **crop** each garment from the decoded array (square, ``box_padding`` around the box);
5. **classify**, **tag** and **embed** all crops of the batch as batches (the coarse-class rule
   of :mod:`wardrobe.ingestion.garments` reconciles detector and classifier);
6. **colours** from the background-aware extractor on each crop, the tagger's colour head kept
   beside them as evidence (the colour rule of :mod:`wardrobe.ingestion.garments`);
7. **store** each photo's garments in the records and the vector store together
   (:class:`GarmentRepository.put`, ordered writes + repair). Garment ids are
   ``<photo_id>-<index>`` with ``photo_id`` = the first 16 hex digits of the photo's sha256 unless
   given, so ingesting the same photo again is an upsert; garments of an earlier ingest of that
   photo that the models no longer find are deleted.

Client mistakes (an unreadable or too-small photo) do not raise: that photo's
:class:`PhotoResult` has ``ok=False`` and an :class:`IngestError`; the other photos of the batch
go on. Store failures raise.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from wardrobe.ingestion import garments as g
from wardrobe.ingestion.decode import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    DecodedImage,
    ImageDecodeError,
    decode_image,
    read_upload,
)
from wardrobe.ingestion.models import IngestionModels
from wardrobe.ingestion.quality import Issue, QualityThresholds, check_quality, clothing_flag
from wardrobe.models.detector import Detection
from wardrobe.store import Garment, GarmentIn, GarmentRepository, NotFound, SimilarGarment
from wardrobe.store.schema import GARMENT_SUFFIX_CHARS, check_id, check_photo_id

log = logging.getLogger(__name__)

Upload = bytes | bytearray | memoryview | str | os.PathLike
MAX_GARMENTS = 100  # per photo: garment ids are <photo_id>-00 .. -99
assert len(f"-{MAX_GARMENTS - 1:02d}") == GARMENT_SUFFIX_CHARS  # the photo id leaves room for it


@dataclass(frozen=True)
class IngestSettings:
    """``conf/pipeline/ingest.yaml``."""

    backend: str = "onnx"  # onnx | torch (onnx measured faster: benchmarks/ingest.py)
    device: str = "cpu"
    batch_size: int = 32  # crops per model call
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES
    min_side: int = 224  # quality: shorter side below this rejects
    work_side: int = 1280  # after decoding, every stage works on a copy this long (at most)
    conf: float = 0.25  # detector score threshold for a garment
    main_garment_conf: float | None = 0.15  # nothing above conf: the best box above this
    iou: float = 0.6  # NMS over all classes: one garment, one box
    agnostic_nms: bool = True
    min_clothing_confidence: float = 0.5  # below: "not_clothing" warning
    max_garments: int = 12
    min_box_side: int = 16
    box_padding: float = 0.1
    whole_photo_fallback: bool = True
    top_k: int = 3
    min_coarse_mass: float = 0.5
    multilabel_threshold: float = 0.5
    colour_clusters: int = 3
    colour_min_share: float = 0.05
    colour_foreground: str = "border"  # border | grabcut | none
    tagger_colour_confident: float = g.TAGGER_COLOUR_CONFIDENT  # surer of an unseen colour: warn


@dataclass(frozen=True)
class IngestError:
    """Why a photo was refused: a machine ``code`` and a message for the user."""

    code: str
    message: str


@dataclass
class GarmentResult:
    garment: Garment | GarmentIn  # the stored row (a GarmentIn when no store is attached)
    detector_class: str | None
    detector_confidence: float
    top_k: list[tuple[str, float]]


@dataclass
class PhotoResult:
    photo_id: str | None
    image_sha256: str | None
    ok: bool
    error: IngestError | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    garments: list[GarmentResult] = field(default_factory=list)
    size: tuple[int, int] | None = None  # (width, height)


@dataclass
class _Photo:
    """A photo in flight through one batch."""

    index: int
    photo_id: str
    sha256: str
    image: DecodedImage  # as uploaded (sizes, source); the pixels used are ``rgb``
    rgb: np.ndarray  # the working copy (see IngestSettings.work_side)
    warnings: list[Issue]
    detections: list[Detection | None] = field(default_factory=list)
    crops: list[np.ndarray] = field(default_factory=list)  # square: the models' framing
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # tight: colours

    @property
    def scale(self) -> float:
        """Uploaded pixels per working-copy pixel."""
        return self.image.width / self.rgb.shape[1]


class IngestionPipeline:
    """Decode -> quality -> detect -> classify -> tag + colours -> embed -> store, batched."""

    def __init__(
        self,
        models: IngestionModels,
        repository: GarmentRepository | None = None,
        settings: IngestSettings | None = None,
    ) -> None:
        self.models = models
        self.repository = repository
        self.settings = settings or IngestSettings()
        if not 1 <= self.settings.max_garments <= MAX_GARMENTS:
            raise ValueError(f"max_garments must be in 1..{MAX_GARMENTS}")
        self.thresholds = QualityThresholds(
            min_side=self.settings.min_side,
            min_clothing_confidence=self.settings.min_clothing_confidence,
        )
        self.timer = models.timer  # one timer for every stage
        self._colour_pool = ThreadPoolExecutor(1, thread_name_prefix="colours")

    @property
    def _colour_args(self) -> tuple:
        s = self.settings
        return s.colour_clusters, s.colour_min_share, s.colour_foreground

    @classmethod
    def from_artifacts(
        cls,
        artifacts_dir: str | Path,
        repository: GarmentRepository | None = None,
        settings: IngestSettings | dict | None = None,
    ) -> IngestionPipeline:
        """Load the four bundles from ``artifacts_dir`` once."""
        if isinstance(settings, dict):
            settings = IngestSettings(**settings)
        settings = settings or IngestSettings()
        models = IngestionModels.load(artifacts_dir, settings.backend, settings.device)
        return cls(models, repository, settings)

    def attach(self, repository: GarmentRepository) -> None:
        """Set the store (built after the models, with ``dim=embedding_dim``)."""
        self.repository = repository

    @property
    def model_versions(self) -> dict[str, str]:
        return self.models.versions

    @property
    def embedding_dim(self) -> int:
        return self.models.embedding_dim

    @property
    def clip_weights_sha256(self) -> str:
        return self.models.clip_weights_sha256

    # ------------------------------------------------------------------ ingest
    def ingest(
        self,
        user_id: str,
        uploads: Sequence[Upload],
        photo_ids: Sequence[str | None] | None = None,
    ) -> list[PhotoResult]:
        """Analyse a batch of photos of one user and store every garment found."""
        check_id(user_id, "user id")
        results, photos = self._admit(uploads, photo_ids)
        self._detect(photos)
        analysed = self._analyse(photos)
        for photo, garments in zip(photos, analysed, strict=True):
            results[photo.index] = self._store(user_id, photo, garments)
        return results

    def analyse(self, uploads: Sequence[Upload]) -> list[PhotoResult]:
        """The same analysis without storing anything (``garment`` is a ``GarmentIn``)."""
        results, photos = self._admit(uploads, None)
        self._detect(photos)
        for photo, garments in zip(photos, self._analyse(photos), strict=True):
            results[photo.index] = _result(photo, [r for r, _ in garments])
        return results

    def _admit(self, uploads, photo_ids) -> tuple[list[PhotoResult | None], list[_Photo]]:
        """Decode and quality-check each upload: refused ones get their result now."""
        if isinstance(uploads, bytes | str | os.PathLike):
            raise TypeError("uploads must be a list of photos (bytes or paths)")
        ids = list(photo_ids) if photo_ids is not None else [None] * len(uploads)
        if len(ids) != len(uploads):
            raise ValueError(f"{len(ids)} photo ids for {len(uploads)} uploads")
        results: list[PhotoResult | None] = [None] * len(uploads)
        photos: list[_Photo] = []
        for i, (upload, photo_id) in enumerate(zip(uploads, ids, strict=True)):
            try:
                with self.timer("read"):
                    raw, source = _read(upload, self.settings.max_bytes)
                sha = hashlib.sha256(raw).hexdigest()
                photo_id = check_photo_id(photo_id) if photo_id else sha[:16]
                with self.timer("decode"):
                    image = self._decode(raw)
                image = replace(image, source=source)
            except ImageDecodeError as err:
                results[i] = PhotoResult(photo_id, None, False, IngestError(err.code, err.message))
                continue
            except ValueError as err:  # an invalid photo id
                results[i] = PhotoResult(None, None, False, IngestError("invalid_id", str(err)))
                continue
            with self.timer("decode"):
                rgb = working_copy(image.rgb, self.settings.work_side, self.thresholds)
            with self.timer("quality"):
                report = check_quality(rgb, self.thresholds)
            if not report.passed:
                issue = report.errors[0]
                error = IngestError(issue.code, issue.message)
                size = (image.width, image.height)
                issues = _issues(report.errors)
                results[i] = PhotoResult(photo_id, sha, False, error, issues, [], size)
                continue
            photos.append(_Photo(i, photo_id, sha, image, rgb, list(report.warnings)))
        return results, photos

    def _decode(self, raw: bytes) -> DecodedImage:
        """Decode at the size the working copy needs: a big JPEG at a reduced scale."""
        t = self.thresholds
        needed = (self.settings.work_side, max(t.min_side, t.blur_reference_side))
        return decode_image(raw, self.settings.max_pixels, self.settings.max_bytes, needed)

    def _detect(self, photos: list[_Photo]) -> None:
        s = self.settings
        with self.timer("detect"):
            found = self.models.detector.predict(
                [p.rgb for p in photos],
                conf=s.conf if s.main_garment_conf is None else min(s.conf, s.main_garment_conf),
                iou=s.iou,
                batch_size=s.batch_size,
                agnostic=s.agnostic_nms,
            )
        for photo, detections in zip(photos, found, strict=True):
            best = max((d.conf for d in detections), default=None)
            flag = clothing_flag(best, s.min_clothing_confidence)
            if flag is not None:
                photo.warnings.append(flag)
            kept = [d for d in detections if _side(d.box) >= s.min_box_side]
            kept = _garment_boxes(kept, s.conf, s.main_garment_conf)[: s.max_garments]
            if not kept and s.whole_photo_fallback:
                kept = [None]
            h, w = photo.rgb.shape[:2]
            for det in kept:
                box = (0.0, 0.0, float(w), float(h)) if det is None else det.box
                region = g.crop_box(box, w, h, 0.0 if det is None else s.box_padding)
                photo.detections.append(det)
                photo.crops.append(g.cut(photo.rgb, region))
                tight = g.crop_box(box, w, h, 0.0 if det is None else s.box_padding, False)
                photo.boxes.append(tight)

    def _analyse(self, photos: list[_Photo]) -> list[list[tuple[GarmentResult, np.ndarray]]]:
        """Classify, tag, colour and embed every crop of the batch; per photo, its garments."""
        s = self.settings
        crops = [c for p in photos for c in p.crops]
        # colours (numpy, CPU) run in a thread while the models run (ONNX Runtime / torch
        # release the GIL): the two overlap on a multi-core machine
        colours = self._colour_pool.map(
            lambda job: g.colours(g.cut(*job), *self._colour_args),
            [(p.rgb, box) for p in photos for box in p.boxes],
        )
        probs, heads, embeddings, lengths = self.models.analyse_crops(crops, s.batch_size)
        with self.timer("colour"):  # what is left of it once the models are done
            colours = list(colours)
        out, k = [], 0
        for photo in photos:
            garments = []
            for j, det in enumerate(photo.detections):
                length = g.length_answer(None if lengths is None else lengths[k])
                result = self._garment(photo, j, det, probs[k], heads, k, colours[k], length)
                garments.append((result, embeddings[k]))
                k += 1
            out.append(garments)
        return out

    def _garment(self, photo, j, det, probs, heads, k, colours, length) -> GarmentResult:
        s = self.settings
        choice = g.choose_category(probs, det and det.name, s.top_k, s.min_coarse_mass)
        attrs = g.attributes(heads, k, s.multilabel_threshold)
        g.add_length(attrs, choice.category, length)
        tagger_colour = heads["colour"][k] if "colour" in heads else None
        colour = g.decide_colours(colours, tagger_colour, s.tagger_colour_confident)
        attrs["colours"] = colour.colours
        if colour.evidence is not None:
            attrs["colour_evidence"] = colour.evidence
        warnings = [i.code for i in photo.warnings]
        if choice.disagreement:
            warnings.append(g.CLASS_DISAGREEMENT)
        if colour.disagreement:
            warnings.append(g.COLOUR_DISAGREEMENT)
        garment = GarmentIn(
            id=f"{photo.photo_id}-{j:02d}",
            image_sha256=photo.sha256,
            image_path=None if photo.image.source == "<bytes>" else photo.image.source,
            box=_uploaded_box(photo, det),
            category=choice.category,
            category_confidence=min(max(choice.confidence, 0.0), 1.0),
            attributes=attrs,
            quality_warnings=warnings,
            model_versions=self.model_versions,
        )
        return GarmentResult(
            garment,
            None if det is None else det.name,
            0.0 if det is None else float(det.conf),
            choice.top_k,
        )

    def _store(self, user_id: str, photo: _Photo, garments) -> PhotoResult:
        if self.repository is None:
            raise RuntimeError("no store attached: call attach(repository) or use analyse()")
        with self.timer("store"):
            stored = self.repository.put(
                user_id, [r.garment for r, _ in garments], np.stack([e for _, e in garments])
            )
        for (result, _), row in zip(garments, stored, strict=True):
            result.garment = row
        self._drop_stale(user_id, photo.photo_id, {r.id for r in stored})
        return _result(photo, [r for r, _ in garments])

    def _drop_stale(self, user_id: str, photo_id: str, keep: set[str]) -> None:
        """Garments of an earlier ingest of this photo that this one no longer finds."""
        others = [f"{photo_id}-{j:02d}" for j in range(MAX_GARMENTS)]
        for old in self.repository.by_ids(user_id, [i for i in others if i not in keep]):
            with contextlib.suppress(NotFound):  # deleted meanwhile
                self.repository.delete(user_id, old.id)

    # ------------------------------------------------------------------ search
    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        return self.models.embed_text(texts)

    def embed_photo(self, upload: Upload) -> np.ndarray:
        """The embedding of a query photo: its most confident garment's crop, else the whole
        photo. Raises :class:`ImageDecodeError` for an unusable photo."""
        raw, _ = _read(upload, self.settings.max_bytes)
        image = self._decode(raw)
        photo = _Photo(0, "query", "", image, working_copy(image.rgb, self.settings.work_side), [])
        self._detect([photo])
        return self.models.embed_crops(photo.crops[:1])[0]

    def search(
        self,
        user_id: str,
        *,
        text: str | None = None,
        image: Upload | None = None,
        n: int = 10,
        where: dict[str, Any] | None = None,
    ) -> list[SimilarGarment]:
        """The user's garments most similar to a text query or a query photo."""
        if (text is None) == (image is None):
            raise ValueError("search needs exactly one of text or image")
        if text is not None and not text.strip():
            raise ValueError("the search text is empty")
        query = self.embed_text([text])[0] if text is not None else self.embed_photo(image)
        return self.repository.similar(user_id, query, n=n, where=where)


def _read(upload: Upload, max_bytes: int) -> tuple[bytes, str]:
    """The upload's bytes and source (a path is read here, once)."""
    if not isinstance(upload, bytes | bytearray | memoryview | str | os.PathLike):
        raise ImageDecodeError(
            "not_an_image", f"expected image bytes or a file path, got {type(upload).__name__}"
        )
    return read_upload(upload, max_bytes)


def working_copy(
    rgb: np.ndarray, work_side: int, thresholds: QualityThresholds | None = None
) -> np.ndarray:
    """``rgb`` shrunk (INTER_AREA) so its longer side is at most ``work_side``, but never below
    what the quality check measures on (the minimum side, the blur reference side): what every
    stage after decoding works on. Boxes are reported back in the uploaded pixels."""
    t = thresholds or QualityThresholds()
    h, w = rgb.shape[:2]
    short, long = min(h, w), max(h, w)
    floor = min(short, max(t.min_side, t.blur_reference_side))
    scale = min(1.0, max(work_side / long, floor / short))
    if scale >= 1.0:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _uploaded_box(photo: _Photo, det: Detection | None) -> tuple[float, float, float, float]:
    """The garment's box in the uploaded photo's pixels (the whole photo without a detection)."""
    w, h = float(photo.image.width), float(photo.image.height)
    if det is None:
        return 0.0, 0.0, w, h
    x1, y1, x2, y2 = (v * photo.scale for v in det.box)
    return max(x1, 0.0), max(y1, 0.0), min(x2, w), min(y2, h)


def _garment_boxes(
    detections: list[Detection], conf: float, main_conf: float | None
) -> list[Detection]:
    """The boxes above ``conf``; when there are none, the best box above ``main_conf``
    alone (a photo's one garment can score below ``conf``). NMS keeps higher scores
    first, so the boxes above ``conf`` are the same whatever lower threshold ran."""
    sure = [d for d in detections if d.conf > conf]  # as the detector filters
    if sure or main_conf is None:
        return sure
    return [max(detections, key=lambda d: d.conf)] if detections else []


def _side(box) -> float:
    x1, y1, x2, y2 = box
    return min(x2 - x1, y2 - y1)


def _issues(issues: Sequence[Issue]) -> list[dict[str, Any]]:
    return [asdict(i) for i in issues]


def _result(photo: _Photo, garments: list[GarmentResult]) -> PhotoResult:
    size = (photo.image.width, photo.image.height)
    return PhotoResult(
        photo.photo_id, photo.sha256, True, None, _issues(photo.warnings), garments, size
    )
