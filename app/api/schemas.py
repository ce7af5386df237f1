"""Request and response bodies of the REST API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
)

from app.core.domain import (
    Decision,
    LivenessMode,
    MarkSource,
    MarkStatus,
    SessionState,
    Text,
    UtcDatetime,
)
from app.core.roles import Role
from app.core.tables import Attendance, ClassSession
from models.liveness import Action, Verdict


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, object] = {}


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS = {
    400: "the request is not well-formed HTTP, or its body is not (e.g. a broken multipart form)",
    401: "no access key, or an unknown or revoked one",
    403: "the key's role may not do this",
    404: "no such student, session or key",
    409: "conflicts with what is stored",
    410: "the liveness challenge expired",
    413: "the body, upload or image is too large",
    414: "the request's path and query exceed 8 KiB",
    429: "too many unknown access keys from this client of late (see Retry-After)",
    431: "the request's headers (or, on h11, its line and headers) exceed 16 KiB",
    500: "a bug: logged under the answer's request id",
    503: "the database is down, silent or locked (see Retry-After)",
}
ANY_REQUEST = (400, 414, 431, 500, 503)  # whatever the endpoint
ANY_KEYED = (401, 403, 429, *ANY_REQUEST)  # every endpoint that needs a key
ANY_BODY = (413,)  # every endpoint that takes a body


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI answers for these error statuses, all in the ErrorResponse shape."""
    return {status: {"model": ErrorResponse, "description": ERRORS[status]} for status in statuses}


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


class EnrollmentWarning(BaseModel):
    """What an enrollment that went through should make the admin check (e.g. a look-alike)."""

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
    warnings: list[EnrollmentWarning] = []


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
    decision: Decision = Field(
        description="present, already_present, unknown, ambiguous, retry, not_on_roster, "
        "liveness_failed; with several sessions in progress and no session id, "
        "ambiguous_session: the student is on more than one running session's roster, so "
        "nobody knows which class to mark (nothing is marked; see staff).",
        examples=["present"],
    )
    student: StudentRef | None
    similarity: float | None
    distance: float | None
    threshold: float = Field(
        description="The distance threshold this face was decided with: the stricter, the more "
        "people were searched (ROLLCALL_MAX_FPIR) and the nearer the runner-up student was, "
        "unless ROLLCALL_THRESHOLD fixes it."
    )
    candidates: int = Field(
        description="How many enrolled students were searched: a course session's roster "
        "(parallel sessions in progress: the union of their rosters), else the whole gallery."
    )
    box: list[float]
    quality: float
    attendance_id: int | None = Field(
        None, description="present: the row written; already_present: the existing row."
    )
    first_checkin_at: UtcDatetime | None = Field(
        None, description="already_present: when the existing row was written."
    )
    late: bool = Field(False, description="After the session's start plus its grace period.")
    status: MarkStatus | None = Field(
        None,
        description="present or already_present: the student's mark now. A manual mark (e.g. "
        "excused) is never overwritten: the check-in then answers already_present with it.",
    )
    source: MarkSource | None = Field(None, description="Who made that mark: face or manual.")
    runner_up: StudentRef | None = Field(
        None,
        description="ambiguous: the other student the face could be; shown to admin keys only "
        "(a kiosk learns only that it was ambiguous).",
    )
    frames: int = Field(1, description="How many frames of a burst showed this face.")
    session_id: int | None = Field(
        None,
        description="present or already_present: the class session the student was marked "
        "in (with parallel sessions, the one whose roster holds them); else null.",
        examples=[12],
    )
    ambiguous_session_ids: list[int] | None = Field(
        None,
        description="ambiguous_session: the running sessions whose rosters all hold the "
        "student; shown to admin keys only.",
        examples=[[12, 13]],
    )


class SessionRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class LivenessOut(BaseModel):
    action: Action = Field(description="The first of `actions` (kept for older clients).")
    actions: list[Action] = Field(description="The challenge's actions, in the order asked.")
    verdict: Verdict = Field(
        description="live, or why not: no_turn (did not move as asked, or flat), "
        "not_same_person, unreadable; or the motion was not a head's: jump (two pictures "
        "swapped or mirrored), reversed, too_short, too_fast (models/liveness_motion.py); "
        "flat_halves (the nose stayed in the plane of each half of the face: a print creased "
        "down the nose, models/liveness_shape.py)"
    )
    step: int | None = Field(
        None, description="The refused action's index in `actions` (0 first); null when live."
    )
    turn: float = Field(
        description="How far the nose moved across the face's projective frame in the asked "
        "direction (the refused action's; live: the action that moved least); a flat picture "
        "stays near 0 (models/liveness.py)."
    )
    spread: float
    largest_step: float | None = Field(
        None, description="The largest step between two frames, as a share of the whole move."
    )
    span_ms: float | None = Field(None, description="First to last capture time, when sent.")


class ChallengeOut(BaseModel):
    nonce: str
    action: Action = Field(
        description="The first of `actions` (kept for older clients, which ask only it: "
        "their bursts are refused `burst_size` when the challenge has several actions)."
    )
    actions: list[Action] = Field(
        description="What to ask, in order, each prompted and filmed apart (4 to "
        "ROLLCALL_MAX_BURST_FRAMES frames each, the same number for each, all sent in one "
        "burst in this order): turn_left, turn_right (the person's own left or right), "
        "look_up, look_down.",
        examples=[["turn_left", "look_up"]],
    )
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
    sessions_searched: int = Field(
        0,
        description="How many class sessions the check-in counted for: 0, the calendar day; "
        "1, `session`; more, parallel sessions in progress (`session` is null and each "
        "face's `session_id` says where it was marked).",
        examples=[2],
    )


class VerifyOut(BaseModel):
    match: bool
    student: StudentRef | None  # only when the face matches: a kiosk must not read the roster
    # None on a kiosk's non-match: a distance would let it scan students with one photo.
    similarity: float | None
    distance: float | None
    threshold: float
    box: list[float] | None


class SessionOut(SessionRef):
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    course_id: int | None = None
    grace_minutes: int | None = None
    series_id: int | None = Field(None, description="The timetable series that made it.")
    state: SessionState | None = Field(
        None, description="upcoming, in_progress or ended, when the answer was made."
    )

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "name": "Maths 101, period 1",
                    "starts_at": "2026-11-24T08:00:00Z",
                    "ends_at": "2026-11-24T09:00:00Z",
                    "course_id": 3,
                    "grace_minutes": 10,
                    "series_id": None,
                    "state": "in_progress",
                }
            ]
        },
    )


def session_out(row: ClassSession, now: dt.datetime | None = None) -> SessionOut:
    """A class session as answered, with its state now."""
    now = now or dt.datetime.now(dt.UTC)
    out = SessionOut.model_validate(row, from_attributes=True)
    if now < out.starts_at:
        out.state = "upcoming"
    else:
        out.state = "ended" if now > out.ends_at else "in_progress"
    return out


class SessionPage(BaseModel):
    items: list[SessionOut]
    total: int = Field(description="Sessions matching the filters, on every page.")
    limit: int
    offset: int


class SessionDeleted(BaseModel):
    id: int
    marks_deleted: int = Field(description="Attendance marks deleted with it (?force=true).")


class AttendanceOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "student": {"id": 3, "external_id": "S-003", "name": "Ada Byron"},
                    "session": {"id": 2, "name": "Maths 9A"},
                    "day": "2026-11-24",
                    "first_checkin_at": None,
                    "similarity": None,
                    "late": False,
                    "checkin_id": None,
                    "status": "excused",
                    "source": "manual",
                    "reason": "doctor's note",
                    "has_thumbnail": False,
                }
            ]
        }
    )

    id: int
    student: StudentRef
    session: SessionRef | None
    day: dt.date
    first_checkin_at: UtcDatetime | None = Field(
        description="The first check-in's time; null for a manual mark nobody checked in for."
    )
    similarity: float | None
    late: bool = Field(description="status is late (kept for older clients).")
    checkin_id: int | None
    status: MarkStatus
    source: MarkSource
    reason: str | None
    has_thumbnail: bool = Field(
        False,
        description="A face thumbnail is kept with this mark: GET /sessions/{session_id}/"
        "attendance/{student_id}/thumbnail (admin and the course's teachers).",
    )


