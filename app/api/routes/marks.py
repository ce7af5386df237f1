"""A session's register, mark by mark: corrections, undo, and each mark's audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import CallerDep, ContextDep, DbSession, IdPath, ReadDbSession, allow
from app.api.schemas import (
    ANY_BODY,
    ANY_KEYED,
    AttendanceOut,
    MarkEventOut,
    attendance_out,
    error_responses,
)
from app.core.domain import MarkSet, Reason
from app.core.roles import Role
from app.services import marks

router = APIRouter(
    prefix="/sessions/{session_id}/attendance/{student_id}",
    tags=["attendance"],
    dependencies=[allow(Role.teacher)],
    responses=error_responses(*ANY_KEYED, 404),
)


@router.put("", response_model=AttendanceOut, responses=error_responses(*ANY_BODY))
def set_mark(
    context: ContextDep,
    db: DbSession,
    caller: CallerDep,
    session_id: IdPath,
    student_id: IdPath,
    body: MarkSet,
) -> AttendanceOut:
    """Set the student's status in the session by hand: `present`, `late`, `excused` or
    `absent`, with an optional reason. The mark's source becomes `manual` (a check-in's time
    and similarity stay); a later check-in never overwrites it. The student must be on the
    session's course's roster or marked in it already (else 404). An admin key, or a teacher
    key of the session's course (another course's session: 404)."""
    row = marks.set_mark(db, caller, session_id, student_id, body, context.settings.timezone)
    return attendance_out(row)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def undo_mark(
    db: DbSession,
    caller: CallerDep,
    session_id: IdPath,
    student_id: IdPath,
    reason: Annotated[Reason | None, Query(description="Why, kept in the audit trail.")] = None,
) -> None:
    """Undo the student's mark in the session (e.g. a wrong check-in): the row goes, the
    student counts as absent again and may check in. 404 `mark_not_found` when there is none."""
    marks.undo_mark(db, caller, session_id, student_id, reason)


@router.get("/history", response_model=list[MarkEventOut])
def mark_history(
    db: ReadDbSession, caller: CallerDep, session_id: IdPath, student_id: IdPath
) -> list[MarkEventOut]:
    """Every change to the student's mark in the session, oldest first: check-ins,
    corrections and undos, each with the key that made it, before, after and reason."""
    return [
        MarkEventOut.model_validate(event)
        for event in marks.history(db, caller, session_id, student_id)
    ]
