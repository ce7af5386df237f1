"""README's run command, `uvicorn app.main:app`, in a subprocess on a free port."""

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def uvicorn_server(database_url: str, log_path: Path) -> Iterator[str]:
    """The server's base URL once /health answers; stopped on exit. Its output goes to log_path."""
    port = _free_port()
    env = {**os.environ, "ROLLCALL_DATABASE_URL": database_url, "ROLLCALL_ADMIN_KEY": ADMIN_KEY}
    log = log_path.open("w")  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the server exited:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the server did not answer /health within 120 s:\n{log_path.read_text()}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
