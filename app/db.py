"""The database engines and sessions: the one place that knows how to connect."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from app.config import ConfigurationError

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The PostgreSQL advisory lock migrations hold: any constant all Rollcall processes share.
MIGRATION_LOCK_KEY = 0x526F6C6C  # "Roll"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def _configure_sqlite(engine: Engine, *, writer: bool, foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Hand transaction control to SQLAlchemy so the BEGIN below is what starts them.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe under WAL, much faster commits
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # Writers take the write lock up front: a deferred transaction that reads then writes
        # fails at once with SQLITE_BUSY (no waiting) when another writer committed in
        # between. Readers begin deferred, so they never wait for (or block) a writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def create_db_engine(url: str, *, writer: bool = True, foreign_keys: bool = True) -> Engine:
    """An engine for `url`. `foreign_keys=False` is for SQLite migrations only: batch
    migrations recreate tables, and a DROP under enforced keys would cascade into the data."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine, writer=writer, foreign_keys=foreign_keys)
        return engine
    return create_engine(url, pool_pre_ping=True)


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
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as lock_file:
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

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        sqlite = self.engine.dialect.name == "sqlite"
        self.read_engine = create_db_engine(url, writer=False) if sqlite else self.engine
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

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
