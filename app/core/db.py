"""The database engines and sessions: the one place that knows how to connect."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, Pool

from app.core.config import ConfigurationError
from app.core.db_watchdog import UNBOUNDED, watch

if TYPE_CHECKING:
    import sqlite3

SQLITE_BUSY_TIMEOUT_MS = 30_000
# How long a request may wait on the database, in seconds: to connect, for a connection of
# the pool, for one statement. Past it the request answers 503 (a hung server
# hung every request). A migration has engines of its own, without these limits.
DEFAULT_TIMEOUT = 15.0
CONNECT_TIMEOUT = 5  # seconds (libpq's connect_timeout, a whole number); at most the timeout
# The PostgreSQL advisory lock migrations hold: any constant all Rollcall processes share.
MIGRATION_LOCK_KEY = 0x526F6C6C  # "Roll"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def _private_file(path: Path) -> None:
    """Make a SQLite database file that does not exist yet private to this user (0600, in a
    new folder 0700): it holds photos, embeddings and key hashes, and SQLite would create it
    0644. SQLite gives its -wal and -shm files the database file's permissions."""
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another process may have made it meanwhile
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


SqliteValue = str | bytes | int | float | None  # what SQLite hands a Python function


def _lower(value: SqliteValue) -> SqliteValue:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: Engine, *, writer: bool, foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Hand transaction control to SQLAlchemy so the BEGIN below is what starts them.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe under WAL, much faster commits
        cursor.close()
        # SQLite's lower() folds ASCII only: a search for "émile" missed "Émile", which
        # PostgreSQL finds. Python's str.lower folds every script, as PostgreSQL's does.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that reads then writes
        # fails at once with SQLITE_BUSY (no waiting) when another writer committed in
        # between. Readers begin deferred, so they never wait for (or block) a writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def create_db_engine(
    url: str,
    *,
    writer: bool = True,
    foreign_keys: bool = True,
    timeout: float | None = None,
    poolclass: type[Pool] | None = None,
) -> Engine:
    """An engine for `url`. `foreign_keys=False` is for SQLite migrations only: batch
    migrations recreate tables, and a DROP under enforced keys would cascade into the data.
    `timeout` (seconds): how long anything may wait on a PostgreSQL server (see
    DEFAULT_TIMEOUT); None: no limit."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine, writer=writer, foreign_keys=foreign_keys)
        return engine
    if timeout is None:
        return create_engine(url, pool_pre_ping=True)
    milliseconds = int(timeout * 1000)
    connect_args = {
        "connect_timeout": max(1, min(CONNECT_TIMEOUT, round(timeout))),
        # The server's own limits, for a server that runs but is slow or locked up; the
        # watchdog below is for one that does not answer at all.
        "options": f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}",
    }
    pool: dict[str, object] = {"pool_timeout": timeout} if poolclass is None else {}
    engine = create_engine(
        url, pool_pre_ping=True, connect_args=connect_args, poolclass=poolclass, **pool
    )
    # A little past the server's statement_timeout, so that a slow statement is ended by the
    # server (an error that says so) and only a silent server by the socket's shutdown.
    watch(engine, timeout + 2)
    return engine


def unbounded(session: Session) -> dict[str, object]:
    """Execution options for a statement that may take longer than the database timeout
    (the whole gallery's load); on PostgreSQL the server's limit is lifted for the rest of
    the transaction too."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL statement_timeout = 0"))
    return {UNBOUNDED: True}


def redacted(url: str | URL) -> str:
    """The URL as it may be shown: the password masked (an unparsable one not at all)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def require_database(url: str, *, create: bool) -> None:
    """Check that `url` names a database we can connect to, or raise a one-line
    ConfigurationError naming ROLLCALL_DATABASE_URL.

    A missing SQLite file is an error unless `create`: a command run in the wrong folder
    would otherwise make a new, empty database there (only `db upgrade` and `serve` create).
    """
    setting = "ROLLCALL_DATABASE_URL"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(
            f"{setting} is not a database URL (e.g. sqlite:///./data/rollcall.db or "
            "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE)"
        ) from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ConfigurationError(
            f"{setting}={redacted(parsed)}: Rollcall runs on SQLite or PostgreSQL only (its "
            "migrations are tested on those), e.g. sqlite:///./data/rollcall.db or "
            "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE"
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).resolve()
        if not path.is_file() and not create:
            raise ConfigurationError(
                f"no database at {path} ({setting}={redacted(parsed)}): create it with "
                f"`rollcall db upgrade`, or set {setting} to the service's database"
            )
        return
    try:
        engine = create_engine(parsed, poolclass=NullPool)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigurationError(f"{setting}={redacted(parsed)} is not usable: {exc}") from None
    except ImportError as exc:  # e.g. postgresql+psycopg2:// without psycopg2 installed
        raise ConfigurationError(
            f"{setting}={redacted(parsed)}: its driver is not installed ({exc.name}); use "
            "postgresql+psycopg://..., whose driver Rollcall installs"
        ) from None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = " ".join(str(exc.orig).split())  # the driver's message, on one line
        raise ConfigurationError(
            f"cannot connect to the database {redacted(parsed)} ({setting}): {reason}"
        ) from None


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Held while migrating, so that processes starting at once (uvicorn's workers, a CLI
    command) migrate one after another: the first migrates, the others then find the schema
    at head. PostgreSQL: an advisory lock; SQLite: a file lock beside the database file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            yield  # a private in-memory database: no other process can reach it
            return
        lock_path = Path(f"{parsed.database}.migrate-lock")
        lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600), "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file is closed
            yield
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        # A session-level lock on a connection of its own, released when it closes.
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            yield
    finally:
        engine.dispose()


class Database:
    """Sessions for writing, and (on SQLite, through a second engine) for reading only."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.engine = create_db_engine(url, timeout=timeout)
        sqlite = self.engine.dialect.name == "sqlite"
        self.read_engine = create_db_engine(url, writer=False) if sqlite else self.engine
        # The health probe's own connections, outside the pool: a pool whose connections are
        # all stuck must not keep /health from answering (it waits at most `timeout`).
        self.probe_engine = (
            self.read_engine
            if sqlite
            else create_db_engine(url, timeout=min(timeout, 3.0), poolclass=NullPool)
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    def answers(self) -> bool:
        """Whether the database answers a trivial query now (within the probe's timeout)."""
        try:
            with self.probe_engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session that must not write (on SQLite it holds no write lock)."""
        with self.read_sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()
        self.probe_engine.dispose()
