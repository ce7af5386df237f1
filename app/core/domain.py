"""What the service's callers may give it, validated once: the REST bodies reuse these, the
roster import and the CLI build them; the answers a check-in can give. Imports no ML and no HTTP.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    JsonValue,
    StrictBool,
    model_validator,
)

from app.core.tables import as_utc

# Times a request may give, bounded away from the ends of Python's and the databases' ranges so
# that moving them between time zones can never overflow.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def _iso_text(value: object) -> object:
    # A number is not a time: 0 would silently mean 1970-01-01.
    if not isinstance(value, str | dt.datetime):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


def _zoned(value: dt.datetime) -> dt.datetime:
    # Never silently UTC: 09:00 without a zone is a different instant in every school.
    if value.tzinfo is None:
        raise ValueError("must carry a time zone, e.g. 2026-11-24T09:00:00+01:00 or ...Z")
    return value


def _within_range(value: dt.datetime) -> dt.datetime:
    problem = f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"
    try:
        value = as_utc(value)
    except OverflowError as exc:  # e.g. 9999-12-31T23:00-05:00 is in year 10000 in UTC
        raise ValueError(problem) from exc
    if not EARLIEST <= value < LATEST:
        raise ValueError(problem)
    return value


def _without_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; SQLite could, so refuse it the same on both.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    # Nor any other control character (CR, LF, tab, ESC, DEL, C1): no name needs one, and in
    # an export or a terminal they split rows, hide text or send escape sequences.
    control = next((c for c in value if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise ValueError(f"must not contain control characters (found U+{ord(control):04X})")
    return value


def canonical_id(value: object) -> object:
    """An external id or a course code as stored: NFKC-normalised (fullwidth digits become
    digits) and without format characters (zero-width spaces, direction marks), so that ids
    that look the same are the same (a fullwidth "S12", or one with a zero-width
    space, made a new student)."""
    if not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFKC", value)
    return "".join(c for c in value if unicodedata.category(c) != "Cf")


CanonicalId = BeforeValidator(canonical_id)
UtcDatetime = Annotated[dt.datetime, AfterValidator(as_utc)]
RequestDatetime = Annotated[
    dt.datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_zoned),
    AfterValidator(_within_range),
]
Text = Annotated[str, AfterValidator(_without_nul)]  # all text a request may carry
Decision = Literal[
    "present",
    "already_present",
    "unknown",
    "ambiguous",
    "retry",
    "not_on_roster",
    "ambiguous_session",
    "liveness_failed",
]
LivenessMode = Literal["off", "challenge"]


class PatchBody(BaseModel):
    """A PATCH body: only the fields sent change; a field sent as null is an error, not
    "leave as is"."""

    @model_validator(mode="after")
    def _no_nulls(self) -> PatchBody:
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} cannot be null")
        return self


class StudentCreate(BaseModel):
    external_id: Annotated[Text, CanonicalId] = Field(
        min_length=1, max_length=64, pattern=r"^\S(.*\S)?$"
    )
    name: Text = Field(min_length=1, max_length=200)
    active: StrictBool = True


class StudentUpdate(PatchBody):
    external_id: Annotated[Text, CanonicalId] | None = Field(
        None, min_length=1, max_length=64, pattern=r"^\S(.*\S)?$"
    )
    name: Text | None = Field(None, min_length=1, max_length=200)
    active: StrictBool | None = None


class SessionCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=200)
    starts_at: RequestDatetime
    ends_at: RequestDatetime
    course_id: int | None = Field(
        None, ge=1, le=2**63 - 1, description="A course's session searches its roster only."
    )
    grace_minutes: int | None = Field(
        None,
        ge=0,
        le=24 * 60,
        description="Check-ins later than the start plus this are flagged late; null: never.",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Maths 101, period 1",
                    "starts_at": "2026-11-24T09:00:00+01:00",
                    "ends_at": "2026-11-24T10:00:00+01:00",
                    "course_id": 3,
                    "grace_minutes": 10,
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _ends_after_start(self) -> SessionCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


SessionState = Literal["upcoming", "in_progress", "ended"]


class SessionUpdate(BaseModel):
    """A PATCH of a class session: only the fields sent change. `course_id` and
    `grace_minutes` may be sent as null (no course: the whole gallery; no grace: never
    late); `name` and the times may not."""

    name: Text | None = Field(None, min_length=1, max_length=200)
    starts_at: RequestDatetime | None = None
    ends_at: RequestDatetime | None = None
    course_id: int | None = Field(None, ge=1, le=2**63 - 1)
    grace_minutes: int | None = Field(None, ge=0, le=24 * 60)

    model_config = {"json_schema_extra": {"examples": [{"ends_at": "2026-11-24T10:15:00+01:00"}]}}

    @model_validator(mode="after")
    def _no_nulls(self) -> SessionUpdate:
        required = {"name", "starts_at", "ends_at"}
        nulls = [n for n in self.model_fields_set & required if getattr(self, n) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} cannot be null")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


CourseCode = Annotated[
    Text, CanonicalId, Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")
]


class CourseCreate(BaseModel):
    code: CourseCode
    name: Text = Field(min_length=1, max_length=200)


class CourseUpdate(PatchBody):
    code: CourseCode | None = None
    name: Text | None = Field(None, min_length=1, max_length=200)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SERIES_DAYS = 2 * 366  # a series spans at most two years: a term is a few months


def _date_text(value: object) -> object:
    # Pydantic would take a number as a Unix time: 0 would be 1970-01-01.
    if not isinstance(value, str | dt.date) or isinstance(value, dt.datetime):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


def _time_text(value: object) -> object:
    if not isinstance(value, str | dt.time):
        raise ValueError("must be a wall-clock time written HH:MM")
    return value


def _wall_clock(value: dt.time) -> dt.time:
    # The series' zone decides the instant: a time with its own offset would fight it.
    if value.tzinfo is not None:
        raise ValueError("must be a wall-clock time without an offset (the zone is `timezone`)")
    return value


def _known_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone, e.g. Europe/London") from None
    return value


def _weekdays_in_order(value: list[Weekday]) -> list[Weekday]:
    return sorted(set(value), key=WEEKDAYS.index)


SeriesDate = Annotated[dt.date, BeforeValidator(_date_text)]
WallClock = Annotated[dt.time, BeforeValidator(_time_text), AfterValidator(_wall_clock)]
ZoneName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_known_zone)]
Weekdays = Annotated[
    list[Weekday], Field(min_length=1, max_length=7), AfterValidator(_weekdays_in_order)
]
SkipDates = Annotated[list[SeriesDate], Field(max_length=500)]
SERIES_EXAMPLE: dict[str, JsonValue] = {
    "name": "Maths 9A",
    "course_id": 3,
    "weekdays": ["mon", "thu"],
    "starts_time": "09:00",
    "ends_time": "09:50",
    "timezone": "Europe/London",
    "grace_minutes": 5,
    "room": "B12",
    "first_date": "2026-09-07",
    "last_date": "2026-12-18",
    "skip_dates": ["2026-10-26", "2026-10-29"],
}


class SeriesCreate(BaseModel):
    """A recurring class: its sessions are made on each weekday listed between the first and
    last date (both included), but for the skipped dates, at this wall-clock time in
    `timezone` (none: the service's ROLLCALL_TIMEZONE), across daylight-saving changes."""

    name: Text = Field(min_length=1, max_length=200, description="Each session's name.")
    course_id: int | None = Field(None, ge=1, le=2**63 - 1)
    weekdays: Weekdays
    starts_time: WallClock
    ends_time: WallClock
    timezone: ZoneName | None = None
    grace_minutes: int | None = Field(None, ge=0, le=24 * 60)
    room: Text | None = Field(None, min_length=1, max_length=100)
    first_date: SeriesDate
    last_date: SeriesDate
    skip_dates: SkipDates = []

    model_config = {"json_schema_extra": {"examples": [SERIES_EXAMPLE]}}

    @model_validator(mode="after")
    def _consistent(self) -> SeriesCreate:
        check_series(self.starts_time, self.ends_time, self.first_date, self.last_date)
        return self


def check_series(starts: dt.time, ends: dt.time, first: dt.date, last: dt.date) -> None:
    if ends <= starts:
        raise ValueError("ends_time must be after starts_time (a session ends on its day)")
    if last < first:
        raise ValueError("last_date must not be before first_date")
    if (last - first).days > MAX_SERIES_DAYS:
        raise ValueError(f"a series spans at most {MAX_SERIES_DAYS} days")


class SeriesUpdate(BaseModel):
    """A change to a series, for its sessions from a date on: only the fields sent change;
    `course_id`, `grace_minutes` and `room` may be null (none)."""

    name: Text | None = Field(None, min_length=1, max_length=200)
    course_id: int | None = Field(None, ge=1, le=2**63 - 1)
    weekdays: Weekdays | None = None
    starts_time: WallClock | None = None
    ends_time: WallClock | None = None
    grace_minutes: int | None = Field(None, ge=0, le=24 * 60)
    room: Text | None = Field(None, min_length=1, max_length=100)
    last_date: SeriesDate | None = None
    skip_dates: SkipDates | None = None

    model_config = {
        "json_schema_extra": {"examples": [{"starts_time": "09:10", "ends_time": "10:00"}]}
    }

    @model_validator(mode="after")
    def _no_nulls(self) -> SeriesUpdate:
        nullable = {"course_id", "grace_minutes", "room"}
        nulls = [n for n in self.model_fields_set - nullable if getattr(self, n) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} cannot be null")
        return self


StaffPin = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4,12}$",
        description="4 to 12 digits (6 or more advised); guards leaving a kiosk's screen",
        examples=["482913"],
    ),
]


class KioskPairingRedeem(BaseModel):
    code: Text = Field(
        min_length=8, max_length=20, description="the code the office shows", examples=["K7QM-4XPD"]
    )
    device_name: Text = Field(
        min_length=1,
        max_length=100,
        pattern=r"^\S(.*\S)?$",
        description="what the kiosk key is named in the office's Keys tab",
        examples=["Front door tablet"],
    )
    pin: StaffPin


class KioskPin(BaseModel):
    pin: StaffPin


MarkStatus = Literal["present", "late", "excused", "absent"]
MarkSource = Literal["face", "manual"]
Reason = Annotated[Text, Field(min_length=1, max_length=500)]


class MarkSet(BaseModel):
    """A correction: the status a student has in a session, set by hand."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"status": "excused", "reason": "doctor's note"},
                {"status": "present", "reason": "the kiosk answered retry"},
            ]
        }
    }

    status: MarkStatus
    reason: Reason | None = None
