"""`.ci/postgres` tests on a role of its own: README's Deploy role `rollcall` stays untouched."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.support.settings import REPO

# `.ci/postgres` in a shell.
pytestmark = [pytest.mark.postgres, pytest.mark.subprocess]


def test_ci_postgres_uses_its_own_role_and_database() -> None:
    if shutil.which("pg_lsclusters") is None or os.geteuid() != 0:
        pytest.skip("needs PostgreSQL's Debian tools and root (CI has both)")
    env = {k: v for k, v in os.environ.items() if k != "ROLLCALL_TEST_POSTGRES_URL"}
    result = subprocess.run(
        ["bash", ".ci/postgres"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith("export ")]
    url = make_url(line.split("=", 1)[1].strip("'"))
    assert (url.username, url.database) == ("rollcall_ci", "rollcall_ci_test")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_user")).scalar() == "rollcall_ci"
    finally:
        engine.dispose()
