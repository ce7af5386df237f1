"""Several processes starting at once on a fresh database: migrations run one at a time.

uvicorn's workers each run the start-up migration; without a lock two of them create the same
tables at once and one crashes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.commands import WORKER_START_SECONDS
from app.core.migrate import head_revision
from tests.support.postgres import fresh_postgres_database
from tests.support.server import serving
from tests.support.settings import ADMIN_KEY, REPO

PROCESSES = 3
# Each process imports first, says so, then waits for the word to go: they migrate together.
MIGRATE_ON_GO = """
import sys
from app.core.migrate import upgrade
print("ready", flush=True)
sys.stdin.readline()
upgrade(sys.argv[1])
"""


# Processes migrating at once.
pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def _migrate_at_once(database_url: str) -> list[tuple[int, str]]:
    """Exit status and error output of each process."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_ON_GO, database_url],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for process in processes:
        _, err = process.communicate(timeout=240)
        results.append((process.returncode, err))
    return results


def _at_head(database_url: str) -> tuple[list[str], int]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            states = connection.execute(text("SELECT COUNT(*) FROM gallery_state")).scalar_one()
            return list(version.scalars()), states
    finally:
        engine.dispose()


def test_processes_migrating_a_fresh_database_at_once_all_succeed(database_url: str) -> None:
    results = _migrate_at_once(database_url)
    failures = [err[-2000:] for status, err in results if status != 0]
    assert failures == [], failures[0] if failures else ""
    assert _at_head(database_url) == ([head_revision()], 1)


@pytest.mark.postgres
def test_rollcall_serve_with_two_workers_on_a_fresh_postgres(tmp_path: Path) -> None:
    serve = [sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--host", "127.0.0.1"]
    with (
        fresh_postgres_database() as database_url,
        serving(database_url, tmp_path / "server.log", serve) as url,
    ):
        for _ in range(6):
            answer = httpx.get(f"{url}/health", headers={"X-API-Key": ADMIN_KEY}, timeout=30)
            assert answer.status_code == 200 and answer.json()["database"] is True
        # /health answers once one worker is up; the other may still be loading its model (on
        # a busy CI machine for a minute or more): wait for its line rather than read too soon.
        log = _log_once(tmp_path / "server.log", "Application startup complete", times=2)
    assert log.count("Application startup complete") == 2, log
    assert "Traceback" not in log, log


def _log_once(path: Path, line: str, times: int) -> str:
    """The log once `line` is in it `times` times, or as it is at the deadline (for the
    assertion to show): as long as uvicorn waits for a worker to start, and a minute more."""
    deadline = time.monotonic() + WORKER_START_SECONDS + 60
    while (log := path.read_text()).count(line) < times and time.monotonic() < deadline:
        time.sleep(0.5)
    return log
