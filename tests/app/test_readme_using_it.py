"""README's "Using it" block runs as written: against a real server on a fresh database, with
the shared photos, any day (its dates come from `date`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import serving
from tests.support.settings import FACES_DIR, REPO

# README's commands, as written.
pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def _using_it_block() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Using it") :]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_the_using_it_block_runs_as_written(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'data' / 'rollcall.db'}"
    with serving(database_url, tmp_path / "server.log") as url:
        block = (
            _using_it_block()
            .replace(".venv/bin/rollcall", f"{sys.executable} -m app.cli")
            .replace("../shared/faces", str(FACES_DIR))
            .replace("http://127.0.0.1:8000", url)
        )
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
        env = {**clean, "PYTHONPATH": str(REPO), "ROLLCALL_DATABASE_URL": database_url}
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert '"error"' not in out, out  # every call was answered, none refused
    assert out.count('"decision":"present"') == 2, out  # the day's, then the session's
    assert '"external_id":"S001","name":"Rose Leslie"' in out
    # The session's report ends it: Rose present (not late: she came within the grace).
    assert out.rstrip().splitlines()[-1].startswith("present,1,S001,Rose Leslie,"), out
