"""Keeping a school's database: backup and restore, retention of check-in attempts.

SQLite is copied with its online backup API, never as a file: under WAL the latest commits may
sit in rollcall.db-wal, so a copy of rollcall.db alone can miss them or be torn mid-write. The
service may keep running during a backup. PostgreSQL has its own tools (pg_dump, pg_restore):
the commands name them rather than wrap them.
"""

from __future__ import annotations

import datetime as dt
import shlex
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from app.core.config import ConfigurationError
from app.core.tables import CheckinAttempt, CheckinThumbnail, LivenessChallenge


class OperationError(Exception):
    """The operation cannot be done as asked; the message says what to do."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, else None (another database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if parsed.database in (None, "", ":memory:"):
        raise ConfigurationError("ROLLCALL_DATABASE_URL names an in-memory SQLite database")
    return Path(parsed.database).resolve()


def pg_command(tool: str, url: str, file: Path) -> str:
    """The pg_dump (or pg_restore) line for the database `url` names, without its password
    (pg_dump asks for it, or reads PGPASSWORD / ~/.pgpass)."""
    parsed = make_url(url)
    target = URL.create(
        "postgresql", parsed.username, None, parsed.host, parsed.port, parsed.database
    ).render_as_string(hide_password=False)
    if tool == "pg_dump":
        return f"pg_dump --format=custom --file={shlex.quote(str(file))} {shlex.quote(target)}"
    return (
        f"pg_restore --clean --if-exists --no-owner --dbname={shlex.quote(target)} "
        f"{shlex.quote(str(file))}"
    )


def _copy(source: Path, target: Path) -> None:
    """Copy one SQLite database into another file with the backup API (a consistent snapshot,
    WAL included, while others read and write), written beside it and renamed into place."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            # One self-contained file: no -wal beside it to forget when it is moved.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    partial.replace(target)


def _check_rollcall_database(path: Path) -> str:
    """The schema revision of a Rollcall SQLite file, or OperationError saying what it is not."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise OperationError(f"{path} is not a Rollcall backup (SQLite says: {exc})") from None
    if row is None:
        raise OperationError(f"{path} is not a Rollcall backup (no schema revision)")
    return str(row[0])


@dataclass(frozen=True)
class Backup:
    file: Path
    revision: str
    bytes: int


def backup_sqlite(database: Path, file: Path, overwrite: bool) -> Backup:
    if not database.is_file():
        raise OperationError(f"no database at {database}: nothing to back up")
    if file.resolve() == database:
        raise OperationError("the backup file is the database itself: name another file")
    if file.exists() and not overwrite:
        raise OperationError(f"{file} already exists (--force replaces it)")
    file.parent.mkdir(parents=True, exist_ok=True)
    _copy(database, file)
    return Backup(file, _check_rollcall_database(file), file.stat().st_size)


@dataclass(frozen=True)
class Restored:
    revision: str
    previous: Path | None  # the database as it was, kept beside it


def restore_sqlite(database: Path, file: Path) -> Restored:
    """Replace the database with the backup in `file`; the database as it was is kept first
    (rollcall.db.before-restore-<time>), so a wrong restore can be undone."""
    if not file.is_file():
        raise OperationError(f"no backup at {file}")
    revision = _check_rollcall_database(file)
    previous = None
    if database.is_file():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        previous = database.with_name(f"{database.name}.before-restore-{stamp}")
        _copy(database, previous)
    database.parent.mkdir(parents=True, exist_ok=True)
    # Into the live file with the backup API, not by renaming over it: a -wal left beside a
    # renamed file would be replayed into the restored one.
    with sqlite3.connect(f"file:{file}?mode=ro", uri=True) as src:
        dst = sqlite3.connect(database)
        try:
            src.backup(dst)
        finally:
            dst.close()
    return Restored(revision, previous)


@dataclass(frozen=True)
class Purged:
    attempts: int
    challenges: int
    before: dt.datetime
    thumbnails: int = 0


def purge(
    db: Session,
    older_than_days: int,
    now: dt.datetime | None = None,
    thumbnail_days: int | None = None,
) -> Purged:
    """Delete check-in attempts older than the given days (attendance stays: it loses only
    its link to the attempt), liveness challenges expired before then and check-in
    thumbnails older than `thumbnail_days` (ROLLCALL_THUMBNAIL_RETENTION_DAYS; None: the
    attempts' days)."""
    now = now or dt.datetime.now(dt.UTC)
    before = now - dt.timedelta(days=older_than_days)
    old_faces = CheckinThumbnail.created_at < now - dt.timedelta(
        days=thumbnail_days or older_than_days
    )
    kept_faces = db.scalar(select(func.count()).select_from(CheckinThumbnail).where(old_faces))
    db.execute(delete(CheckinThumbnail).where(old_faces))
    attempts = db.scalar(
        select(func.count()).select_from(CheckinAttempt).where(CheckinAttempt.created_at < before)
    )
    db.execute(delete(CheckinAttempt).where(CheckinAttempt.created_at < before))
    challenges = db.scalar(
        select(func.count())
        .select_from(LivenessChallenge)
        .where(LivenessChallenge.expires_at < before)
    )
    db.execute(delete(LivenessChallenge).where(LivenessChallenge.expires_at < before))
    db.commit()
    return Purged(int(attempts or 0), int(challenges or 0), before, int(kept_faces or 0))
