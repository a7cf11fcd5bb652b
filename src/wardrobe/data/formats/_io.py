"""Small file helpers shared by the format modules: atomic writes, cheap image probes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` atomically, byte for byte (no newline translation)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def probe_image(path: str | os.PathLike) -> tuple[int, int] | None:
    """``(width, height)`` of a decodable image, else None (missing, corrupt or truncated).

    Decodes for real (a truncated JPEG fails), but cheaply: JPEGs are decoded at 1/8 scale
    through PIL's ``draft`` mode.
    """
    try:
        with Image.open(path) as image:
            size = image.size
            image.draft("L", (max(1, size[0] // 8), max(1, size[1] // 8)))
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return size
