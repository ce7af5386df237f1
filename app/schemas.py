"""Request and response bodies of the REST API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.services.keys import Role
from models.liveness import Action, Verdict


def _as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands datetimes back naive; everything stored is UTC.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


UtcDatetime = Annotated[dt.datetime, AfterValidator(_as_utc)]
Decision = Literal["present", "already_present", "unknown", "ambiguous", "liveness_failed"]
LivenessMode = Literal["off", "challenge"]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, object] = {}


class ErrorResponse(BaseModel):
    error: ErrorBody


class StudentCreate(BaseModel):
    external_id: str = Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")
    name: str = Field(min_length=1, max_length=200)
    active: bool = True


class StudentUpdate(BaseModel):
    """Only the fields sent change; sending null is an error, not "leave as is"."""

    external_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")
    name: str | None = Field(None, min_length=1, max_length=200)
    active: bool | None = None

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
    student: StudentRef
    similarity: float
    distance: float
    threshold: float
    box: list[float]


class SessionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    starts_at: UtcDatetime
    ends_at: UtcDatetime

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


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
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
    name: str = Field(min_length=1, max_length=100)
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
