"""The SQLite database is private to the service's user: it holds photos, embeddings and key
hashes (it was created 0644, readable by every user of the machine)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from app.core.db import Database
from tests.support.settings import REPO

# `rollcall db upgrade` under an operator's umask.
pytestmark = [pytest.mark.subprocess]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_a_new_sqlite_database_its_folder_wal_and_shm_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    database = folder / "rollcall.db"
    # As an operator makes it, with the usual umask (022): `rollcall db upgrade`.
    env = {**os.environ, "ROLLCALL_DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run(
        ["sh", "-c", f"umask 022 && exec {sys.executable} -m app.cli db upgrade"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    db = Database(f"sqlite:///{database}")
    try:
        with db.session() as session:  # a write: the WAL and its index (SHM) exist now
            session.execute(text("UPDATE gallery_state SET revision = revision"))
            session.commit()
            files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        db.dispose()
    assert _mode(folder) == 0o700
    assert _mode(Path(f"{database}.migrate-lock")) == 0o600
