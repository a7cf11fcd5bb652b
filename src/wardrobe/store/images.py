"""The photos users uploaded and their garments' crops, as files.

Layout under ``root`` (one folder per user, so deleting a user is one ``rmtree``)::

    <root>/<user_id>/photos/<sha256>     the uploaded bytes, as sent (JPEG, PNG or WebP)
    <root>/<user_id>/crops/<garment_id>.jpg

Durability matches the records: a file is written to a temporary name in the same folder,
flushed and fsynced, renamed over the final name (atomic on POSIX), and the folder is fsynced,
so after ``kill -9`` or a power cut a file is either absent or whole, and one the API
acknowledged is there. ``root`` is a local folder by default; several hosts serving one
wardrobe point it at the same shared filesystem (NFS, SMB, a cloud file share mount).
Ids are validated (:func:`~wardrobe.store.schema.check_id`: no ``/``, no leading dot), so a
path can never leave ``root``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from wardrobe.store.schema import check_id

_SHA256_HEX = frozenset("0123456789abcdef")

# magic bytes -> media type of the formats ingestion accepts
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def media_type(data: bytes) -> str:
    """The media type of JPEG, PNG or WebP bytes (``application/octet-stream`` otherwise)."""
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _check_sha(value: str) -> str:
    if len(value) != 64 or not set(value) <= _SHA256_HEX:
        raise ValueError(f"invalid image sha256 {value!r}: expected 64 lower-case hex digits")
    return value


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ImageStore:
    """Uploaded photos and garment crops of every user under ``root`` (see the module doc)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"ImageStore({str(self.root)!r})"

    def photo_path(self, user_id: str, image_sha256: str) -> Path:
        return self.root / check_id(user_id, "user id") / "photos" / _check_sha(image_sha256)

    def crop_path(self, user_id: str, garment_id: str) -> Path:
        user = check_id(user_id, "user id")
        return self.root / user / "crops" / f"{check_id(garment_id, 'garment id')}.jpg"

    # ------------------------------------------------------------------ photos
    def put_photo(self, user_id: str, image_sha256: str, data: bytes) -> Path:
        """Keep the uploaded bytes (content-addressed: the same photo is stored once)."""
        path = self.photo_path(user_id, image_sha256)
        if not path.exists():
            write_durably(path, data)
        return path

    def photo(self, user_id: str, image_sha256: str) -> bytes | None:
        return _read(self.photo_path(user_id, image_sha256))

    def delete_photo(self, user_id: str, image_sha256: str) -> None:
        _unlink(self.photo_path(user_id, image_sha256))

    # ------------------------------------------------------------------ crops
    def put_crop(self, user_id: str, garment_id: str, jpeg: bytes) -> Path:
        path = self.crop_path(user_id, garment_id)
        write_durably(path, jpeg)
        return path

    def crop(self, user_id: str, garment_id: str) -> bytes | None:
        return _read(self.crop_path(user_id, garment_id))

    def delete_crop(self, user_id: str, garment_id: str) -> None:
        _unlink(self.crop_path(user_id, garment_id))

    def delete_user(self, user_id: str) -> None:
        """Every photo and crop of the user."""
        shutil.rmtree(self.root / check_id(user_id, "user id"), ignore_errors=True)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
