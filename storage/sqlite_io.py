"""SQLite on dedicated threads: one writer that commits concurrent writes together, and a few readers.

SQLite allows one writer at a time. Several connections writing at once wait on the file lock (over a second
at the tail of a burst), and one commit per write caps throughput at the disk's sync rate. So every write
goes to the `GroupWriter`: a thread with the only writing connection, which takes all the writes queued
while the previous commit was running, runs each inside its own savepoint (a failing write undoes only
itself), and commits them all with one COMMIT (one fsync). A caller's future resolves only after that
COMMIT returned, so a reply is never sent for a write that is not on disk.

Reads run on a small pool of threads with their own connections; WAL mode lets them read the last
committed state while the writer writes. Statements are SQLAlchemy Core, executed on synchronous
connections, so the store's methods are the same functions on SQLite and (through `run_sync`) PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import queue
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Date, DateTime, Engine, Float, create_engine, event
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

T = TypeVar("T")
Op = Callable[[Connection], T]

# How long a connection waits for another's write lock before failing (milliseconds). Only migrations and
# tools write beside the writer thread, so this is rarely waited on.
BUSY_MS = 30_000
# The most writes committed together; a bound keeps one batch's latency predictable.
MAX_BATCH = 2_000
# How often the checkpoint thread copies committed writes from the WAL into the database file (seconds).
CHECKPOINT_EVERY_S = 0.5
# Reader threads: enough that a slow report does not hold up the quick reads behind it.
READERS = 4


def pragmas(dbapi_connection: Any, synchronous: str) -> None:
    """WAL, a busy timeout and foreign keys; every studybot connection to SQLite gets these."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.close()


def sync_engine(path: str) -> Engine:
    """A synchronous engine on the file, in autocommit at the driver: we issue BEGIN and COMMIT ourselves."""
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        # FULL: a commit is on disk before COMMIT returns. Group commit makes that one fsync per batch.
        pragmas(dbapi_connection, "FULL")

    return engine


Result = tuple["asyncio.Future[Any]", Any, BaseException | None]
Item = tuple[Op[Any], "asyncio.Future[Any]"]


def _deliver(results: list[Result]) -> None:
    for future, value, error in results:
        if future.done():  # the caller was cancelled; a write stands regardless
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


