"""What the HTTP server refuses before the app sees it (a request target past httptools' 64 KiB,
a head past h11's 16 KiB, a request that is not HTTP) is answered in the service's error shape:
by `rollcall serve` (httptools), and by uvicorn with h11, over raw sockets."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.support.server import serving

SERVE = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
H11 = [
    *[sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"],
    *["--http", "app.api.protocols:H11WithJsonErrors"],
]
LONG_QUERY = b"GET /api/v1/students?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module", params=["rollcall serve", "uvicorn --http h11"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("protocols")
    command = SERVE if request.param == "rollcall serve" else H11
    database_url = f"sqlite:///{workdir / 'rollcall.db'}"
    with serving(database_url, workdir / "server.log", command) as url:
        yield url


def _exchange(url: str, request: bytes) -> tuple[int, dict[str, str], dict]:
    """Send `request` as it is; the status, headers and JSON body of the answer (the server
    closes the connection after it)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def test_a_70_kb_query_answers_json(server: str) -> None:
    # The server answers after the head's first 64 KB and closes with the rest unread; the
    # kernel then may reset the connection before the client has read the answer (seen once
    # in CI). That race is TCP's, not the answer's: up to three tries.
    for attempt in range(3):
        try:
            status, headers, body = _exchange(server, LONG_QUERY)
            break
        except ConnectionResetError:
            if attempt == 2:
                raise
    assert headers["content-type"] == "application/json"
    # httptools refuses the target itself (414); h11 refuses the whole head, the target in it.
    code = body["error"]["code"]
    assert (status, code) in {(414, "uri_too_long"), (431, "headers_too_large")}, body
    assert body["error"]["message"]


def test_what_is_not_http_answers_json(server: str) -> None:
    status, headers, body = _exchange(server, b"GET / HTTP/1.1\r\nHost x\r\n\r\n")
    assert status == 400 and headers["content-type"] == "application/json"
    assert body["error"]["code"] == "malformed_request"
