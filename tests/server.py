"""Running the service as an operator does: a real server process, answered over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY, REPO

UVICORN = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    database_url: str,
    log_path: Path,
    command: list[str] = UVICORN,
    port_option: str = "--port",
    **settings: str,
) -> Iterator[str]:
    """`command` (README's uvicorn command by default) serving `database_url`; its base URL.

    `settings` are extra ROLLCALL_* variables (lower-case names, as in app.config).
    """
    port = free_port()
    env = {
        **os.environ,
        "ROLLCALL_DATABASE_URL": database_url,
        "ROLLCALL_ADMIN_KEY": ADMIN_KEY,
        **{f"ROLLCALL_{name.upper()}": value for name, value in settings.items()},
    }
    log = log_path.open("w")  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen(
        [*command, port_option, str(port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the server exited:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the server did not answer /health within 180 s:\n{log_path.read_text()}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
