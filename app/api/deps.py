"""FastAPI dependencies: the service context, a database session, an uploaded photo."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, File, Path, Query, Request, Security, UploadFile, params
from fastapi.security import APIKeyHeader
from pydantic import AfterValidator, BeforeValidator
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.context import ServiceContext
from app.core.domain import EARLIEST, LATEST
from app.core.errors import Forbidden, TooLarge, TooManyRequests, Unauthorized, Unprocessable
from app.core.roles import Caller, Role
from app.services.keys import caller_of

UPLOAD_CHUNK = 1024 * 1024
MAX_ID = 2**63 - 1  # ids beyond a 64-bit integer are refused before they reach the database


def _digits_only(value: object) -> object:
    # Pydantic would read "1.0", "+1", " 1" and "1_000" as 1 or 1000: an id is written in digits.
    if isinstance(value, str) and not re.fullmatch(r"[0-9]+", value):
        raise ValueError("must be a whole number written in digits")
    return value


# After Query/Path/Form in an Annotated: placed before them it hides their bounds from the
# OpenAPI schema, which then shows pydantic's "ge"/"le" in place of JSON Schema's
# "minimum"/"maximum".
Digits = BeforeValidator(_digits_only)


def _iso_date(value: object) -> object:
    # Pydantic would read "0" (or any number) as a Unix time: 1970-01-01.
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


def _within_dates(value: dt.date | None) -> dt.date | None:
    # The range of a session's times: a day at either end of the calendar would overflow when
    # its midnight is taken to UTC (0001-01-01 east of UTC, the day after 9999-12-31).
    if value is not None and not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value


IsoDate = BeforeValidator(_iso_date)
DateInRange = AfterValidator(_within_dates)
DateQuery = Annotated[dt.date | None, Query(description="YYYY-MM-DD"), IsoDate, DateInRange]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID), Digits]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID), Digits]


# Dependencies that never block are `async def`: FastAPI runs a plain `def` one on the thread
# pool, a hand-over of the GIL each way per dependency per request, and under load each one
# waits for a thread busy with a photo. Those that touch the database stay `def`.


async def get_context(request: Request) -> ServiceContext:
    return request.app.state.context


ContextDep = Annotated[ServiceContext, Depends(get_context)]


def get_db(context: ContextDep) -> Iterator[Session]:
    with context.db.session() as db:
        yield db


DbSession = Annotated[Session, Depends(get_db)]


def get_read_db(context: ContextDep) -> Iterator[Session]:
    with context.db.read_session() as db:
        yield db


ReadDbSession = Annotated[Session, Depends(get_read_db)]  # for requests that only read

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="an access key (roles: admin, kiosk, viewer, teacher)",
)


def authenticate(context: ServiceContext, key: str | None, client: str | None = None) -> Caller:
    """Who `key` is (its role, and a teacher key's courses); refuses a missing, unknown or
    revoked key, and (429) a client (an address) that presented too many unknown keys of late
    (app.core.throttle)."""
    throttle = context.key_throttle
    wait = throttle.retry_after(client, key) if client is not None else None
    if wait is not None:
        raise TooManyRequests(
            "too_many_key_failures",
            f"Too many unknown access keys from this client; try again in {wait} s.",
            retry_after=wait,
        )
    if not key:
        raise Unauthorized("missing_api_key", "This endpoint needs an access key in X-API-Key.")
    # A session of its own, closed at once: the request's session must not hold a transaction
    # while the photo is being processed.
    secret = context.settings.admin_key
    admin_key = secret.get_secret_value() if secret else None
    with context.db.read_session() as db:
        caller = caller_of(db, key, admin_key)
    if caller is None:
        if client is not None:
            throttle.failed(client)
        raise Unauthorized("invalid_api_key", "The access key is unknown or revoked.")
    if client is not None:
        throttle.succeeded(client, key)
    return caller


def client_of(request: Request) -> str | None:
    """The client's address, as the server saw it (behind a proxy: uvicorn --proxy-headers)."""
    return request.client.host if request.client else None


PresentedKey = Annotated[str | None, Security(api_key_header)]  # the request's own key


async def current_caller(request: Request, context: ContextDep, key: PresentedKey) -> Caller:
    # A request with a body was authenticated before its body was read (app.api.guard).
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None:
        caller = await run_in_threadpool(authenticate, context, key, client_of(request))
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


async def current_role(caller: CallerDep) -> Role:
    return caller.role


RoleDep = Annotated[Role, Depends(current_role)]


def allow(*roles: Role) -> params.Depends:
    """A dependency admitting admin keys and keys of these roles."""
    permitted = {Role.admin, *roles}

    async def check(role: Annotated[Role, Depends(current_role)]) -> Role:
        if role not in permitted:
            needed = " or ".join(sorted(permitted))
            raise Forbidden("forbidden", f"A {role} key cannot do this; it needs {needed}.")
        return role

    return Depends(check)


async def read_photo(
    request: Request,
    context: ContextDep,
    file: Annotated[UploadFile, File(description="an image file")],
) -> bytes:
    """The uploaded photo's bytes, refusing more than the upload limit or several files."""
    if len((await request.form()).getlist("file")) > 1:  # the form is parsed already: cached
        raise Unprocessable("several_files", "Send one photo in one `file` part.")
    return await _read_upload(file, context.settings.max_upload_bytes)


async def read_photos(
    context: ContextDep,
    file: Annotated[
        list[UploadFile], File(description="an image file, or several: a burst of frames")
    ],
) -> list[bytes]:
    """Each uploaded photo's bytes, in the order sent; the upload limit holds for each."""
    return [await _read_upload(part, context.settings.max_upload_bytes) for part in file]


async def _read_upload(file: UploadFile, limit: int) -> bytes:
    if file.size is not None and file.size > limit:
        raise too_large(limit)
    data = bytearray()
    while chunk := await file.read(UPLOAD_CHUNK):
        data += chunk
        if len(data) > limit:
            raise too_large(limit)
    if not data:
        raise Unprocessable("empty_file", "The uploaded file is empty.")
    return bytes(data)


def too_large(limit: int) -> TooLarge:
    return TooLarge("upload_too_large", f"The upload is larger than {limit // 1024} KiB.")


PhotoDep = Annotated[bytes, Depends(read_photo)]
PhotosDep = Annotated[list[bytes], Depends(read_photos)]
