"""What every request meets first: refusals before work, and the security headers of answers.

An attacker's upload must cost the service no more than its refusal: headers are bounded, a body
sent without a valid key is refused before a byte of it is read, and a body is refused at the
size limit while it streams in (a chunked body has no Content-Length to refuse it by).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import authenticate, too_large
from app.core.errors import ServiceError, error_response

# h11's default bound on a request head, which uvicorn's httptools parser does not enforce.
MAX_HEADER_BYTES = 16 * 1024
# The request target (path and query). The API's queries are ids, dates and a search term (a
# name: 200 characters, at most 12 bytes each percent-encoded); 8 KiB is nginx's line buffer.
# Past 65,535 bytes httptools cannot parse it and uvicorn itself would answer a plain-text 400
# (app.api.protocols answers it in this shape).
MAX_URL_BYTES = 8 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # form boundaries and fields around the file
# Where a body may carry a burst of frames, each under the upload limit (deps.read_photos):
# the body's own limit is then the limit times the frames allowed (it was the
# limit for the whole burst).
BURST_PATHS = frozenset({"/api/v1/checkins"})
# Where a body comes without a key: a kiosk pairing (a code, a name and a PIN: small). Its
# route throttles wrong codes per client as wrong keys are.
KEYLESS_PATHS = {"/api/v1/kiosk/pair": 4 * 1024}


# Every page (/kiosk, /admin, /docs) loads only Rollcall's own files: no inline script or
# style, no other site; photos and camera frames are shown from data: and blob: URLs; no site
# may frame a page.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; frame-ancestors 'none'"
)


def uri_too_long() -> tuple[int, str, str]:
    """The refusal of a request target over MAX_URL_BYTES: status, code, message."""
    return 414, "uri_too_long", f"The request's path and query exceed {MAX_URL_BYTES} bytes."


def _target_bytes(scope: Scope) -> int:
    return len(scope.get("raw_path") or scope["path"].encode()) + len(scope["query_string"]) + 1


def _has_body(headers: dict[bytes, bytes]) -> bool:
    return headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers


class RequestGuard:
    """ASGI middleware: a bounded request target and headers, then a key and a size limit for
    every request body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _target_bytes(scope) > MAX_URL_BYTES:
            await error_response(*uri_too_long())(scope, receive, send)
            return
        if sum(len(name) + len(value) for name, value in scope["headers"]) > MAX_HEADER_BYTES:
            refusal = error_response(
                431, "headers_too_large", f"The request headers exceed {MAX_HEADER_BYTES} bytes."
            )
            await refusal(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if _has_body(headers):
            try:
                receive = await self._admit_body(scope, headers, receive)
            except ServiceError as exc:
                await exc.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _admit_body(
        self, scope: Scope, headers: dict[bytes, bytes], receive: Receive
    ) -> Receive:
        context = scope["app"].state.context
        settings = context.settings
        limit = KEYLESS_PATHS.get(scope["path"])
        if limit is None:
            key = headers.get(b"x-api-key", b"").decode("latin-1")
            # The caller is kept for the route's own check, which then needs no second lookup.
            client = scope["client"][0] if scope.get("client") else None
            caller = await run_in_threadpool(authenticate, context, key, client)
            scope.setdefault("state", {})["caller"] = caller
            files = settings.max_burst_frames if scope["path"] in BURST_PATHS else 1
            limit = files * (settings.max_upload_bytes + MULTIPART_OVERHEAD)
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            raise too_large(limit)
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                # Raised inside the app's body parsing, which re-raises HTTP exceptions as they
                # are: the app's handler answers 413 without reading the rest.
                raise HTTPException(413, too_large(limit).message)
            return message

        return counted


class SecurityHeaders:
    """ASGI middleware: no content sniffing, a content policy on pages, and API answers (keys,
    names, attendance) kept out of caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = PAGE_POLICY
                if scope["path"].startswith("/api/"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
