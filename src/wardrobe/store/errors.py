"""Typed errors of the persistence layer.

``NotFound`` is also a :class:`LookupError` and ``Conflict`` a :class:`RuntimeError`, so callers
that only know the builtins still catch them; the serving layer maps them to HTTP 404 and 409.
Invalid input raises :class:`ValueError` (pydantic's ``ValidationError`` is one).
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the stores raise on purpose."""


class NotFound(StoreError, LookupError):
    """The object does not exist for this user (another user's object reads as absent too)."""


class Conflict(StoreError, RuntimeError):
    """The write contradicts what is stored (same id, other content; stale version)."""


class DimensionMismatch(StoreError, ValueError):
    """An embedding's length differs from the vector store's dimension."""


class StoreUnavailable(StoreError):
    """A backing service (database driver, Chroma server) cannot be reached or loaded."""


def some_ids(ids: list[str], shown: int = 10) -> str:
    """The first ``shown`` of ``ids`` and how many more: an error about 10,000 unknown ids stays
    short (no answer many times the size of its request)."""
    head = ", ".join(repr(i) for i in ids[:shown])
    more = f", ... and {len(ids) - shown} more" if len(ids) > shown else ""
    return f"[{head}{more}]"
