"""Running the service as an operator does: a real server process, answered over HTTP."""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager
from pathlib import Path

from tests.support.helpers import free_port, running_server
from tests.support.settings import ADMIN_KEY, REPO

UVICORN = [
    sys.executable,
    "-m",
    "uvicorn",
    "app.main:app",
    "--http",
    "app.api.protocols:JsonErrorsProtocol",
    "--host",
    "127.0.0.1",
]


def serving(
    database_url: str, log_path: Path, command: list[str] = UVICORN, **settings: str
) -> AbstractContextManager[str]:
    """`command` (README's uvicorn command by default) serving `database_url`; its base URL
    once /health answers. `settings` are extra ROLLCALL_* variables (lower-case names)."""
    env = {
        **os.environ,
        "ROLLCALL_DATABASE_URL": database_url,
        "ROLLCALL_ADMIN_KEY": ADMIN_KEY,
        **{f"ROLLCALL_{name.upper()}": value for name, value in settings.items()},
    }
    return running_server([*command, "--port", str(free_port())], REPO, env, log_path)
