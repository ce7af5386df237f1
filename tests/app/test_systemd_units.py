"""The systemd units of docs/systemd/ (docs/operations.md): systemd accepts them, and their
commands run as written in a checkout laid out as the units expect."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import build_parser
from tests.support.cli import RunCli
from tests.support.settings import REPO

UNITS = REPO / "docs" / "systemd"
INSTALLED = "/opt/rollcall"  # where the units expect the checkout


def _install(checkout: Path) -> Path:
    """The units rewritten for a checkout at `checkout`, whose .venv/bin/rollcall runs this
    repository's CLI with this interpreter."""
    rollcall = checkout / ".venv" / "bin" / "rollcall"
    rollcall.parent.mkdir(parents=True)
    rollcall.write_text(
        f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(REPO))} "
        f'exec {shlex.quote(sys.executable)} -m app.cli "$@"\n'
    )
    rollcall.chmod(0o755)
    (checkout / "data").mkdir()
    folder = checkout / "units"
    folder.mkdir()
    for unit in UNITS.iterdir():
        (folder / unit.name).write_text(unit.read_text().replace(INSTALLED, str(checkout)))
    return folder


def _exec_start(unit: Path) -> str:
    """The unit's ExecStart line, its %% escapes undone (as systemd runs it)."""
    [line] = re.findall(r"^ExecStart=(.*)$", unit.read_text(), re.MULTILINE)
    return line.replace("%%", "%")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.subprocess
def test_systemd_accepts_every_unit(tmp_path: Path) -> None:
    folder = _install(tmp_path / "rollcall")
    units = sorted(str(path) for path in folder.iterdir())
    assert len(units) == 5
    checked = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=120
    )
    # Any unknown key or missing program is printed (and most fail the check).
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stderr


@pytest.mark.subprocess
@pytest.mark.slow
def test_the_backup_and_purge_units_commands_run_as_written(
    rollcall: RunCli, tmp_path: Path
) -> None:
    checkout = tmp_path / "rollcall"
    folder = _install(checkout)
    (checkout / ".env").write_text(
        "ROLLCALL_DATABASE_URL=sqlite:///./data/rollcall.db\nROLLCALL_CHECKIN_RETENTION_DAYS=30\n"
    )
    assert rollcall("db", "upgrade", cwd=checkout).returncode == 0
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    for unit in ("rollcall-backup.service", "rollcall-purge.service"):
        done = subprocess.run(
            shlex.split(_exec_start(folder / unit)),
            cwd=checkout,
            env=clean,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (unit, done.stderr)
    [backup] = (checkout / "data" / "backups").glob("rollcall-*.db")
    assert re.fullmatch(r"rollcall-\d{4}-\d{2}-\d{2}\.db", backup.name)
    with sqlite3.connect(backup) as db:
        assert db.execute("SELECT COUNT(*) FROM alembic_version").fetchone() == (1,)
    # The service's own line: options `rollcall serve` takes (it serves in test_serve_proxy.py).
    serve = build_parser().parse_args(shlex.split(_exec_start(folder / "rollcall.service"))[1:])
    assert (serve.command, serve.host, serve.workers) == ("serve", "127.0.0.1", 2)
