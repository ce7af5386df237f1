from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import DbSession, IdPath, PresentedKey, ReadDbSession, allow
from app.api.schemas import (
    ANY_BODY,
    ANY_KEYED,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    error_responses,
)
from app.services import keys

router = APIRouter(
    prefix="/keys",
    tags=["access keys"],
    dependencies=[allow()],  # admin only
    responses=error_responses(*ANY_KEYED),
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=error_responses(*ANY_BODY),
)
def create_key(db: DbSession, body: ApiKeyCreate) -> ApiKeyCreated:
    """A new key. The key itself is in this answer only: it is stored hashed."""
    row, key = keys.create_key(db, body.name, body.role)
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


@router.get("", response_model=list[ApiKeyOut])
def list_keys(db: ReadDbSession) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(row) for row in keys.list_keys(db)]


@router.delete("/{key_id}", response_model=ApiKeyOut, responses=error_responses(404, 409))
def revoke_key(db: DbSession, key_id: IdPath, key: PresentedKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(keys.revoke_key(db, key_id, presented_key=key))
