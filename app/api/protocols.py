"""uvicorn's HTTP protocols, answering the requests they refuse themselves in the service's error
shape (app.core.errors) instead of uvicorn's plain-text `400 Invalid HTTP request received.`

Some requests never reach the app: httptools cannot parse a request target over 65,535 bytes
(its URL offsets are 16-bit), and h11 refuses a request head over 16 KiB. uvicorn answers those
itself. These subclasses refuse a request target over `MAX_URL_BYTES` as it arrives (414
`uri_too_long`, the same answer the app's guard gives under plain uvicorn), an oversized head
as 431 `headers_too_large`, and any other unparsable request as 400 `malformed_request`.

`rollcall serve` uses `JsonErrorsProtocol`; with uvicorn itself: `--http app.api.protocols:
JsonErrorsProtocol`.
"""

from __future__ import annotations

import asyncio
import sys
from http import HTTPStatus

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.api.guard import MAX_HEADER_BYTES, MAX_URL_BYTES, uri_too_long
from app.core.errors import error_response


class _UriTooLong(Exception):
    """Raised in the parser's URL callback: the parser stops, uvicorn calls send_400_response."""


def _refusal(
    status: int, code: str, message: str, server_headers: list[tuple[bytes, bytes]]
) -> bytes:
    """A whole HTTP/1.1 answer in the service's error shape; the connection is then closed (the
    parser cannot go on past a request it refused)."""
    answer = error_response(status, code, message)
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
    head += [name + b": " + value for name, value in server_headers]
    head += [
        b"content-type: application/json",
        b"content-length: " + str(len(answer.body)).encode(),
        b"x-content-type-options: nosniff",
        b"connection: close",
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + bytes(answer.body)


def _malformed() -> tuple[int, str, str]:
    return 400, "malformed_request", "The request is not well-formed HTTP/1.1."


def _head_too_large() -> tuple[int, str, str]:
    return (
        431,
        "headers_too_large",
        f"The request line and headers exceed {MAX_HEADER_BYTES} bytes.",
    )


class H11WithJsonErrors(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        # Called by uvicorn inside its `except h11.RemoteProtocolError`: the error says why.
        error = sys.exc_info()[1]
        hint = error.error_status_hint if isinstance(error, h11.RemoteProtocolError) else 400
        status, code, message = _head_too_large() if hint == 431 else _malformed()
        self.transport.write(_refusal(status, code, message, self.server_state.default_headers))
        self.transport.close()


JsonErrorsProtocol: type[asyncio.Protocol]

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # uvicorn's "auto" is h11 without httptools; so is this
    JsonErrorsProtocol = H11WithJsonErrors
else:

    class HttpToolsWithJsonErrors(HttpToolsProtocol):
        url_too_long = False

        def on_url(self, url: bytes) -> None:
            # The target arrives in pieces: refused once it is too long, before it is kept whole.
            if len(self.url) + len(url) > MAX_URL_BYTES:
                self.url_too_long = True
                raise _UriTooLong
            super().on_url(url)

        def send_400_response(self, msg: str) -> None:
            refused = uri_too_long() if self.url_too_long else _malformed()
            self.transport.write(_refusal(*refused, self.server_state.default_headers))
            self.transport.close()

    JsonErrorsProtocol = HttpToolsWithJsonErrors
