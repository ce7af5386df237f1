"""README's run command, `uvicorn app.main:app`, in a subprocess on a free port."""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager
from pathlib import Path

from tests.conftest import ADMIN_KEY, REPO
from tests.helpers import free_port, running_server


def uvicorn_server(
    database_url: str, log_path: Path, **settings: str
) -> AbstractContextManager[str]:
    """The server's base URL once /health answers; stopped on exit. Its output goes to log_path.
    `settings`: more ROLLCALL_* variables, by their lower-case names without the prefix."""
    env = {
        **os.environ,
        "ROLLCALL_DATABASE_URL": database_url,
        "ROLLCALL_ADMIN_KEY": ADMIN_KEY,
        **{f"ROLLCALL_{name.upper()}": value for name, value in settings.items()},
    }
    argv = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    return running_server([*argv, "--port", str(free_port())], REPO, env, log_path)
