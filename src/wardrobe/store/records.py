"""Records: users, garments, outfits shown, feedback events and preference state, in SQL.

One small layer over SQLAlchemy 2 Core, the same code for

* **SQLite** (``sqlite:////abs/path/wardrobe.db``), the embedded default: WAL journal,
  ``synchronous=FULL``, foreign keys on, a 30 s busy timeout, and write transactions opened with
  ``BEGIN IMMEDIATE`` (a writer takes the write lock up front, so two writers queue on the busy
  timeout instead of failing with "database is locked" when a read lock cannot be upgraded).
  Several processes of one host may share the file.
* **PostgreSQL** (``postgresql+psycopg://user@host/db``) to scale out: JSON columns become
  ``JSONB``, timestamps ``timestamptz``, the pending-write rows are locked ``FOR UPDATE``. A bare
  ``postgresql://`` URL is given the psycopg 3 driver.

Durability: a method returns only after its transaction committed. With ``synchronous=FULL`` in
WAL mode SQLite fsyncs the WAL at every commit, so an acknowledged write survives ``kill -9``
*and* a power cut or kernel crash; ``NORMAL`` (the common WAL setting) survives ``kill -9`` only
(the WAL reaches the disk at checkpoints). One fsync per commit costs about a millisecond on an
SSD, nothing beside the model inference of an ingestion, so FULL is the default;
``sqlite_synchronous="NORMAL"`` is the documented opt-out. PostgreSQL's default
``synchronous_commit=on`` gives the same guarantee.

Scoping: every method takes the ``user_id`` and every statement filters on it; another user's
object reads as :class:`NotFound`, exactly like an absent one. Primary keys are
``(user_id, id)``, so two users may use the same garment id (the same photo) without clashing.

Threads and processes: one ``RecordStore`` (one engine, one connection pool) per process, shared
by its threads; each call runs in its own short transaction. After a ``fork`` the child gets a
fresh pool. Garments that carry an embedding are written through
:class:`wardrobe.store.garments.GarmentRepository`, which keeps this store and the vector store
consistent; :meth:`RecordStore.upsert_garments` writes ready rows directly (no vector).
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine, make_url

from wardrobe import taxonomy
from wardrobe.store.errors import Conflict, NotFound, StoreUnavailable, some_ids
from wardrobe.store.schema import (
    FeedbackEvent,
    Garment,
    GarmentCorrection,
    GarmentIn,
    GarmentPage,
    Outfit,
    PendingWrite,
    Preferences,
    check_id,
    check_json_object,
)

SCHEMA_VERSION = 1
MAX_PAGE = 1000
_SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")

SCHEMA_LOCK = 0x77617264  # PostgreSQL advisory lock id of schema creation ("ward")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes on every backend: ``timestamptz`` on PostgreSQL, naive UTC text on
    SQLite (which has no time zones), always returned aware."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(pg.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        value = value.astimezone(timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


JSONType = sa.JSON().with_variant(pg.JSONB(), "postgresql")
_ID = sa.String(128)

metadata = sa.MetaData()

meta_table = sa.Table(
    "wardrobe_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


def _user_fk() -> sa.Column:
    return sa.Column(
        "user_id", _ID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


_GARMENT_FIELDS = (
    sa.Column("image_sha256", sa.String(64), nullable=False),
    sa.Column("image_path", sa.Text(), nullable=True),
    sa.Column("box", JSONType, nullable=True),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("category_confidence", sa.Float(), nullable=False),
    sa.Column("slot", sa.String(16), nullable=False),
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("quality_warnings", JSONType, nullable=False),
    sa.Column("model_versions", JSONType, nullable=False),
)

garments = sa.Table(
    "garments",
    metadata,
    _user_fk(),
    sa.Column("id", _ID, primary_key=True),
    *_GARMENT_FIELDS,
    sa.Column("write_token", sa.String(32), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_garments_user_created", "user_id", "created_at"),
    sa.Index("ix_garments_user_slot", "user_id", "slot"),
)

# Pending garment writes (status "pending"): staged before the vector write, turned into a
# ``garments`` row (status "ready") after it. Several may exist for one garment (concurrent
# re-ingests); see GarmentRepository for the protocol.
garment_writes = sa.Table(
    "garment_writes",
    metadata,
    _user_fk(),
    sa.Column("garment_id", _ID, primary_key=True),
    sa.Column("token", sa.String(32), primary_key=True),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

# A user's corrections of a garment's predictions, one row per garment, apart from the
# ``garments`` row: a re-ingest rewrites the prediction there and never touches this.
garment_corrections = sa.Table(
    "garment_corrections",
    metadata,
    _user_fk(),
    sa.Column("garment_id", _ID, primary_key=True),
    sa.Column("category", sa.String(32), nullable=True),
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("corrected_by", _ID, nullable=False),
    sa.Column("corrected_at", UTCDateTime(), nullable=False),
)

outfits = sa.Table(
    "outfits",
    metadata,
    _user_fk(),
    sa.Column("id", _ID, primary_key=True),
    sa.Column("garment_ids", JSONType, nullable=False),
    sa.Column("context", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

feedback = sa.Table(
    "feedback_events",
    metadata,
    _user_fk(),
    sa.Column("id", _ID, primary_key=True),
    sa.Column("target_kind", sa.String(16), nullable=False),
    sa.Column("target_ids", JSONType, nullable=False),
    sa.Column("garment_ids", JSONType, nullable=False),
    sa.Column("signal", sa.String(16), nullable=False),
    sa.Column("weight", sa.Float(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("target_kind IN ('outfit', 'garment')", name="ck_feedback_target_kind"),
    sa.Index("ix_feedback_user_created", "user_id", "created_at"),
)

preferences = sa.Table(
    "preferences",
    metadata,
    _user_fk(),
    sa.Column("state", JSONType, nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)


def _garment_values(garment: GarmentIn) -> dict[str, Any]:
    data = garment.model_dump(mode="json")
    return {
        "image_sha256": data["image_sha256"],
        "image_path": data["image_path"],
        "box": data["box"],
        "category": data["category"],
        "category_confidence": data["category_confidence"],
        "slot": data["slot"],
        "attributes": data["attributes"],
        "quality_warnings": data["quality_warnings"],
        "model_versions": data["model_versions"],
    }


def _garment_from_row(row: Any) -> Garment:
    m = row._mapping
    return Garment(
        id=m["id"],
        user_id=m["user_id"],
        image_sha256=m["image_sha256"],
        image_path=m["image_path"],
        box=tuple(m["box"]) if m["box"] is not None else None,
        category=m["category"],
        category_confidence=m["category_confidence"],
        slot=m["slot"],
        attributes=m["attributes"],
        quality_warnings=m["quality_warnings"],
        model_versions=m["model_versions"],
        status="ready",
        write_token=m["write_token"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _correction_from_row(row: Any) -> GarmentCorrection:
    m = row._mapping
    return GarmentCorrection(
        category=m["category"],
        attributes=m["attributes"],
        corrected_by=m["corrected_by"],
        corrected_at=m["corrected_at"],
    )


def _matches(garment: Garment, slot: str | None, category: str | None, colour: str | None) -> bool:
    if slot is not None and garment.slot != slot:
        return False
    if category is not None and garment.category != category:
        return False
    return colour is None or colour in {c.colour for c in garment.attributes.colours}


def _merge_correction(
    old: GarmentCorrection | None, patch: Mapping[str, Any], corrected_by: str
) -> GarmentCorrection:
    """``old`` with the merge patch applied (``None`` values drop a field's correction)."""
    category = old.category if old is not None else None
    attributes = dict(old.attributes) if old is not None else {}
    if "category" in patch:
        category = patch["category"]
    changes = patch.get("attributes")
    if changes is not None and not isinstance(changes, Mapping):
        raise ValueError("attributes must be an object of attribute -> value")
    for name, value in (changes or {}).items():
        if value is None:
            attributes.pop(name, None)
        else:
            attributes[name] = value
    return GarmentCorrection(
        category=category, attributes=attributes, corrected_by=corrected_by, corrected_at=utcnow()
    )


def _outfit_from_row(row: Any) -> Outfit:
    m = row._mapping
    return Outfit(
        id=m["id"],
        user_id=m["user_id"],
        garment_ids=m["garment_ids"],
        context=m["context"],
        created_at=m["created_at"],
    )


def _feedback_from_row(row: Any) -> FeedbackEvent:
    m = row._mapping
    return FeedbackEvent(**{k: m[k] for k in FeedbackEvent.model_fields})


def _check_ids(values: Sequence[str], what: str) -> list[str]:
    if isinstance(values, str):
        raise ValueError(f"{what} must be a list of ids, not a string")
    out = [check_id(v, what) for v in values]
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate {what}s in {out}")
    return out


def _normalise_url(url: str) -> sa.URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or parsed.query.get("mode") == "memory":
            raise ValueError(
                f"{url!r}: an in-memory SQLite database is not durable; give a file path, "
                "e.g. sqlite:////abs/path/wardrobe.db"
            )
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return parsed
    if backend == "postgresql":
        if parsed.get_driver_name() == "psycopg2" and "+" not in parsed.drivername:
            parsed = parsed.set(drivername="postgresql+psycopg")  # SQLAlchemy's default is v2
        return parsed
    raise ValueError(f"{url!r}: unsupported database {backend!r}; use sqlite or postgresql")


def _journal_mode_wal(cursor: Any, wait_s: float) -> str:
    """``PRAGMA journal_mode=WAL``, retried while another connection holds the lock: SQLite
    answers "database is locked" at once, without its busy handler, when connections open a
    fresh database together (seen with four workers starting at once)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class RecordStore:
    """The SQL records of the wardrobe. See the module docstring for the guarantees.

    Args:
        url: SQLAlchemy URL, ``sqlite:////abs/path.db`` or ``postgresql+psycopg://...``.
        sqlite_synchronous: ``FULL`` (default, survives power loss) or ``NORMAL`` (survives
            ``kill -9`` only); ignored for PostgreSQL.
        busy_timeout_s: how long a SQLite writer waits for the write lock.
        create: create missing tables now (idempotent).
        pool_size: connections kept per process (PostgreSQL; SQLite uses its default pool).
    """

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "FULL",
        busy_timeout_s: float = 30.0,
        create: bool = True,
        pool_size: int = 5,
        echo: bool = False,
    ) -> None:
        parsed = _normalise_url(str(url))
        self.url = parsed.render_as_string(hide_password=True)
        self.dialect = parsed.get_backend_name()
        sync = str(sqlite_synchronous).upper()
        if sync not in _SYNCHRONOUS:
            raise ValueError(f"sqlite_synchronous must be one of {_SYNCHRONOUS}, got {sync!r}")
        self.sqlite_synchronous = sync
        self._write_lock = threading.Lock()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": busy_timeout_s, "check_same_thread": False}
        else:
            kwargs.update(pool_size=pool_size, pool_pre_ping=True)
        try:
            self.engine: Engine = sa.create_engine(parsed, **kwargs)
        except ModuleNotFoundError as err:
            raise StoreUnavailable(
                f"no database driver for {self.url}: {err}. For PostgreSQL install "
                "'psycopg[binary]>=3.2' (the URL scheme postgresql+psycopg://)"
            ) from err
        if self.dialect == "sqlite":
            self._install_sqlite_hooks(int(busy_timeout_s * 1000))
        self_ref = weakref.ref(self)

        def _after_fork() -> None:  # pooled connections and held locks must not cross a fork
            store = self_ref()
            if store is not None:
                store._write_lock = threading.Lock()
                store.engine.dispose(close=False)

        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork)
        if create:
            try:
                self.create_schema()
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as err:
                self.engine.dispose()
                raise StoreUnavailable(f"cannot open the records at {self.url}: {err}") from err

    # ------------------------------------------------------------------ plumbing
    def _install_sqlite_hooks(self, busy_ms: int) -> None:
        sync = self.sqlite_synchronous

        @sa.event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # the driver stops issuing BEGIN; we do it below
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            mode = _journal_mode_wal(cur, busy_ms / 1000)
            if str(mode).lower() != "wal":
                raise StoreUnavailable(f"SQLite refused WAL mode (got {mode!r}) for {self.url}")
            cur.execute(f"PRAGMA synchronous={sync}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @sa.event.listens_for(self.engine, "begin")
        def _on_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("wardrobe_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @contextlib.contextmanager
    def _tx(self, write: bool) -> Iterator[Connection]:
        """One transaction; committed on exit (this is the acknowledgement point). SQLite writers
        of this process queue on a lock (other processes wait on SQLite's busy timeout)."""
        lock = self._write_lock if write and self.dialect == "sqlite" else contextlib.nullcontext()
        with lock, self.engine.connect() as conn:
            if write:
                conn.execution_options(wardrobe_write=True)
            with conn.begin():
                yield conn

    def _insert(self, table: sa.Table):
        return (pg.insert if self.dialect == "postgresql" else sqlite_dialect.insert)(table)

    def _ensure_user(self, conn: Connection, user_id: str) -> None:
        stmt = self._insert(users).values(id=user_id, created_at=utcnow())
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))

    def create_schema(self) -> None:
        """Create missing tables and indexes (idempotent); refuse a newer schema version."""
        with self._tx(write=True) as conn:
            if conn.dialect.name == "postgresql":  # workers starting together: one at a time
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            metadata.create_all(conn, checkfirst=True)
            stored = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).scalar_one_or_none()
            if stored is None:
                conn.execute(meta_table.insert().values(key="schema_version", value="1"))
            elif int(stored) > SCHEMA_VERSION:
                raise Conflict(
                    f"{self.url} has schema version {stored}, newer than this code's "
                    f"{SCHEMA_VERSION}: upgrade wardrobe"
                )

    def close(self) -> None:
        """Close the pooled connections (the store can be reopened with a new instance)."""
        self.engine.dispose()

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RecordStore({self.url!r})"

    # ------------------------------------------------------------------ users
    def ensure_user(self, user_id: str) -> None:
        """Create the user if absent (writes create their user implicitly too)."""
        check_id(user_id, "user id")
        with self._tx(write=True) as conn:
            self._ensure_user(conn, user_id)

    def delete_user(self, user_id: str) -> None:
        """Remove the user and everything it owns (garments, outfits, feedback, preferences)."""
        check_id(user_id, "user id")
        with self._tx(write=True) as conn:
            tables = (garment_writes, garment_corrections, garments, outfits, feedback, preferences)
            for table in tables:
                conn.execute(table.delete().where(table.c.user_id == user_id))
            if conn.execute(users.delete().where(users.c.id == user_id)).rowcount == 0:
                raise NotFound(f"unknown user {user_id!r}")

    def user_ids(self) -> list[str]:
        with self._tx(write=False) as conn:
            return list(conn.execute(sa.select(users.c.id).order_by(users.c.id)).scalars())

    # ------------------------------------------------------------------ garments
    def _upsert_garment_rows(
        self, conn: Connection, user_id: str, items: Sequence[tuple[GarmentIn, str | None]]
    ) -> None:
        now = utcnow()
        for garment, token in items:
            values = _garment_values(garment) | {"write_token": token, "updated_at": now}
            stmt = self._insert(garments).values(
                user_id=user_id, id=garment.id, created_at=now, **values
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["user_id", "id"],
                set_={k: stmt.excluded[k] for k in values},  # created_at is kept
            )
            conn.execute(stmt)

    def _select_garments(self, conn: Connection, user_id: str, ids: Sequence[str]) -> dict:
        if not ids:
            return {}
        rows = conn.execute(
            sa.select(garments).where(garments.c.user_id == user_id, garments.c.id.in_(list(ids)))
        )
        found = self._corrected(conn, user_id, [_garment_from_row(row) for row in rows])
        return {g.id: g for g in found}

    def _corrections(
        self, conn: Connection, user_id: str, ids: Sequence[str] | None
    ) -> dict[str, GarmentCorrection]:
        """The user's corrections of these garments (all of them when ``ids`` is None)."""
        gc = garment_corrections.c
        where = [gc.user_id == user_id]
        if ids is not None:
            if not ids:
                return {}
            where.append(gc.garment_id.in_(list(ids)))
        rows = conn.execute(sa.select(garment_corrections).where(*where))
        return {row.garment_id: _correction_from_row(row) for row in rows}

    def _corrected(self, conn: Connection, user_id: str, items: list[Garment]) -> list[Garment]:
        """``items`` with the user's corrections applied (one query for all of them)."""
        corrections = self._corrections(conn, user_id, [g.id for g in items])
        return [g.corrected(corrections.get(g.id)) for g in items]

    def upsert_garments(self, user_id: str, items: Sequence[GarmentIn]) -> list[Garment]:
        """Insert or replace garments as ready rows (no vector), in one transaction."""
        check_id(user_id, "user id")
        items = [GarmentIn.model_validate(g) for g in items]
        _check_ids([g.id for g in items], "garment id")
        with self._tx(write=True) as conn:
            self._ensure_user(conn, user_id)
            self._upsert_garment_rows(conn, user_id, [(g, None) for g in items])
            found = self._select_garments(conn, user_id, [g.id for g in items])
        return [found[g.id] for g in items]

    def get_garment(self, user_id: str, garment_id: str) -> Garment:
        """The user's ready garment, or :class:`NotFound`."""
        check_id(user_id, "user id")
        check_id(garment_id, "garment id")
        with self._tx(write=False) as conn:
            found = self._select_garments(conn, user_id, [garment_id])
        if garment_id not in found:
            raise NotFound(f"unknown garment {garment_id!r} for user {user_id!r}")
        return found[garment_id]

    def garments_by_ids(
        self, user_id: str, garment_ids: Sequence[str], *, missing: str = "skip"
    ) -> list[Garment]:
        """The user's ready garments with these ids, in the order given. ``missing="skip"`` drops
        unknown ids; ``missing="raise"`` raises :class:`NotFound` naming them."""
        check_id(user_id, "user id")
        ids = [check_id(g, "garment id") for g in garment_ids]
        if missing not in ("skip", "raise"):
            raise ValueError(f"missing must be 'skip' or 'raise', got {missing!r}")
        with self._tx(write=False) as conn:
            found = self._select_garments(conn, user_id, sorted(set(ids)))
        absent = [g for g in ids if g not in found]
        if absent and missing == "raise":
            raise NotFound(f"unknown garments {some_ids(absent)} for user {user_id!r}")
        return [found[g] for g in ids if g in found]

    def list_garments(
        self,
        user_id: str,
        limit: int = 50,
        offset: int = 0,
        *,
        slot: str | None = None,
        category: str | None = None,
        colour: str | None = None,
    ) -> GarmentPage:
        """A page of the user's ready garments, newest first, and how many there are in all.

        The filters apply to the garment as the user sees it (corrections applied); ``colour``
        matches any of the garment's colours."""
        check_id(user_id, "user id")
        if not 1 <= int(limit) <= MAX_PAGE:
            raise ValueError(f"limit must be in 1..{MAX_PAGE}, got {limit}")
        if int(offset) < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        where = [garments.c.user_id == user_id]
        if slot is not None and slot not in taxonomy.SLOTS:
            raise ValueError(f"unknown slot {slot!r}; expected one of {taxonomy.SLOTS}")
        if category is not None and category not in taxonomy.CATEGORY_BY_NAME:
            raise ValueError(f"unknown category {category!r}")
        if colour is not None and colour not in taxonomy.COLOURS:
            raise ValueError(f"unknown colour {colour!r}; expected one of {taxonomy.COLOURS}")
        if (slot, category, colour) != (None, None, None):
            # a correction may change the category (and slot): filter what the user sees
            return self._filtered_page(user_id, int(limit), int(offset), slot, category, colour)
        with self._tx(write=False) as conn:
            total = conn.execute(
                sa.select(sa.func.count()).select_from(garments).where(*where)
            ).scalar_one()
            rows = conn.execute(
                sa.select(garments)
                .where(*where)
                .order_by(garments.c.created_at.desc(), garments.c.id.desc())
                .limit(int(limit))
                .offset(int(offset))
            )
            items = self._corrected(conn, user_id, [_garment_from_row(r) for r in rows])
        return GarmentPage(items=items, total=total, limit=int(limit), offset=int(offset))

    def _filtered_page(
        self,
        user_id: str,
        limit: int,
        offset: int,
        slot: str | None,
        category: str | None,
        colour: str | None,
    ) -> GarmentPage:
        # A wardrobe holds hundreds of garments, not millions: filtering the user's rows in
        # Python keeps one definition of "what the user sees" for both backends' JSON columns.
        chosen = [g for g in self.all_garments(user_id) if _matches(g, slot, category, colour)]
        chosen.sort(key=lambda g: (g.created_at, g.id), reverse=True)
        items = chosen[offset : offset + limit]
        return GarmentPage(items=items, total=len(chosen), limit=limit, offset=offset)

    def all_garments(self, user_id: str) -> list[Garment]:
        """Every ready garment of the user in one query, ordered by id (paging with
        :meth:`list_garments` costs a query and an OFFSET scan per page)."""
        check_id(user_id, "user id")
        with self._tx(write=False) as conn:
            rows = conn.execute(
                sa.select(garments).where(garments.c.user_id == user_id).order_by(garments.c.id)
            )
            return self._corrected(conn, user_id, [_garment_from_row(r) for r in rows])

    def garments_fingerprint(self, user_id: str) -> tuple[int, str | None]:
        """``(count, latest updated_at)`` of the user's ready garments: it changes whenever a
        garment is added, replaced or deleted, so it keys a cache of the wardrobe cheaply."""
        check_id(user_id, "user id")
        gc = garment_corrections.c
        with self._tx(write=False) as conn:
            count, latest = conn.execute(
                sa.select(sa.func.count(), sa.func.max(garments.c.updated_at)).where(
                    garments.c.user_id == user_id
                )
            ).one()
            corrected = conn.execute(  # a correction changes what the recommender sees
                sa.select(sa.func.count(), sa.func.max(gc.corrected_at)).where(
                    gc.user_id == user_id
                )
            ).one()
        stamps = [str(t) for t in (latest, corrected[1]) if t is not None]
        return int(count), f"{max(stamps)}|{corrected[0]}" if stamps else None

    def count_garments(self, user_id: str) -> int:
        check_id(user_id, "user id")
        with self._tx(write=False) as conn:
            return conn.execute(
                sa.select(sa.func.count())
                .select_from(garments)
                .where(garments.c.user_id == user_id)
            ).scalar_one()

    def delete_garment(self, user_id: str, garment_id: str) -> Garment:
        """Delete the user's garment (and any pending write of it); returns what was deleted.
        :class:`NotFound` when the user has no such ready garment."""
        check_id(user_id, "user id")
        check_id(garment_id, "garment id")
        with self._tx(write=True) as conn:
            found = self._select_garments(conn, user_id, [garment_id])
            conn.execute(
                garment_writes.delete().where(
                    garment_writes.c.user_id == user_id, garment_writes.c.garment_id == garment_id
                )
            )
            conn.execute(
                garments.delete().where(garments.c.user_id == user_id, garments.c.id == garment_id)
            )
            conn.execute(
                garment_corrections.delete().where(
                    garment_corrections.c.user_id == user_id,
                    garment_corrections.c.garment_id == garment_id,
                )
            )
        if garment_id not in found:
            raise NotFound(f"unknown garment {garment_id!r} for user {user_id!r}")
        return found[garment_id]

    # ------------------------------------------------------------------ corrections
    def correct_garment(
        self, user_id: str, garment_id: str, patch: Mapping[str, Any], corrected_by: str
    ) -> Garment:
        """Merge ``patch`` into the user's correction of the garment and return the garment as
        corrected. ``patch`` is a JSON merge patch (RFC 7396) of ``{"category", "attributes"}``:
        a value corrects that field, ``null`` drops its correction (back to the prediction).
        Values are checked against the taxonomy (``ValueError``); :class:`NotFound` for a
        garment the user does not have. The row records who corrected it and when."""
        check_id(user_id, "user id")
        check_id(garment_id, "garment id")
        check_id(corrected_by, "corrected_by")
        unknown = sorted(set(patch) - {"category", "attributes"})
        if unknown:
            raise ValueError(f"unknown fields {unknown}: a correction has category, attributes")
        gc = garment_corrections.c
        with self._tx(write=True) as conn:
            if not self._select_garments(conn, user_id, [garment_id]):
                raise NotFound(f"unknown garment {garment_id!r} for user {user_id!r}")
            old = self._corrections(conn, user_id, [garment_id]).get(garment_id)
            merged = _merge_correction(old, patch, corrected_by)
            key = (gc.user_id == user_id, gc.garment_id == garment_id)
            conn.execute(garment_corrections.delete().where(*key))
            if not merged.empty:
                conn.execute(
                    garment_corrections.insert().values(
                        user_id=user_id,
                        garment_id=garment_id,
                        **merged.model_dump(mode="json") | {"corrected_at": merged.corrected_at},
                    )
                )
            return self._select_garments(conn, user_id, [garment_id])[garment_id]

    def corrected_garments(self, user_id: str | None = None) -> list[Garment]:
        """Every garment with a correction (of one user, or of all users), as corrected, for
        exporting them as training data. Ordered by user and garment id."""
        gc = garment_corrections.c
        query = sa.select(gc.user_id, gc.garment_id).order_by(gc.user_id, gc.garment_id)
        if user_id is not None:
            query = query.where(gc.user_id == check_id(user_id, "user id"))
        with self._tx(write=False) as conn:
            keys = conn.execute(query).all()
            by_user: dict[str, list[str]] = {}
            for key in keys:
                by_user.setdefault(key.user_id, []).append(key.garment_id)
            found = []
            for user, ids in by_user.items():
                garments_of_user = self._select_garments(conn, user, ids)
                found.extend(garments_of_user[g] for g in ids if g in garments_of_user)
        return found

    def count_garments_of_photo(self, user_id: str, image_sha256: str) -> int:
        """How many of the user's garments come from the photo with this sha256 (a stored photo
        is deleted with the last of them)."""
        check_id(user_id, "user id")
        with self._tx(write=False) as conn:
            return conn.execute(
                sa.select(sa.func.count())
                .select_from(garments)
                .where(garments.c.user_id == user_id, garments.c.image_sha256 == image_sha256)
            ).scalar_one()

    # ------------------------------------------------------------------ pending garment writes
    def stage_garment_writes(
        self, user_id: str, items: Sequence[GarmentIn], token: str | None = None
    ) -> str:
        """Stage garments as pending writes (invisible to reads) under one token; returns it."""
        check_id(user_id, "user id")
        items = [GarmentIn.model_validate(g) for g in items]
        _check_ids([g.id for g in items], "garment id")
        token = token or uuid.uuid4().hex
        now = utcnow()
        with self._tx(write=True) as conn:
            self._ensure_user(conn, user_id)
            for garment in items:
                conn.execute(
                    garment_writes.insert().values(
                        user_id=user_id,
                        garment_id=garment.id,
                        token=token,
                        payload=garment.model_dump(mode="json"),
                        created_at=now,
                    )
                )
        return token

    def commit_garment_writes(
        self,
        user_id: str,
        garment_ids: Sequence[str],
        read_vector_tokens: Callable[[list[str]], Mapping[str, str | None]],
        *,
        own_token: str | None = None,
    ) -> dict[str, Garment | None]:
        """Resolve pending writes of these garments against the vector store, atomically.

        In one locked transaction, for each garment: read the write token its vector carries
        (``read_vector_tokens``, called inside the lock); if a pending write has that token, it
        becomes the ready row (roll forward); then delete the pending write ``own_token`` (all of
        the garment's pending writes when ``own_token`` is None, as repair does). Returns the
        garment's ready row after this, or None when it has none.
        """
        check_id(user_id, "user id")
        ids = _check_ids(garment_ids, "garment id")
        if not ids:
            return {}
        gw = garment_writes.c
        with self._tx(write=True) as conn:
            pending = conn.execute(
                sa.select(garment_writes)
                .where(gw.user_id == user_id, gw.garment_id.in_(ids))
                .order_by(gw.garment_id, gw.token)
                .with_for_update()
            ).all()
            vector_tokens = dict(read_vector_tokens(ids))
            by_key = {(r.garment_id, r.token): r for r in pending}
            for garment_id in ids:
                token = vector_tokens.get(garment_id)
                if token is None:
                    continue
                row = by_key.get((garment_id, token))
                if row is None:  # staged after our lock query (concurrent writer), or none
                    row = conn.execute(
                        sa.select(garment_writes).where(
                            gw.user_id == user_id, gw.garment_id == garment_id, gw.token == token
                        )
                    ).first()
                if row is not None:
                    garment = GarmentIn.model_validate(row.payload)
                    self._upsert_garment_rows(conn, user_id, [(garment, token)])
            drop = garment_writes.delete().where(gw.user_id == user_id, gw.garment_id.in_(ids))
            if own_token is not None:
                drop = drop.where(gw.token == own_token)
            conn.execute(drop)
            found = self._select_garments(conn, user_id, ids)
        return {g: found.get(g) for g in ids}

    def pending_writes(self, older_than_s: float = 0.0) -> list[PendingWrite]:
        """Pending garment writes of all users (for repair), oldest first."""
        cutoff = utcnow().timestamp() - float(older_than_s)
        with self._tx(write=False) as conn:
            rows = conn.execute(
                sa.select(
                    garment_writes.c.user_id,
                    garment_writes.c.garment_id,
                    garment_writes.c.token,
                    garment_writes.c.created_at,
                ).order_by(garment_writes.c.created_at)
            ).all()
        return [
            PendingWrite(**r._mapping)
            for r in rows
            if older_than_s <= 0 or r.created_at.timestamp() <= cutoff
        ]

    def garment_keys(self) -> dict[tuple[str, str], str | None]:
        """``(user_id, garment_id) -> write_token`` of every ready garment (for repair)."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                sa.select(garments.c.user_id, garments.c.id, garments.c.write_token)
            ).all()
        return {(r.user_id, r.id): r.write_token for r in rows}

    def pending_keys(self) -> set[tuple[str, str]]:
        """``(user_id, garment_id)`` of every garment with a pending write."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                sa.select(garment_writes.c.user_id, garment_writes.c.garment_id).distinct()
            ).all()
        return {(r.user_id, r.garment_id) for r in rows}

    # ------------------------------------------------------------------ outfits
    def record_outfit(
        self,
        user_id: str,
        garment_ids: Sequence[str],
        *,
        outfit_id: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Outfit:
        """Record an outfit shown to the user. Its garments must be the user's ready garments
        (:class:`NotFound` otherwise). Recording the same id again with the same garments
        returns the stored outfit; with other garments it is a :class:`Conflict`."""
        return self.record_outfits(user_id, [(outfit_id, garment_ids, context)])[0]

    def record_outfits(
        self,
        user_id: str,
        items: Sequence[tuple[str | None, Sequence[str], Mapping[str, Any] | None]],
    ) -> list[Outfit]:
        """Record several outfits shown together, ``(outfit_id, garment_ids, context)`` each,
        in one transaction (all or none; one commit instead of one per outfit). The rules of
        :meth:`record_outfit` apply to each."""
        check_id(user_id, "user id")
        checked = []
        for outfit_id, garment_ids, context in items:
            ids = _check_ids(garment_ids, "garment id")
            if not ids:
                raise ValueError("an outfit needs at least one garment")
            outfit_id = check_id(outfit_id or uuid.uuid4().hex, "outfit id")
            checked.append(
                (outfit_id, ids, check_json_object(dict(context or {}), "outfit context"))
            )
        if not checked:
            return []
        with self._tx(write=True) as conn:
            found = self._select_garments(
                conn, user_id, sorted({g for _, i, _ in checked for g in i})
            )
            self._ensure_user(conn, user_id)
            return [self._record_outfit(conn, user_id, *item, found) for item in checked]

    def _record_outfit(
        self, conn: Connection, user_id: str, outfit_id: str, ids: list[str], ctx: dict, found
    ) -> Outfit:
        absent = [g for g in ids if g not in found]
        if absent:
            unknown = some_ids(absent)
            raise NotFound(f"outfit {outfit_id!r}: unknown garments {unknown} for {user_id!r}")
        existing = self._select_outfit(conn, user_id, outfit_id)
        if existing is not None:
            if existing.garment_ids != ids:
                raise Conflict(
                    f"outfit {outfit_id!r} was recorded with garments "
                    f"{existing.garment_ids}, not {ids}"
                )
            return existing
        conn.execute(
            outfits.insert().values(
                user_id=user_id, id=outfit_id, garment_ids=ids, context=ctx, created_at=utcnow()
            )
        )
        return self._select_outfit(conn, user_id, outfit_id)

    def _select_outfit(self, conn: Connection, user_id: str, outfit_id: str) -> Outfit | None:
        row = conn.execute(
            sa.select(outfits).where(outfits.c.user_id == user_id, outfits.c.id == outfit_id)
        ).first()
        return None if row is None else _outfit_from_row(row)

    def get_outfit(self, user_id: str, outfit_id: str) -> Outfit:
        """The outfit shown to this user, or :class:`NotFound` ("unknown outfit")."""
        check_id(user_id, "user id")
        check_id(outfit_id, "outfit id")
        with self._tx(write=False) as conn:
            found = self._select_outfit(conn, user_id, outfit_id)
        if found is None:
            raise NotFound(f"unknown outfit {outfit_id!r} for user {user_id!r}")
        return found

    # ------------------------------------------------------------------ feedback
    def add_feedback(
        self,
        user_id: str,
        target_kind: str,
        target_ids: Sequence[str],
        signal: str,
        weight: float,
        *,
        event_id: str | None = None,
        created_at: datetime | None = None,
    ) -> FeedbackEvent:
        """Record a feedback event on an outfit shown (``target_ids=[outfit_id]``) or on
        garments. Unknown outfits/garments raise :class:`NotFound`. ``event_id`` makes a retry
        idempotent: the same id with the same content returns the stored event, with other
        content it is a :class:`Conflict`. ``weight`` comes from the configured signal table."""
        check_id(user_id, "user id")
        if signal not in taxonomy.FEEDBACK_SIGNALS:
            raise ValueError(
                f"unknown signal {signal!r}; expected one of {taxonomy.FEEDBACK_SIGNALS}"
            )
        if target_kind not in ("outfit", "garment"):
            raise ValueError(f"target_kind must be 'outfit' or 'garment', got {target_kind!r}")
        weight = float(weight)
        if not math.isfinite(weight):
            raise ValueError(f"weight must be finite, got {weight}")
        targets = _check_ids(target_ids, f"{target_kind} id")
        if not targets:
            raise ValueError("feedback needs at least one target id")
        if target_kind == "outfit" and len(targets) != 1:
            raise ValueError(f"feedback on an outfit names exactly one outfit id, got {targets}")
        event_id = check_id(event_id or uuid.uuid4().hex, "feedback event id")
        at = created_at or utcnow()
        with self._tx(write=True) as conn:
            if target_kind == "outfit":
                outfit = self._select_outfit(conn, user_id, targets[0])
                if outfit is None:
                    raise NotFound(f"unknown outfit {targets[0]!r} for user {user_id!r}")
                garment_ids = list(outfit.garment_ids)
            else:
                found = self._select_garments(conn, user_id, targets)
                absent = [g for g in targets if g not in found]
                if absent:
                    raise NotFound(f"unknown garments {some_ids(absent)} for user {user_id!r}")
                garment_ids = targets
            row = conn.execute(
                sa.select(feedback).where(feedback.c.user_id == user_id, feedback.c.id == event_id)
            ).first()
            if row is not None:
                old = _feedback_from_row(row)
                same = (old.target_kind, old.target_ids, old.signal, old.weight) == (
                    target_kind,
                    targets,
                    signal,
                    weight,
                )
                if not same:
                    raise Conflict(f"feedback event {event_id!r} exists with other content")
                return old
            self._ensure_user(conn, user_id)
            conn.execute(
                feedback.insert().values(
                    user_id=user_id,
                    id=event_id,
                    target_kind=target_kind,
                    target_ids=targets,
                    garment_ids=garment_ids,
                    signal=signal,
                    weight=weight,
                    created_at=at,
                )
            )
        return FeedbackEvent(
            id=event_id,
            user_id=user_id,
            target_kind=target_kind,
            target_ids=targets,
            garment_ids=garment_ids,
            signal=signal,
            weight=weight,
            created_at=at,
        )

    def list_feedback(
        self, user_id: str, *, since: datetime | None = None, limit: int = MAX_PAGE
    ) -> list[FeedbackEvent]:
        """The user's feedback events, oldest first (``since``: strictly after that time)."""
        check_id(user_id, "user id")
        if not 1 <= int(limit) <= 100 * MAX_PAGE:
            raise ValueError(f"limit must be in 1..{100 * MAX_PAGE}, got {limit}")
        where = [feedback.c.user_id == user_id]
        if since is not None:
            where.append(feedback.c.created_at > since)
        with self._tx(write=False) as conn:
            rows = conn.execute(
                sa.select(feedback)
                .where(*where)
                .order_by(feedback.c.created_at, feedback.c.id)
                .limit(int(limit))
            )
            return [_feedback_from_row(r) for r in rows]

    # ------------------------------------------------------------------ preferences
    def get_preferences(self, user_id: str) -> Preferences:
        """The user's preference state (empty, version 0, when never written)."""
        check_id(user_id, "user id")
        with self._tx(write=False) as conn:
            row = conn.execute(
                sa.select(preferences).where(preferences.c.user_id == user_id)
            ).first()
        if row is None:
            return Preferences(user_id=user_id)
        return Preferences(
            user_id=user_id, state=row.state, version=row.version, updated_at=row.updated_at
        )

    def put_preferences(
        self, user_id: str, state: Mapping[str, Any], *, expected_version: int | None = None
    ) -> Preferences:
        """Replace the user's preference state; returns it with the new version.

        ``expected_version`` (optimistic concurrency): the write only succeeds if the stored
        version is that one (0 = never written), else :class:`Conflict` - two server workers
        updating the same user's preferences cannot silently lose an update."""
        check_id(user_id, "user id")
        payload = check_json_object(dict(state), "preference state")
        now = utcnow()
        with self._tx(write=True) as conn:
            self._ensure_user(conn, user_id)
            # A version-0 row first, so that concurrent first writers lock the same row.
            conn.execute(
                self._insert(preferences)
                .values(user_id=user_id, state={}, version=0, updated_at=now)
                .on_conflict_do_nothing(index_elements=["user_id"])
            )
            version = conn.execute(
                sa.select(preferences.c.version)
                .where(preferences.c.user_id == user_id)
                .with_for_update()
            ).scalar_one()
            if expected_version is not None and int(expected_version) != version:
                raise Conflict(
                    f"preferences of {user_id!r} are at version {version}, "
                    f"not the expected {expected_version}"
                )
            conn.execute(
                preferences.update()
                .where(preferences.c.user_id == user_id)
                .values(state=payload, version=version + 1, updated_at=now)
            )
        return Preferences(user_id=user_id, state=payload, version=version + 1, updated_at=now)
