from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import DbSession, IdPath, PresentedKey, ReadDbSession, allow
from app.api.schemas import (
    ANY_BODY,
    ANY_KEYED,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    KeyCoursesIn,
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
    responses=error_responses(*ANY_BODY, 404),
)
def create_key(db: DbSession, body: ApiKeyCreate) -> ApiKeyCreated:
    """A new key. The key itself is in this answer only: it is stored hashed. A teacher key
    may be given its courses here (`course_ids`; another role's key: 422
    `not_a_teacher_key`; an unknown course: 404 `course_not_found`, and no key is made)."""
    row, key = keys.create_key(db, body.name, body.role, body.course_ids)
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


@router.get("", response_model=list[ApiKeyOut])
def list_keys(db: ReadDbSession) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(row) for row in keys.list_keys(db)]


@router.put(
    "/{key_id}/courses",
    response_model=ApiKeyOut,
    responses=error_responses(*ANY_BODY, 404),
)
def set_key_courses(db: DbSession, key_id: IdPath, body: KeyCoursesIn) -> ApiKeyOut:
    """Replace a teacher key's courses: it reads their rosters, sessions and attendance and
    corrects their marks, and sees nothing of other courses. Another role's key: 422
    `not_a_teacher_key`; an unknown course: 404 `course_not_found` (nothing changes)."""
    return ApiKeyOut.model_validate(keys.set_courses(db, key_id, body.course_ids))


@router.delete("/{key_id}", response_model=ApiKeyOut, responses=error_responses(404, 409))
def revoke_key(db: DbSession, key_id: IdPath, key: PresentedKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(keys.revoke_key(db, key_id, presented_key=key))
