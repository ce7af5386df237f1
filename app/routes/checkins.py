from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form

from app.deps import ContextDep, PhotoDep, SessionDep
from app.routes.students import PHOTO_ERRORS
from app.schemas import CheckinOut
from app.services import checkin

router = APIRouter(prefix="/checkins", tags=["check-in"])


@router.post("", response_model=CheckinOut, responses=PHOTO_ERRORS)
def check_in(
    context: ContextDep,
    session: SessionDep,
    photo: PhotoDep,
    session_id: Annotated[int | None, Form()] = None,
) -> CheckinOut:
    """Check in every face in the photo against the whole gallery."""
    return checkin.check_in(context, session, photo, session_id)
