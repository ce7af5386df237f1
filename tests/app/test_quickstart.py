"""README's quick start runs as written: tools/quickstart.sh against a real server (README's
`rollcall serve`), on a fresh SQLite file, with the shared photos, any day (its session's times
come from `date`), and again after that."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.server import serving
from tests.support.settings import FACES_DIR, REPO

SCRIPT = REPO / "tools" / "quickstart.sh"


# The quick-start script, twice.
pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def _run(workdir: Path, url: str, database_url: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    env = {
        **clean,
        "ROLLCALL": f"{sys.executable} -m app.cli",  # .venv/bin/rollcall, from this checkout
        "PYTHON": sys.executable,
        "PYTHONPATH": str(REPO),
        "FACES": str(FACES_DIR),
        "URL": url,
        "ROLLCALL_DATABASE_URL": database_url,  # README: the same folder's ./data
    }
    return subprocess.run(
        ["bash", str(SCRIPT)], cwd=workdir, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_quick_start_script_runs_as_written_twice(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'data' / 'rollcall.db'}"
    serve = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
    with serving(database_url, tmp_path / "server.log", serve) as url:
        first = _run(tmp_path, url, database_url)
        assert first.returncode == 0, first.stdout + first.stderr
        out = first.stdout
        assert f"open {url}/admin" in out
        pairing = re.search(
            rf"pair a kiosk: open {url}/kiosk\?pair=([A-Z0-9]{{4}}-[A-Z0-9]{{4}}) ", out
        )
        assert pairing is not None, out
        # The tablet's part, as the kiosk page sends it: the code, a name, a staff PIN.
        paired = httpx.post(
            f"{url}/api/v1/kiosk/pair",
            json={"code": pairing.group(1), "device_name": "door tablet", "pin": "2468"},
            timeout=60,
        )
        assert paired.status_code == 201, paired.text
        assert paired.json()["role"] == "kiosk" and paired.json()["key"].startswith("rc_")
        assert "enrolled 5, skipped 0, failed 0 (of 5 rows)" in out
        assert "present: Barack Obama" in out
        over_rest, from_cli = out.split("== 5.")[1].split("== 6.")
        for report in (over_rest, from_cli):
            rows = [line.split(",") for line in report.splitlines()[2:]]
            by_status = {
                status: sorted(row[3] for row in rows if row[0] == status)
                for status in ("present", "absent")
            }
            assert by_status == {
                "present": ["Barack Obama"],
                "absent": ["Alex Lacamoire", "Joe Biden", "Kit Harington", "Rose Leslie"],
            }, out
        assert over_rest.splitlines()[1:] == from_cli.splitlines()[1:]  # the same CSV

        again = _run(tmp_path, url, database_url)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "enrolled 0, skipped 5, failed 0 (of 5 rows)" in again.stdout
        assert "present: Barack Obama" in again.stdout  # a new session: present again
