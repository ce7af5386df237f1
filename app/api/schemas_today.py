"""The answer of GET /sessions/today: a school day's sessions, each with its live board."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from app.api.schemas import CourseRef, SessionBoard, StudentRef, attendance_out, session_out
from app.services.attendance import SessionMarks


class TodayOut(BaseModel):
    day: dt.date = Field(description="The school's calendar day (ROLLCALL_TIMEZONE).")
    sessions: list[SessionBoard] = Field(
        description="Those in progress first, then those to come, then those ended, each "
        "group in time order."
    )


def board_out(board: SessionMarks, now: dt.datetime) -> SessionBoard:
    return SessionBoard(
        session=session_out(board.class_session, now),
        course=CourseRef.model_validate(board.course) if board.course else None,
        present=[attendance_out(row) for row in board.present],
        late=[attendance_out(row) for row in board.late],
        excused=[attendance_out(row) for row in board.excused],
        absent=[StudentRef.model_validate(student) for student in board.absent],
        not_on_roster=board.not_on_roster,
    )
