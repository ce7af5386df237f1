"""The database schema (SQLAlchemy 2.0 ORM). Alembic's migrations/ create and upgrade it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Time,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship
from sqlalchemy.sql.expression import false


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC one: SQLite hands datetimes back naive; all stored is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# Ids are 64-bit, as the API's bound (2^63-1); SQLite's INTEGER already is, and must stay
# INTEGER to remain the rowid (autoincrement).
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {int: Id}  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)


class Student(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. a student number
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    templates: Mapped[list[FaceTemplate]] = relationship(
        back_populates="student", cascade="all, delete-orphan", passive_deletes=True
    )


EMBEDDING_DTYPE = "<f4"  # float32, little-endian: the same bytes on every machine


def embedding_to_bytes(embedding: np.ndarray) -> bytes:
    """An embedding as `FaceTemplate.embedding` stores it."""
    return np.asarray(embedding).astype(EMBEDDING_DTYPE).tobytes()


def embedding_from_bytes(data: bytes) -> np.ndarray:
    """A stored `FaceTemplate.embedding` as the float32 vector it was."""
    return np.frombuffer(data, dtype=EMBEDDING_DTYPE)


class FaceTemplate(Base):
    """An enrolled face: its embedding and which weights made it. A student may hold several."""

    __tablename__ = "face_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    backbone: Mapped[str] = mapped_column(String(64))
    weights_version: Mapped[str] = mapped_column(String(128))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # embedding_to_bytes
    box: Mapped[list[float]] = mapped_column(JSON)
    quality: Mapped[float] = mapped_column(Float)
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # kept by setting
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    student: Mapped[Student] = relationship(back_populates="templates")


class Course(Base):
    """A class that meets in sessions; its roster is the students a session's check-in searches."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. "MATH-101"
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CourseStudent(Base):
    """A student on a course's roster; a student may be on many."""

    __tablename__ = "course_students"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TimetableSeries(Base):
    """A recurring class: on these weekdays, from `starts_time` to `ends_time` wall-clock time
    in `timezone`, between two dates but for the skipped ones. Its sessions are rows of
    class_sessions that name it; the series only says how to make them."""

    __tablename__ = "timetable_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  # each session's name
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL", name="fk_timetable_series_course_id"),
        nullable=True,
        index=True,
    )
    weekdays: Mapped[list[str]] = mapped_column(JSON)  # ["mon", "wed"], Monday first
    starts_time: Mapped[dt.time] = mapped_column(Time)
    ends_time: Mapped[dt.time] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64))  # IANA, e.g. Europe/London
    grace_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    room: Mapped[str | None] = mapped_column(String(100), nullable=True)
    first_date: Mapped[dt.date] = mapped_column(Date)
    last_date: Mapped[dt.date] = mapped_column(Date)
    skip_dates: Mapped[list[str]] = mapped_column(JSON)  # ISO dates: holidays
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ClassSession(Base):
    __tablename__ = "class_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Indexed: every list of sessions is a range of days, in time order.
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # A session of a course searches its roster only; None: the whole gallery.
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL", name="fk_class_sessions_course_id"),
        nullable=True,
        index=True,
    )
    # Check-ins after starts_at + grace are late (still present); None: nobody is late.
    grace_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The timetable series that made it; None: made alone (or its series was deleted).
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("timetable_series.id", ondelete="SET NULL", name="fk_class_sessions_series_id"),
        nullable=True,
        index=True,
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CheckinAttempt(Base):
    """One face seen at a check-in, whatever the outcome (unknown faces too)."""

    __tablename__ = "checkin_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # Indexed: a session's report counts its attempts, among every face a school's kiosks saw.
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("class_sessions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    outcome: Mapped[str] = mapped_column(String(32))
    best_student_id: Mapped[int | None] = mapped_column(
        ForeignKey("students.id", ondelete="SET NULL"), nullable=True
    )
    distance: Mapped[float | None] = mapped_column(Float, nullable=True)
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    box: Mapped[list[float]] = mapped_column(JSON)


class Attendance(Base):
    """A student's presence in one period: a class session, or a calendar day outside sessions.

    `period` is "session:<id>" or "day:<YYYY-MM-DD>": one NOT NULL key makes the unique
    constraint hold for day attendance too (a NULL session id would never collide).
    """

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("student_id", "period", name="uq_attendance_student_period"),
        Index("ix_attendance_day", "day"),
    )
    if TYPE_CHECKING:  # a column_property set below, once CheckinThumbnail exists
        has_thumbnail: bool

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("class_sessions.id", ondelete="CASCADE"), nullable=True, index=True
    )
    period: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date)
    # None on a manual mark nobody checked in for (e.g. excused, or present after a `retry`).
    first_checkin_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Kept for older clients: true exactly when status is "late".
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default="present", server_default="present")
    source: Mapped[str] = mapped_column(String(16), default="face", server_default="face")
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    checkin_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkin_attempts.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    student: Mapped[Student] = relationship()
    session: Mapped[ClassSession | None] = relationship()


