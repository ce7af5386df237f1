from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from pydantic import Field

from app.api.deps import (
    MAX_ID,
    CallerDep,
    ContextDep,
    DbSession,
    Digits,
    IdPath,
    PhotoDep,
    PhotosDep,
    PresentedKey,
    ReadDbSession,
    RoleDep,
    allow,
)
from app.api.schemas import (
    ANY_BODY,
    ANY_KEYED,
    ChallengeOut,
    CheckinFace,
    CheckinOut,
    LivenessOut,
    SessionRef,
    VerifyOut,
    error_responses,
)
from app.core.roles import Role
from app.services import checkin, liveness, verification

router = APIRouter(
    tags=["check-in"], dependencies=[allow(Role.kiosk)], responses=error_responses(*ANY_KEYED)
)
PHOTO_ERRORS = error_responses(*ANY_BODY, 404)  # 404: no such session or student


# With a nonce: 404 challenge_not_found, 409 challenge_used, 410 challenge_expired; any
# check-in: 409 session_not_started or session_ended (a session named that is not open); 429
# too_many_attempts: the face failed ROLLCALL_LIVENESS_MAX_ATTEMPTS liveness bursts here.
CHALLENGE_ERRORS = error_responses(*ANY_BODY, 404, 409, 410, 429)
MAX_FRAME_TIME = 2**31 - 1  # ms: the page's performance.now() after weeks of running


@router.post("/checkins/challenge", response_model=ChallengeOut)
def new_challenge(context: ContextDep, db: DbSession, key: PresentedKey) -> ChallengeOut:
    """A liveness challenge: the actions to ask of the person, in order, and a nonce, good
    once and only for the key that asked, to send back with the burst of frames that shows
    them."""
    issued = liveness.issue(context, db, key or "")
    return ChallengeOut(
        nonce=issued.nonce,
        action=issued.action,
        actions=list(issued.actions),
        expires_in=issued.expires_in,
        required=issued.required,
    )


@router.post("/checkins", response_model=CheckinOut, responses=CHALLENGE_ERRORS)
def check_in(
    context: ContextDep,
    db: DbSession,
    caller: CallerDep,
    photos: PhotosDep,
    key: PresentedKey,
    session_id: Annotated[int | None, Form(ge=1, le=MAX_ID), Digits] = None,
    nonce: Annotated[str | None, Form(min_length=1, max_length=64)] = None,
    frame_ms: Annotated[
        list[Annotated[int, Field(ge=0, le=MAX_FRAME_TIME)]] | None,
        Form(
            description="With a nonce: each frame's capture time in ms (any origin, one per "
            "`file`, in order); lets the liveness check see how fast the head moved."
        ),
    ] = None,
) -> CheckinOut:
    """Check in every face in the photo, or in a burst of frames of one scene (`file`
    repeated, up to ROLLCALL_MAX_BURST_FRAMES: each person's faces are fused across frames and
    answered once). A session of a course marks its roster's members only, and only when no
    enrolled non-member is the nearer match (else `not_on_roster`, named to an admin only);
    else the whole gallery. A face too near the threshold answers `retry` (nothing marked).
    A session named that is not open now answers 409 `session_not_started` or `session_ended`
    (to a kiosk key, any session it may not use, missing or not open, is 409
    `session_not_open`, without times). Without a session id, the check-in counts for the
    session in progress; with several in progress (parallel classes at one door), it searches
    the union of their rosters (a session of no course: the whole gallery) and marks each
    student in the session whose roster holds them: on several of them the face answers
    `ambiguous_session`, on none `not_on_roster`, each for that face only.
    With a challenge's nonce, the frames are of one person doing the challenge's actions in
    order, the same number of frames for each: `present` only when every action's part shows
    a live head, else `liveness_failed`; a burst refused before it is judged (422: a frame
    without a face, a frame count that does not split into the actions; 429
    `too_many_attempts`: the face failed ROLLCALL_LIVENESS_MAX_ATTEMPTS checks in this
    session) does not spend it."""
    result = checkin.check_in(
        context,
        db,
        photos,
        session_id,
        nonce,
        key=key or "",
        frame_ms=frame_ms,
        role=caller.role,
        caller=caller,
    )
    return CheckinOut(
        checked_at=result.checked_at,
        day=result.day,
        session=SessionRef.model_validate(result.class_session) if result.class_session else None,
        faces=[CheckinFace.model_validate(face, from_attributes=True) for face in result.faces],
        liveness=LivenessOut.model_validate(result.liveness, from_attributes=True)
        if result.liveness
        else None,
        sessions_searched=result.sessions_searched,
    )


@router.post("/students/{student_id}/verify", response_model=VerifyOut, responses=PHOTO_ERRORS)
def verify_student(
    context: ContextDep,
    db: ReadDbSession,
    student_id: IdPath,
    photo: PhotoDep,
    role: RoleDep,
    key: PresentedKey,
) -> VerifyOut:
    """1:1 verification: is the person in this photo this student? To a kiosk key, a yes or
    a no: a non-match shows no distance, and a student who does not exist or is not enrolled
    is a non-match; a kiosk key's non-matches are limited (429)."""
    verified = verification.verify_as(context, db, student_id, photo, role, key)
    return VerifyOut.model_validate(verified, from_attributes=True)
