from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form

from app.deps import MAX_ID, ContextDep, Digits, IdPath, PhotoDep, ReadSessionDep, SessionDep, allow
from app.schemas import ANY_BODY, ANY_KEYED, CheckinOut, VerifyOut, error_responses
from app.services import checkin
from app.services.keys import Role

router = APIRouter(
    tags=["check-in"], dependencies=[allow(Role.kiosk)], responses=error_responses(*ANY_KEYED)
)
PHOTO_ERRORS = error_responses(*ANY_BODY, 404)  # 404: no such session or student


@router.post("/checkins", response_model=CheckinOut, responses=PHOTO_ERRORS)
def check_in(
    context: ContextDep,
    session: SessionDep,
    photo: PhotoDep,
    session_id: Annotated[int | None, Digits, Form(ge=1, le=MAX_ID)] = None,
) -> CheckinOut:
    """Check in every face in the photo against the whole gallery."""
    return checkin.check_in(context, session, photo, session_id)


@router.post("/students/{student_id}/verify", response_model=VerifyOut, responses=PHOTO_ERRORS)
def verify_student(
    context: ContextDep, session: ReadSessionDep, student_id: IdPath, photo: PhotoDep
) -> VerifyOut:
    """1:1 verification: is the person in this photo this student?"""
    return checkin.verify(context, session, student_id, photo)
