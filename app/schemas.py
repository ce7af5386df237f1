"""Request and response bodies of the REST API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from app.services.keys import Role
from models.liveness import Action, Verdict

# Times a request may give, bounded away from the ends of Python's and the databases' ranges so
# that moving them between time zones can never overflow.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def _as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands datetimes back naive; everything stored is UTC.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _iso_text(value: object) -> object:
    # A number is not a time: 0 would silently mean 1970-01-01.
    if not isinstance(value, str | dt.datetime):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


def _within_range(value: dt.datetime) -> dt.datetime:
    problem = f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"
    try:
        value = _as_utc(value)
    except OverflowError as exc:  # e.g. 9999-12-31T23:00-05:00 is in year 10000 in UTC
        raise ValueError(problem) from exc
    if not EARLIEST <= value < LATEST:
        raise ValueError(problem)
    return value


def _without_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; SQLite could, so refuse it the same on both.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


UtcDatetime = Annotated[dt.datetime, AfterValidator(_as_utc)]
RequestDatetime = Annotated[dt.datetime, BeforeValidator(_iso_text), AfterValidator(_within_range)]
Text = Annotated[str, AfterValidator(_without_nul)]  # all text a request may carry
Decision = Literal["present", "already_present", "unknown", "ambiguous", "liveness_failed"]
LivenessMode = Literal["off", "challenge"]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, object] = {}


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS = {
    400: "the body is not well-formed (e.g. a broken multipart form)",
    401: "no access key, or an unknown or revoked one",
    403: "the key's role may not do this",
    404: "no such student, session or key",
    409: "conflicts with what is stored",
    410: "the liveness challenge expired",
    413: "the body, upload or image is too large",
}
ANY_KEYED = (401, 403)  # every endpoint that needs a key
ANY_BODY = (400, 413)  # every endpoint that takes a body


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI answers for these error statuses, all in the ErrorResponse shape."""
    return {status: {"model": ErrorResponse, "description": ERRORS[status]} for status in statuses}


class StudentCreate(BaseModel):
    external_id: Text = Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")
    name: Text = Field(min_length=1, max_length=200)
    active: StrictBool = True


class StudentUpdate(BaseModel):
    """Only the fields sent change; sending null is an error, not "leave as is"."""

    external_id: Text | None = Field(None, min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")
    name: Text | None = Field(None, min_length=1, max_length=200)
    active: StrictBool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> StudentUpdate:
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} cannot be null")
        return self


class StudentRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    name: str


class StudentOut(StudentRef):
    active: bool
    enrolled: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime


class StudentPage(BaseModel):
    items: list[StudentOut]
    total: int
    limit: int
    offset: int


class FaceQualityOut(BaseModel):
    score: float
    face_size: float
    sharpness: float
    yaw: float
    roll: float


class Warning_(BaseModel):
    code: str
    message: str
    student: StudentRef | None = None
    distance: float | None = None


class EnrollmentOut(BaseModel):
    student: StudentRef
    template_id: int
    box: list[float]
    probability: float
    quality: FaceQualityOut
    faces_in_photo: int
    warnings: list[Warning_] = []


class PhotoOut(BaseModel):
    """One of a student's enrolled photos: its template (the photo itself is not served)."""

    id: int
    student_id: int
    backbone: str
    weights_version: str
    box: list[float]
    quality: float
    photo_kept: bool = Field(description="Whether the photo is kept to re-embed from.")
    created_at: UtcDatetime


class CheckinFace(BaseModel):
    decision: Decision
    student: StudentRef | None
    similarity: float | None
    distance: float | None
    threshold: float = Field(
        description="The distance threshold this search used: the stricter, the more people "
        "were searched (ROLLCALL_MAX_FPIR), unless ROLLCALL_THRESHOLD fixes it."
    )
    candidates: int = Field(description="How many enrolled students were searched.")
    box: list[float]
    quality: float
    attendance_id: int | None = None


class SessionRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class LivenessOut(BaseModel):
    action: Action
    verdict: Verdict = Field(description="live, or why not: no_turn, not_same_person, unreadable")
    turn: float = Field(
        description="How far the nose moved across the face's projective frame in the asked "
        "direction; a flat picture stays near 0 (models/liveness.py)."
    )
    spread: float


class ChallengeOut(BaseModel):
    nonce: str
    action: Action = Field(description="turn_left or turn_right: the person's own left or right")
    expires_in: int = Field(description="Seconds the nonce stays good; it is good once.")
    required: bool = Field(description="Whether check-ins without a nonce are refused.")


class CheckinOut(BaseModel):
    checked_at: UtcDatetime
    day: dt.date
    session: SessionRef | None
    faces: list[CheckinFace]
    liveness: LivenessOut | None = Field(
        None, description="The liveness check of a burst sent with a challenge's nonce."
    )


class VerifyOut(BaseModel):
    match: bool
    student: StudentRef | None  # only when the face matches: a kiosk must not read the roster
    similarity: float
    distance: float
    threshold: float
    box: list[float]


class SessionCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=200)
    starts_at: RequestDatetime
    ends_at: RequestDatetime

    @model_validator(mode="after")
    def _ends_after_start(self) -> SessionCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SessionOut(SessionRef):
    starts_at: UtcDatetime
    ends_at: UtcDatetime


class AttendanceOut(BaseModel):
    id: int
    student: StudentRef
    session: SessionRef | None
    day: dt.date
    first_checkin_at: UtcDatetime
    similarity: float
    checkin_id: int | None


class SessionReport(BaseModel):
    session: SessionOut
    present: list[AttendanceOut]
    absent: list[StudentRef]


class HealthStatus(BaseModel):
    status: Literal["ok", "degraded"]


class HealthOut(HealthStatus):
    model_loaded: bool
    database: bool
    backbone: str
    weights_version: str
    threshold: float = Field(description="The threshold of a check-in against the whole gallery.")
    max_fpir: float | None = Field(
        description="Largest share of strangers taken for somebody (None: fixed threshold)."
    )
    gallery_templates: int
    gallery_students: int
    stale_templates: int


class ApiKeyCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=100)
    role: Role


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    prefix: str
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str  # shown once


class RoleOut(BaseModel):
    role: Role
    liveness: LivenessMode = Field(description="challenge: check-ins need a liveness challenge")