class AttendanceEvent(Base):
    """One change to a mark (a check-in, a correction, an undo): appended, never changed.

    The key is named by id and name, copied: a revoked key's events still say who it was, and
    the bootstrap admin key has no row (key_id None)."""

    __tablename__ = "attendance_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("class_sessions.id", ondelete="CASCADE"), nullable=True, index=True
    )
    period: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))  # checkin, correction or undo
    key_id: Mapped[int | None] = mapped_column(nullable=True)  # no key: revoked keys stay named
    key_name: Mapped[str] = mapped_column(String(100))
    before_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    before_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    after_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    after_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class ApiKeyCourse(Base):
    """A course a teacher key may read and correct."""

    __tablename__ = "api_key_courses"

    key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ApiKey(Base):
    """An access key. Only its SHA-256 is stored: the key itself is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # admin, kiosk, viewer or teacher
    prefix: Mapped[str] = mapped_column(
        String(16)
    )  # the key's first characters, to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # A kiosk key's staff PIN (app.services.kiosk): scrypt, salted; wrong tries lock it a while.
    pin_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pin_locked_until: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )

    course_links: Mapped[list[ApiKeyCourse]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )

    @property
    def course_ids(self) -> list[int]:
        return sorted(link.course_id for link in self.course_links)


class KioskPairing(Base):
    """A one-time code the office shows for pairing a kiosk: exchanged once, before it expires,
    for a kiosk key. In the database so that every worker process honours the same codes."""

    __tablename__ = "kiosk_pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the code
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Wrong codes tried while this one was live: past a bound, this code is void (guessing).
    failed_guesses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True
    )


class GalleryState(Base):
    """One row whose revision goes up with every change to what the gallery holds.

    Every writer (the service, `rollcall import`, another worker process) bumps it in the same
    transaction as its change; each process reloads its in-memory gallery when it sees a
    revision it has not loaded yet.
    """

    __tablename__ = "gallery_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
    # Changes up to this revision may have left the log: a gallery older than it reloads.
    log_start: Mapped[int] = mapped_column(default=0, server_default="0")


class GalleryChange(Base):
    """What one revision changed: a student whose searchable templates are to be read again,
    or (student_id None) everything. Workers apply the changes past their own revision."""

    __tablename__ = "gallery_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(index=True)
    student_id: Mapped[int | None] = mapped_column(nullable=True)  # no key: may be deleted


class LivenessChallenge(Base):
    """A challenge handed to a kiosk: answered once, before it expires. Kept in the database
    so that every worker process agrees on which nonces are still good."""

    __tablename__ = "liveness_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    # The actions asked, in order, space-separated ("turn_left look_up").
    action: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the key that asked for it (app.services.keys.hash_key): only it may answer.
    key_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CheckinThumbnail(Base):
    """A small JPEG of the face a check-in marked present, kept with its mark as evidence for
    staff (a photo of a photo shows) for ROLLCALL_THUMBNAIL_RETENTION_DAYS. Personal data:
    deleted with the mark, hence with the student, and by `rollcall purge` once older."""

    __tablename__ = "checkin_thumbnails"

    id: Mapped[int] = mapped_column(primary_key=True)
    attendance_id: Mapped[int] = mapped_column(
        ForeignKey("attendance.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


# Whether the mark has a thumbnail, loaded with every attendance row (one EXISTS, not the image).
Attendance.has_thumbnail = column_property(  # type: ignore[assignment]  # typed bool above
    select(CheckinThumbnail.id)
    .where(CheckinThumbnail.attendance_id == Attendance.id)
    .exists()
    .correlate_except(CheckinThumbnail)
)
