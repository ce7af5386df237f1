"""Refusals before work, against the real server (uvicorn) over raw sockets.

A body sent without a key, or past the size limit, is refused while it is still arriving: the
client sends part of a chunked body, waits, and must get its answer without sending the rest
(a server that reads the body first would wait for the rest, and the test would time out).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from app.core.config import Settings
from tests.support.server import serving
from tests.support.settings import ADMIN_KEY

LIMIT = 100_000  # ROLLCALL_MAX_UPLOAD_BYTES of the server under test
ANSWER_WITHIN = 20  # seconds; the refusal comes at once, a server waiting for the body never


# A real server (README's uvicorn command) for the module.
pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The server's URL and its log file."""
    workdir = tmp_path_factory.mktemp("refusals")
    log = workdir / "server.log"
    database_url = f"sqlite:///{workdir / 'rollcall.db'}"
    with serving(database_url, log, max_upload_bytes=str(LIMIT)) as url:
        yield url, log


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _send_head_and_part(
    url: str, headers: dict[str, str], part: bytes, path: str = "/api/v1/checkins"
) -> bytes:
    """Send a chunked POST's head and `part` of its body, never the end; the answer's head."""
    address = urlsplit(url)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection((address.hostname, address.port), timeout=ANSWER_WITHIN) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\n".encode()
            + f"Host: {address.netloc}\r\n{head}".encode()
            + b"Transfer-Encoding: chunked\r\n"
            + b"Content-Type: multipart/form-data; boundary=xyz\r\n\r\n"
        )
        for start in range(0, len(part), 16_384):
            sock.sendall(_chunk(part[start : start + 16_384]))
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                received = sock.recv(65_536)
                if not received:
                    break
                answer += received
        except TimeoutError:
            pytest.fail(f"no answer within {ANSWER_WITHIN} s: the server waits for the body")
    return answer


def _form_start() -> bytes:
    return (
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n"
    )


def test_a_body_without_a_key_is_refused_before_it_is_read(served: tuple[str, Path]) -> None:
    url, _ = served
    answer = _send_head_and_part(url, {}, _form_start() + b"\xff" * 20_000)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"missing_api_key" in answer or b"content-type: application/json" in answer.lower()
    answer = _send_head_and_part(url, {"X-API-Key": "rc_wrong"}, _form_start())
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


def test_a_chunked_body_is_refused_at_the_limit_while_streaming(served: tuple[str, Path]) -> None:
    url, _ = served
    over_the_limit = _form_start() + b"\xff" * (LIMIT + 64 * 1024 + 50_000)
    answer = _send_head_and_part(
        url, {"X-API-Key": ADMIN_KEY}, over_the_limit, "/api/v1/students/1/photo"
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # A check-in's body may hold a burst of frames (ROLLCALL_MAX_BURST_FRAMES), each up to
    # the limit.
    frames = Settings.model_fields["max_burst_frames"].default
    over_a_burst = _form_start() + b"\xff" * (frames * (LIMIT + 64 * 1024) + 50_000)
    answer = _send_head_and_part(url, {"X-API-Key": ADMIN_KEY}, over_a_burst)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_declared_length_over_the_limit_is_refused_from_the_head(
    served: tuple[str, Path],
) -> None:
    url, _ = served
    response = httpx.post(
        f"{url}/api/v1/checkins",
        headers={"X-API-Key": ADMIN_KEY},
        files={"file": ("big.jpg", b"\xff" * (LIMIT + 100 * 1024))},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"


def test_headers_are_bounded(served: tuple[str, Path]) -> None:
    url, _ = served
    response = httpx.get(f"{url}/health", headers={"X-Padding": "a" * 64 * 1024})
    assert response.status_code == 431, response.text
    assert response.json()["error"]["code"] == "headers_too_large"


def test_search_terms_stay_out_of_the_logs(served: tuple[str, Path]) -> None:
    url, log = served
    headers = {"X-API-Key": ADMIN_KEY}
    response = httpx.get(f"{url}/api/v1/students", params={"q": "Zebulon"}, headers=headers)
    assert response.status_code == 200
    assert httpx.get(f"{url}/health").status_code == 200  # the log is written past the search
    logged = log.read_text()
    assert "/api/v1/students" in logged  # the request is logged...
    assert "Zebulon" not in logged  # ...without its query


def test_a_long_query_is_refused_in_the_error_shape(served: tuple[str, Path]) -> None:
    """Under README's plain uvicorn command, a query the server parses (under 64 KiB) but
    over the app's bound answers 414 JSON; the app does not search it."""
    url, _ = served
    headers = {"X-API-Key": ADMIN_KEY}
    response = httpx.get(f"{url}/api/v1/students", params={"q": "a" * 20_000}, headers=headers)
    assert response.status_code == 414, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "uri_too_long"
    near = httpx.get(f"{url}/api/v1/students", params={"q": "a" * 7_000}, headers=headers)
    assert near.status_code == 200, near.text
