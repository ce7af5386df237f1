"""Service errors: each carries an HTTP status, a stable machine code and a human message."""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    """Every error the service answers, in one shape: {"error": {code, message, details}}."""
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status_code=status,
    )


class ServiceError(Exception):
    status_code = 400

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def headers(self) -> dict[str, str]:
        """A refusal that says when to try again (`retry_after` seconds) says it in a header."""
        retry_after = self.details.get("retry_after")
        return {"Retry-After": str(retry_after)} if retry_after is not None else {}

    def response(self) -> JSONResponse:
        answer = error_response(self.status_code, self.code, self.message, self.details)
        answer.headers.update(self.headers)
        return answer


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class Gone(ServiceError):
    status_code = 410


class Unprocessable(ServiceError):
    status_code = 422


class TooLarge(ServiceError):
    status_code = 413


class Unauthorized(ServiceError):
    status_code = 401


class Forbidden(ServiceError):
    status_code = 403


class TooManyRequests(ServiceError):
    status_code = 429


# How long a client is asked to wait before trying again when the database is unavailable.
RETRY_AFTER_SECONDS = 5


# SQLite raises OperationalError for a missing table too (a bug); these say it is unavailable.
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o")


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot serve now (down, silent, timed out, locked,
    a deadlock or a lost connection), not that the request or the code is wrong."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        return any(sign in str(exc.orig).lower() for sign in _SQLITE_UNAVAILABLE)
    # PostgreSQL's: connections, timeouts, deadlocks (its schema errors are ProgrammingError).
    return True


def unavailable_response() -> JSONResponse:
    """503 `database_unavailable` with a Retry-After: the service recovers by itself when the
    database answers again, so a client (a kiosk) should simply try again."""
    response = error_response(
        503,
        "database_unavailable",
        f"The database does not answer; try again in {RETRY_AFTER_SECONDS} s.",
        {"retry_after": RETRY_AFTER_SECONDS},
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
    return exc.response()


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [
        {"field": ".".join(str(p) for p in e["loc"][1:]), "problem": e["msg"]} for e in exc.errors()
    ]
    summary = "; ".join(f"{p['field'] or 'body'}: {p['problem']}" for p in problems)
    return error_response(422, "invalid_request", summary, {"problems": problems})


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route of the path takes (Starlette's 405 names the first route's):
    the methods that would match the path fully."""
    allowed = [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed", 413: "upload_too_large"}.get(
        exc.status_code, "http_error"
    )
    answer = error_response(exc.status_code, code, str(exc.detail))
    answer.headers.update(exc.headers or {})
    if exc.status_code == 405:  # HTTP requires it (it was missing)
        answer.headers["Allow"] = _allowed_methods(request) or answer.headers.get("Allow", "")
    return answer


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal in the one shape of `error_response`: ours, FastAPI's validation errors
    (422 `invalid_request`, each problem named) and Starlette's (404, 405, 413)."""
    # arg-type: Starlette types a handler as taking any Exception, though it calls each with
    # the class it is registered for.
    app.add_exception_handler(ServiceError, _service_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