class _Threads:
    """Threads with a connection each, taking operations from one queue in batches.

    A thread takes everything queued (up to `max_batch`), runs it, and hands all the results back to the
    event loop in one call: under load one wake-up of the loop serves many operations.
    """

    name = "sqlite"

    def __init__(self, engine: Engine, threads: int, max_batch: int) -> None:
        self._engine = engine
        self._count = threads
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        self.batches = 0
        self.operations = 0

    def _ensure_started(self) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the database is closed")
            while len(self._threads) < self._count:
                thread = threading.Thread(
                    target=self._run, name=f"studybot-{self.name}-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    async def run(self, op: Op[T]) -> T:
        """Run `op` on one of the threads; its result (or its exception)."""
        if not self._threads:
            self._ensure_started()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put((op, future))
        # A cancelled caller does not stop the operation: a write stands, and its result is dropped.
        return await future

    def _run(self) -> None:
        with self._engine.connect() as conn:
            raw = cast(sqlite3.Connection, conn.connection.driver_connection)
            self._prepare(raw)
            while True:
                item = self._queue.get()
                if item is None:
                    return
                batch = [item]
                while len(batch) < self._max_batch:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._queue.put(None)  # finish this batch, then stop
                        break
                    batch.append(more)
                results = self._execute(conn, raw, batch)
                conn.rollback()  # SQLAlchemy's bookkeeping; the driver is in autocommit
                with self._lock:
                    self.batches += 1
                    self.operations += len(batch)
                by_loop: dict[asyncio.AbstractEventLoop, list[Result]] = {}
                for result in results:
                    by_loop.setdefault(result[0].get_loop(), []).append(result)
                for loop, delivered in by_loop.items():
                    if not loop.is_closed():
                        loop.call_soon_threadsafe(_deliver, delivered)

    def _prepare(self, raw: sqlite3.Connection) -> None:
        """Set up a thread's connection before its first batch."""

    def _execute(self, conn: Connection, raw: sqlite3.Connection, batch: list[Item]) -> list[Result]:
        results: list[Result] = []
        for op, future in batch:
            try:
                results.append((future, op(conn), None))
            except Exception as exc:
                results.append((future, None, exc))
        return results

    def queued(self) -> int:
        """Operations waiting for this thread (a metric: the write queue's depth)."""
        return self._queue.qsize()

    def close(self) -> None:
        """Finish what is queued, then stop the threads."""
        with self._lock:
            self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._closed_threads()

    def _closed_threads(self) -> None:
        """After the threads stopped."""


class Readers(_Threads):
    """A few reading threads: a slow report on one does not hold up the quick reads on the others."""

    name = "sqlite-reader"

    def __init__(self, engine: Engine, threads: int = READERS, max_batch: int = 64) -> None:
        super().__init__(engine, threads, max_batch)


class GroupWriter(_Threads):
    """The one writing connection, committing everything queued while the last commit ran, together."""

    name = "sqlite-writer"

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH) -> None:
        super().__init__(engine, 1, max_batch)
        self._committed = threading.Event()
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None

    def _prepare(self, raw: sqlite3.Connection) -> None:
        # Copying the WAL back into the database (a checkpoint) syncs the database file: done inside a
        # COMMIT it stalls every write queued behind it. A thread of its own does it beside the writer.
        raw.execute("PRAGMA wal_autocheckpoint=0")
        self._checkpointer = threading.Thread(
            target=self._checkpoints, name="studybot-sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def _checkpoints(self) -> None:
        with self._engine.connect() as conn:
            raw = cast(sqlite3.Connection, conn.connection.driver_connection)
            while True:
                self._committed.wait()  # a commit, or closing
                if self._stop.is_set():
                    break
                self._committed.clear()
                # PASSIVE: copies what no reader still needs, never waits for or blocks the writer.
                raw.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self._stop.wait(CHECKPOINT_EVERY_S)  # at most one checkpoint per interval
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # closing: leave a small WAL behind

    def _closed_threads(self) -> None:
        if self._checkpointer is not None:
            self._stop.set()
            self._committed.set()
            self._checkpointer.join()
            self._checkpointer = None

    def _execute(self, conn: Connection, raw: sqlite3.Connection, batch: list[Item]) -> list[Result]:
        try:
            raw.execute("BEGIN IMMEDIATE")
            results: list[Result] = []
            for op, future in batch:
                raw.execute("SAVEPOINT op")
                try:
                    results.append((future, op(conn), None))
                except Exception as exc:
                    raw.execute("ROLLBACK TO op")  # this write undoes itself; the others stand
                    results.append((future, None, exc))
                raw.execute("RELEASE op")
            raw.execute("COMMIT")
            self._committed.set()
            return results
        except Exception as exc:
            # Nothing of this batch is on disk: every caller hears so, none is told it was saved.
            log.exception("a batch of %d writes failed to commit", len(batch))
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            return [(future, None, exc) for _, future in batch]


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _reader(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """How a column's stored value becomes Python: SQLAlchemy's own processor, except for a plain DATE,
    which SQLAlchemy stores on SQLite as YYYY-MM-DD and the standard library parses several times faster."""
    if type(type_) is Date and dialect.name == "sqlite":
        return _date
    if isinstance(type_, Float) and not type_.asdecimal:
        # Both drivers return a float already; asyncpg's processor needs the column's type code, which a
        # statement compiled ahead of time does not have.
        return None
    processor: Callable[[Any], Any] | None = type_.dialect_impl(dialect).result_processor(dialect, None)
    return processor


def _bind_date(fallback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def process(value: Any) -> Any:
        return value.isoformat() if type(value) is dt.date else fallback(value)

    return process


def _bind_datetime(fallback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def process(value: Any) -> Any:
        if type(value) is dt.datetime:
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return fallback(value)

    return process


def _binder(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """How a Python value is stored: SQLAlchemy's own processor, except for plain dates and datetimes, which
    it formats field by field (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS.ffffff; SQLite keeps no zone, and studybot
    stores UTC) and the standard library formats the same way several times faster."""
    processor: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    if processor is None:
        return None
    if type(type_) is Date:
        return _bind_date(processor)
    if type(type_) is DateTime:
        return _bind_datetime(processor)
    return processor


class Plain:
    """A SQLAlchemy Core statement compiled once for a dialect, to run on the driver's own connection (the
    bare sqlite3 cursor here; the store runs PostgreSQL's on asyncpg the same way).

    The statement stays the one definition of the query; its SQL, parameter order and column types are
    worked out once, so running it costs what the driver costs. Values go through the columns' own bind
    processors and come back through their result processors, exactly as SQLAlchemy would store and read
    them (tests/storage/test_plain.py checks the bytes on SQLite).
    """

    def __init__(self, stmt: Any, dialect: Any) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        names = list(compiled.positiontup or ())
        self._binds = [(n, _binder(compiled.binds[n].type, dialect)) for n in names]
        self._fixed = {n: compiled.binds[n].value for n in names}
        columns = list(getattr(stmt, "selected_columns", ()))
        self._results = [_reader(c.type, dialect) for c in columns]
        self.row = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None

    def params(self, values: dict[str, Any]) -> list[Any]:
        out = []
        for name, process in self._binds:
            value = values[name] if name in values else self._fixed[name]
            out.append(process(value) if process else value)
        return out

    def convert(self, raw_row: tuple[Any, ...]) -> Any:
        if self.row is None:
            raise TypeError(f"{self.sql!r} returns no rows")
        return self.row(*(p(v) if p else v for p, v in zip(self._results, raw_row, strict=True)))

    def execute(self, raw: sqlite3.Connection, values: dict[str, Any]) -> sqlite3.Cursor:
        return raw.execute(self.sql, self.params(values))

    def all(self, raw: sqlite3.Connection, values: dict[str, Any]) -> list[Any]:
        return [self.convert(r) for r in raw.execute(self.sql, self.params(values)).fetchall()]

    def first(self, raw: sqlite3.Connection, values: dict[str, Any]) -> Any:
        row = raw.execute(self.sql, self.params(values)).fetchone()
        return self.convert(row) if row is not None else None
