"""The roster: creating, finding, changing and removing students."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.domain import StudentCreate, StudentUpdate
from app.core.errors import Conflict
from app.core.tables import Attendance, CheckinAttempt, CheckinThumbnail, FaceTemplate, Student
from app.search.store import bump_gallery_revision
from app.services.rows import get_or_404


def get_student(db: Session, student_id: int) -> Student:
    return get_or_404(
        db, Student, student_id, "student_not_found", f"No student with id {student_id}."
    )


@dataclass(frozen=True)
class StudentEntry:
    """A student and whether they have an enrolled face."""

    student: Student
    enrolled: bool


@dataclass(frozen=True)
class StudentPage:
    entries: list[StudentEntry]
    total: int  # matching students, over all pages
    limit: int
    offset: int


def student_entry(db: Session, student: Student) -> StudentEntry:
    enrolled = db.scalar(select(exists().where(FaceTemplate.student_id == student.id)))
    return StudentEntry(student, bool(enrolled))


def _duplicate_external_id(external_id: str) -> Conflict:
    return Conflict(
        "duplicate_external_id", f"A student with external id {external_id!r} already exists."
    )


def create_student(db: Session, body: StudentCreate) -> Student:
    if db.scalar(select(Student.id).where(Student.external_id == body.external_id)):
        raise _duplicate_external_id(body.external_id)
    student = Student(external_id=body.external_id, name=body.name, active=body.active)
    db.add(student)
    try:
        db.commit()
    except IntegrityError as exc:  # a concurrent create of the same external id
        db.rollback()
        raise _duplicate_external_id(body.external_id) from exc
    return student


def list_students(
    db: Session, search: str | None, active: bool | None, limit: int, offset: int
) -> StudentPage:
    query = select(Student)
    if search:
        needle = search.lower()
        query = query.where(
            or_(
                func.lower(Student.name).contains(needle, autoescape=True),
                func.lower(Student.external_id).contains(needle, autoescape=True),
            )
        )
    if active is not None:
        query = query.where(Student.active == active)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    students = db.scalars(query.order_by(Student.external_id).limit(limit).offset(offset)).all()
    enrolled = set(
        db.scalars(
            select(FaceTemplate.student_id).where(
                FaceTemplate.student_id.in_([s.id for s in students])
            )
        )
    )
    entries = [StudentEntry(s, s.id in enrolled) for s in students]
    return StudentPage(entries, total, limit, offset)


def update_student(db: Session, student_id: int, body: StudentUpdate) -> Student:
    student = get_student(db, student_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "external_id" in changes and changes["external_id"] != student.external_id:
        taken = db.scalar(select(Student.id).where(Student.external_id == changes["external_id"]))
        if taken:
            raise _duplicate_external_id(changes["external_id"])
    for field, value in changes.items():
        setattr(student, field, value)
    if "active" in changes:  # inactive students are not searched
        bump_gallery_revision(db, [student.id])
    try:
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise _duplicate_external_id(str(changes.get("external_id"))) from exc
    return student


def delete_student(db: Session, student_id: int) -> None:
    """Deletes the student with their templates (and kept photos), attendance and its
    check-in thumbnails, and the check-in attempts their face was taken for: nothing of theirs
    is left (the attempts' key would only have been unset, leaving when and where their face
    was seen)."""
    student = get_student(db, student_id)
    marks = select(Attendance.id).where(Attendance.student_id == student.id)
    db.execute(delete(CheckinThumbnail).where(CheckinThumbnail.attendance_id.in_(marks)))
    db.execute(delete(CheckinAttempt).where(CheckinAttempt.best_student_id == student.id))
    db.delete(student)
    bump_gallery_revision(db, [student.id])
    db.commit()
