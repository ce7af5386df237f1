"""Reports over many sessions: attendance rates and the chronically absent."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.csv_answers import CSV_OR_JSON, AcceptHeader, FormatQuery, csv_response, wants_csv
from app.api.deps import CallerDep, ContextDep, DateQuery, IdQuery, ReadDbSession, allow
from app.api.schemas import ANY_KEYED, CourseRef, StudentRef, error_responses
from app.core.roles import Role
from app.services import rates

router = APIRouter(
    prefix="/reports",
    tags=["reports"],
    dependencies=[allow(Role.viewer, Role.teacher)],
    responses=error_responses(*ANY_KEYED),
)


class StudentRateOut(BaseModel):
    student: StudentRef
    sessions: int = Field(description="Sessions held in the range that expected the student.")
    present: int
    late: int
    excused: int
    absent: int = Field(description="Marked absent, or never marked.")
    rate: float | None = Field(
        description="(present + late) / (sessions - excused); null when that is no session."
    )


class RatesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "course": {"id": 1, "code": "MATH-9A", "name": "Maths 9A"},
                    "date_from": "2026-11-02",
                    "date_to": "2026-11-27",
                    "threshold": 0.9,
                    "sessions": 10,
                    "students": [
                        {
                            "student": {"id": 3, "external_id": "S-003", "name": "Ada Byron"},
                            "sessions": 10,
                            "present": 6,
                            "late": 1,
                            "excused": 1,
                            "absent": 2,
                            "rate": 0.875,
                        }
                    ],
                    "chronic": [
                        {
                            "student": {"id": 3, "external_id": "S-003", "name": "Ada Byron"},
                            "sessions": 10,
                            "present": 6,
                            "late": 1,
                            "excused": 1,
                            "absent": 2,
                            "rate": 0.875,
                        }
                    ],
                }
            ]
        }
    )

    course: CourseRef | None
    date_from: dt.date | None
    date_to: dt.date | None
    threshold: float = Field(description="ROLLCALL_CHRONIC_ABSENCE_RATE: below it, chronic.")
    sessions: int = Field(description="Sessions held in the range (started by now).")
    students: list[StudentRateOut]
    chronic: list[StudentRateOut] = Field(description="Students whose rate is below threshold.")


def _rate_out(one: rates.StudentRate) -> StudentRateOut:
    return StudentRateOut(
        student=StudentRef.model_validate(one.student),
        sessions=one.sessions,
        rate=one.rate,
        **one.counts,
    )


@router.get(
    "/attendance",
    response_model=RatesOut,
    responses={**CSV_OR_JSON, **error_responses(404)},
)
def attendance_rates(
    context: ContextDep,
    db: ReadDbSession,
    caller: CallerDep,
    course_id: IdQuery = None,
    date_from: DateQuery = None,
    date_to: DateQuery = None,
    format: FormatQuery = None,
    accept: AcceptHeader = None,
) -> RatesOut | Response:
    """Per student over the sessions held in the range (of one course, or all; days in
    ROLLCALL_TIMEZONE; a session counts once it has started): sessions, present, late,
    excused, absent and the rate, (present + late) / (sessions - excused); and the
    chronically absent, below ROLLCALL_CHRONIC_ABSENCE_RATE (default 0.9). A teacher key: its
    courses only (another course: 404). `?format=csv` or `Accept: text/csv`: one row per
    student, with a `chronic` column (yes/no)."""
    report = rates.attendance_rates(
        db,
        course_id=course_id,
        date_from=date_from,
        date_to=date_to,
        timezone=context.settings.timezone,
        threshold=context.settings.chronic_absence_rate,
        course_ids=caller.course_ids,
    )
    if wants_csv(format, accept):
        return csv_response(rates.rates_csv(report), "attendance-rates.csv")
    return RatesOut(
        course=CourseRef.model_validate(report.course) if report.course else None,
        date_from=report.date_from,
        date_to=report.date_to,
        threshold=report.threshold,
        sessions=report.sessions,
        students=[_rate_out(one) for one in report.students],
        chronic=[_rate_out(one) for one in report.chronic],
    )
