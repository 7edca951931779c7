"""Engines, sessions and the thread that runs them.

The ORM is synchronous; the bot is async. Every unit of work runs in a worker thread:
exactly one for SQLite (one writer, so no "database is locked" inside a process; other
processes wait on ``busy_timeout``), a small pool for Postgres. Each unit of work is one
transaction: commit first, talk second.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.repository import Repo
from storage.repo import NumberTaken, SqlRepo, StaleIncident

log = logging.getLogger(__name__)
T = TypeVar("T")
ATTEMPTS = 10


def normalize_url(url: str) -> str:
    """Accept the spellings people paste (``postgres://``, ``postgresql://``) and pick psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


SQLITE_SYNCHRONOUS = ("NORMAL", "FULL")


def create_db_engine(url: str, *, pool_size: int = 8, synchronous: str = "NORMAL") -> Engine:
    """An engine with SQLite tuned for a single-file server (WAL) or a pooled Postgres one.

    ``synchronous`` is SQLite's: NORMAL survives any crash of the process; FULL also survives
    power loss, at one fsync per commit.
    """
    if synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS)}")
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_pre_ping=False,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
        _tune_sqlite(engine, synchronous)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )


def _json_dumps(value: Any) -> str:
    # JSON columns (labels, annotations, payloads) are encoded on every alert written: orjson
    # does it several times faster than the standard library.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _tune_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE: taking the write lock up front
        # means two processes never deadlock upgrading a read lock.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across application crashes in WAL mode; only an OS crash or
        # power loss can lose the last commits, and never corrupts the file. FULL syncs the
        # WAL at every commit, so not even those are lost.
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA cache_size=-65536")
        # Checkpoints (copying the WAL into the database file, with an fsync) run on their
        # own thread (``Checkpointer``), not inside whichever commit crosses the threshold.
        cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver: every unit of work begins here, and SQLAlchemy's statement
        # machinery cost more than SQLite's BEGIN itself (bench/ingest.py).
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE")


class Database:
    """Runs units of work in a worker thread; implements the core's ``UnitOfWork``."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 8,
        checkpoint_every: float = 1.0,
        synchronous: str = "NORMAL",
    ) -> None:
        self.url = normalize_url(url)
        self.engine = create_db_engine(self.url, pool_size=pool_size, synchronous=synchronous)
        self.dialect = self.engine.dialect.name
        workers = 1 if self.dialect == "sqlite" else pool_size
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sitrep-db")
        self._checkpointer = (
            Checkpointer(self.engine, checkpoint_every) if self.dialect == "sqlite" else None
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction, committed on success, rolled back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def run_sync(self, fn: Callable[[Repo], T]) -> T:
        """Run ``fn`` in one transaction on the calling thread."""
        with self.session() as session:
            return fn(SqlRepo(session, self.dialect))

    async def run(self, fn: Callable[[Repo], T]) -> T:
        """Run ``fn`` in one transaction on the database thread."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, self._run_with_retry, fn)
        return await loop.run_in_executor(self._executor, call)

    def _run_with_retry(self, fn: Callable[[Repo], T]) -> T:
        # Postgres serialization failures, SQLite lock timeouts and lost races (two declares
        # taking the same INC number, two commands editing one incident) are transient; the
        # unit of work is a pure function of the database state, so running it again is safe.
        for attempt in range(ATTEMPTS):
            last = attempt == ATTEMPTS - 1
            try:
                return self.run_sync(fn)
            except OperationalError as exc:
                if last or not _is_transient(exc):
                    raise
                log.warning("database busy, retrying", extra={"attempt": attempt + 1})
            except (NumberTaken, StaleIncident) as exc:
                if last:
                    raise
                # Another transaction won and committed; a little jitter keeps the losers of
                # a burst from colliding again on the next number.
                log.info("lost a race, retrying", extra={"attempt": attempt + 1, "why": str(exc)})
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise AssertionError("unreachable")  # pragma: no cover

    async def ping(self) -> bool:
        """True when the database answers."""

        def _ping() -> bool:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True

        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._executor, _ping), 5)
        except Exception:
            log.exception("database ping failed")
            return False

    def close(self) -> None:
        """Stop the worker thread and dispose of connections."""
        self._executor.shutdown(wait=True)
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()


class Checkpointer:
    """Folds SQLite's write-ahead log into the database file every second, off the commit path.

    Passive checkpoints never block the writer; the WAL stays small, and a commit never pays
    for a checkpoint's fsync. Other processes (the CLI) keep SQLite's own auto-checkpoint.
    """

    def __init__(self, engine: Engine, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sitrep-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.checkpoint("PASSIVE")

    def checkpoint(self, mode: str) -> None:
        """One checkpoint; a busy database or a failure is logged and tried again later."""
        try:
            # A raw connection: SQLAlchemy's "begin" hook would open a write transaction, and a
            # checkpoint cannot run inside one.
            raw = self.engine.raw_connection()
            try:
                raw.cursor().execute(f"PRAGMA wal_checkpoint({mode})").close()
            finally:
                raw.close()
        except Exception:
            log.warning("WAL checkpoint failed; retrying in a second", exc_info=True)

    def stop(self) -> None:
        """Stop the thread and fold the whole WAL in (the file is left self-contained)."""
        self._stop.set()
        self._thread.join()
        self.checkpoint("TRUNCATE")


def _is_transient(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    return any(
        s in message for s in ("database is locked", "deadlock", "could not serialize", "busy")
    )
