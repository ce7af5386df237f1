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

    @model_validator(mode="after")
    def _ends_after_start(self) -> SessionCreate:
        if self.ends_at <= self.starts_at:
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
