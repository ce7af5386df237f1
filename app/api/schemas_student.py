"""Response bodies of a student's record (the office's student page)."""

from __future__ import annotations

from typing import cast

from pydantic import BaseModel, Field

from app.api.schemas import CourseRef, SessionOut, StudentOut, session_out
from app.core.domain import MarkSource, MarkStatus, UtcDatetime
from app.services.student_record import CourseRate, RecordEntry


class RecordEntryOut(BaseModel):
    session: SessionOut
    course: CourseRef | None
    status: MarkStatus = Field(description="absent also when the student was never marked")
    source: MarkSource | None = Field(description="null: never marked")
    reason: str | None
    first_checkin_at: UtcDatetime | None
    attendance_id: int | None = Field(description="the mark's id; null: never marked")
    has_thumbnail: bool = Field(
        False, description="a face thumbnail of the check-in is kept (GET .../thumbnail)"
    )


class CourseRateOut(BaseModel):
    course: CourseRef | None = Field(description="null: the sessions of no course")
    sessions: int
    present: int
    late: int
    excused: int
    absent: int
    rate: float | None = Field(description="(present + late) / (sessions - excused)")


class StudentRecordOut(BaseModel):
    student: StudentOut
    courses: list[CourseRef]
    held: int = Field(description="Every held session that counted for the student.")
    history: list[RecordEntryOut] = Field(description="Newest first, at most `limit`.")
    rates: list[CourseRateOut]
    last_seen_at: UtcDatetime | None = Field(description="The latest check-in's time.")


def record_entry_out(entry: RecordEntry) -> RecordEntryOut:
    mark = entry.mark
    return RecordEntryOut(
        session=session_out(entry.session),
        course=CourseRef.model_validate(entry.course) if entry.course else None,
        status=cast(MarkStatus, entry.status),
        source=cast(MarkSource, mark.source) if mark else None,
        reason=mark.reason if mark else None,
        first_checkin_at=mark.first_checkin_at if mark else None,
        attendance_id=mark.id if mark else None,
        has_thumbnail=bool(mark.has_thumbnail) if mark else False,
    )


def course_rate_out(rate: CourseRate) -> CourseRateOut:
    return CourseRateOut(
        course=CourseRef.model_validate(rate.course) if rate.course else None,
        sessions=rate.sessions,
        rate=rate.rate,
        **rate.counts,
    )
