"""docker/entrypoint.sh run directly, as the image runs it (README, "Run it in Docker"): given a
command it runs that instead of serving, on the settings of the environment."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.settings import REPO

ENTRYPOINT = REPO / "docker" / "entrypoint.sh"

# The entrypoint, a shell, runs `rollcall` processes.
pytestmark = [pytest.mark.subprocess]


def _entrypoint(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The entrypoint with `rollcall` on its PATH (the image's console script: this checkout's)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "rollcall"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m app.cli "$@"\n')
    shim.chmod(0o755)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    env = {
        **clean,
        "PATH": f"{bin_dir}:{clean.get('PATH', '/usr/bin:/bin')}",
        "PYTHONPATH": str(REPO),
        "ROLLCALL_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'rollcall.db'}",
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )


def test_given_a_command_the_entrypoint_runs_it(tmp_path: Path) -> None:
    upgraded = _entrypoint(tmp_path, "rollcall", "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    created = _entrypoint(
        tmp_path, "rollcall", "keys", "create", "--role", "kiosk", "--name", "door"
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines()[-1].startswith("rc_")
    with sqlite3.connect(tmp_path / "data" / "rollcall.db") as db:
        assert db.execute("SELECT role, name FROM api_keys").fetchall() == [("kiosk", "door")]
    missing = _entrypoint(tmp_path, "rollcall", "keys", "revoke", "7")
    assert missing.returncode == 1 and "No API key with id 7" in missing.stderr