class MarkEventOut(BaseModel):
    """One change to a mark, as kept in the append-only audit trail."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "created_at": "2026-11-24T09:20:00Z",
                    "student_id": 3,
                    "session_id": 2,
                    "action": "correction",
                    "key_id": 4,
                    "key_name": "Ms Smith",
                    "before_status": "present",
                    "before_source": "face",
                    "after_status": "excused",
                    "after_source": "manual",
                    "reason": "doctor's note",
                }
            ]
        },
    )

    id: int
    created_at: UtcDatetime
    student_id: int
    session_id: int | None
    action: Literal["checkin", "correction", "undo"]
    key_id: int | None = Field(description="null: the bootstrap admin key (ROLLCALL_ADMIN_KEY).")
    key_name: str
    before_status: MarkStatus | None = Field(description="null: no mark before")
    before_source: MarkSource | None
    after_status: MarkStatus | None = Field(description="null: no mark after (an undo)")
    after_source: MarkSource | None
    reason: str | None


def attendance_out(row: Attendance) -> AttendanceOut:
    """An attendance row, its student and class session loaded, as answered."""
    return AttendanceOut.model_validate(row, from_attributes=True)


class SessionBoard(BaseModel):
    """A session's live board: its marks and who is absent."""

    session: SessionOut
    course: CourseRef | None = None
    present: list[AttendanceOut] = Field(description="Everyone marked present, late or not.")
    late: list[AttendanceOut] = Field(description="Those present who came after the grace.")
    absent: list[StudentRef] = Field(
        description="Marked absent, or roster members (a course's session; else active "
        "students) never marked."
    )
    excused: list[AttendanceOut] = Field([], description="Those marked excused.")
    not_on_roster: int = Field(
        0, description="Faces recognised as enrolled students not on the course's roster."
    )


class SessionReport(SessionBoard):
    events: list[MarkEventOut] = Field(
        [], description="Every change to this session's marks, oldest first."
    )


class CourseRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str


class CourseOut(CourseRef):
    students: int = Field(description="How many students the roster holds.")
    created_at: UtcDatetime


class RosterIn(BaseModel):
    # Strict: JSON's true, 1.0 and "1" are not ids (all three were taken as 1).
    student_ids: list[Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]] = Field(
        max_length=10_000, description="The whole roster: replaces the one stored."
    )


class RosterOut(BaseModel):
    course: CourseRef
    students: list[StudentRef]


class HealthStatus(BaseModel):
    status: Literal["ok", "degraded"]


class HealthOut(HealthStatus):
    model_loaded: bool
    database: bool
    backbone: str
    weights_version: str
    threshold: float = Field(
        description="The distance threshold of a check-in against the whole gallery, by its "
        "size alone; with the shipped weights each check-in's own threshold also follows its "
        "runner-up (the nearer the next student, the stricter)."
    )
    max_fpir: float | None = Field(
        description="Largest share of strangers taken for somebody (None: fixed threshold)."
    )
    gallery_templates: int
    gallery_students: int
    stale_templates: int


CourseIds = list[Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "front kiosk", "role": "kiosk"},
                {"name": "Ms Smith", "role": "teacher", "course_ids": [1, 2]},
            ]
        }
    )

    name: Text = Field(min_length=1, max_length=100)
    role: Role
    course_ids: CourseIds = Field(
        [], max_length=1000, description="A teacher key's courses (only a teacher key has any)."
    )


class KeyCoursesIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"course_ids": [1, 3]}]})

    course_ids: CourseIds = Field(
        max_length=1000, description="The teacher key's courses: replaces those stored."
    )


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    prefix: str
    course_ids: list[int] = Field([], description="A teacher key's courses.")
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str  # shown once


class KioskPairingOut(BaseModel):
    code: str = Field(description="typed on the kiosk, once", examples=["K7QM-4XPD"])
    expires_at: UtcDatetime
    kiosk_url: str = Field(
        description="the kiosk page with the code filled in",
        examples=["https://school.lan/kiosk?pair=K7QM-4XPD"],
    )
    qr_svg: str = Field(description="a QR code of kiosk_url, as an SVG document")


class RoleOut(BaseModel):
    role: Role
    liveness: LivenessMode = Field(description="challenge: check-ins need a liveness challenge")
