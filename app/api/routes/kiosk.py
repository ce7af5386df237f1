"""Pairing a kiosk with the office, and the kiosk's staff PIN (app.services.kiosk)."""

from __future__ import annotations

import io
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Request, Response, status
from starlette.concurrency import run_in_threadpool

from app.api.deps import ContextDep, DbSession, PresentedKey, RoleDep, allow, client_of
from app.api.schemas import (
    ANY_BODY,
    ANY_KEYED,
    ANY_REQUEST,
    ApiKeyCreated,
    ApiKeyOut,
    KioskPairingOut,
    error_responses,
)
from app.core.domain import KioskPairingRedeem, KioskPin
from app.core.errors import Forbidden, TooManyRequests
from app.core.roles import Role
from app.services import kiosk

router = APIRouter(prefix="/kiosk", tags=["kiosks"])


def qr_svg(text: str) -> str:
    """A QR code of `text` as an SVG document, drawn here (nothing fetched by the page)."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=6, border=2, xmldecl=False)
    return out.getvalue().decode()


@router.post(
    "/pairings",
    status_code=status.HTTP_201_CREATED,
    response_model=KioskPairingOut,
    dependencies=[allow()],  # admin only
    responses=error_responses(*ANY_KEYED),
)
def create_pairing(db: DbSession, request: Request) -> KioskPairingOut:
    """A one-time pairing code, valid for 5 minutes: the kiosk page exchanges it for a kiosk
    key of its own (POST /kiosk/pair). The code is in this answer only: it is stored hashed."""
    row, code = kiosk.create_pairing(db)
    url = f"{str(request.base_url).rstrip('/')}/kiosk?pair={code}"
    return KioskPairingOut(code=code, expires_at=row.expires_at, kiosk_url=url, qr_svg=qr_svg(url))


def _throttled(context: ContextDep, request: Request) -> str | None:
    """The client's address, refused (429) after too many wrong codes or keys of late."""
    client = client_of(request)
    wait = context.key_throttle.retry_after(client, None) if client else None
    if wait is not None:
        raise TooManyRequests(
            "too_many_key_failures",
            f"Too many wrong codes or keys from this client; try again in {wait} s.",
            retry_after=wait,
        )
    return client


@router.post(
    "/pair",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=error_responses(403, 429, *ANY_BODY, *ANY_REQUEST),
)
async def pair(
    context: ContextDep,
    body: KioskPairingRedeem,
    client: Annotated[str | None, Depends(_throttled)],
) -> ApiKeyCreated:
    """Exchanges a pairing code (no key needed) for a new kiosk key named after the device,
    with the staff PIN that guards leaving the kiosk's screen. The key is in this answer only."""

    def redeem() -> ApiKeyCreated:
        with context.db.session() as db:
            try:
                row, key = kiosk.redeem_pairing(db, body.code, body.device_name, body.pin)
            except Forbidden:
                if client:
                    context.key_throttle.failed(client)
                raise
            return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)

    return await run_in_threadpool(redeem)


def _kiosk_only(role: RoleDep) -> Role:
    if role is not Role.kiosk:
        raise Forbidden("kiosk_key_needed", f"A {role} key has no staff PIN: use a kiosk key.")
    return role


KIOSK_ONLY = [Depends(_kiosk_only)]
PIN_ERRORS = error_responses(*ANY_KEYED, *ANY_BODY)


@router.put(
    "/pin",
    status_code=204,
    dependencies=KIOSK_ONLY,
    responses={**PIN_ERRORS, **error_responses(409)},
)
def set_pin(db: DbSession, body: KioskPin, key: PresentedKey) -> Response:
    """Sets this kiosk key's staff PIN, if it has none (a key made on the Keys tab)."""
    kiosk.set_pin(db, key or "", body.pin)
    return Response(status_code=204)


@router.post("/unlock", status_code=204, dependencies=KIOSK_ONLY, responses=PIN_ERRORS)
def unlock(db: DbSession, body: KioskPin, key: PresentedKey) -> Response:
    """Checks the staff PIN before the kiosk lets anyone leave its screen; 5 wrong PINs in a
    row lock it for 5 minutes (429)."""
    kiosk.check_pin(db, key or "", body.pin)
    return Response(status_code=204)
