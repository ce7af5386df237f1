"""Courses and their rosters: the students a course's sessions expect and search."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.domain import CourseCreate, CourseUpdate
from app.core.errors import Conflict, NotFound
from app.core.tables import Course, CourseStudent, Student
from app.services.rows import get_or_404


@dataclass(frozen=True)
class CourseSummary:
    course: Course
    students: int  # on the roster


@dataclass(frozen=True)
class Roster:
    course: Course
    students: list[Student]  # by external id


def get_course(db: Session, course_id: int, *, lock: bool = False) -> Course:
    """The course; `lock`: its row locked until the transaction ends (PostgreSQL's FOR NO KEY
    UPDATE, which still lets sessions reference it), so that writers of its roster take turns.
    SQLite needs no lock: a writer's BEGIN IMMEDIATE already serialises every write."""
    return get_or_404(
        db,
        Course,
        course_id,
        "course_not_found",
        f"No course with id {course_id}.",
        with_for_update={"key_share": True} if lock else None,
    )


def visible_course(db: Session, course_id: int, course_ids: frozenset[int] | None) -> Course:
    """The course, when a key seeing these courses (None: all) may see it; else 404, the same
    answer as for no course, so that a teacher key learns nothing of other courses."""
    if course_ids is not None and course_id not in course_ids:
        raise NotFound("course_not_found", f"No course with id {course_id}.")
    return get_course(db, course_id)


def find_course(db: Session, code: str) -> Course | None:
    return db.scalar(select(Course).where(Course.code == code))


def course_by_code(db: Session, code: str) -> Course:
    course = find_course(db, code)
    if course is None:
        raise NotFound("course_not_found", f"No course with code {code!r}.")
    return course


def _duplicate_code(code: str) -> Conflict:
    return Conflict("duplicate_course_code", f"A course with code {code!r} already exists.")


def _size(db: Session, course_id: int) -> int:
    return db.scalar(select(func.count()).where(CourseStudent.course_id == course_id)) or 0


def summary(db: Session, course: Course) -> CourseSummary:
    return CourseSummary(course, _size(db, course.id))


def create_course(db: Session, body: CourseCreate) -> CourseSummary:
    if find_course(db, body.code) is not None:
        raise _duplicate_code(body.code)
    course = Course(code=body.code, name=body.name)
    db.add(course)
    try:
        db.commit()
    except IntegrityError as exc:  # a concurrent create of the same code
        db.rollback()
        raise _duplicate_code(body.code) from exc
    return CourseSummary(course, 0)


def list_courses(db: Session, course_ids: frozenset[int] | None = None) -> list[CourseSummary]:
    """Every course by code; `course_ids`: only these (None: all)."""
    sizes = dict(
        db.execute(
            select(CourseStudent.course_id, func.count()).group_by(CourseStudent.course_id)
        ).all()
    )
    query = select(Course)
    if course_ids is not None:
        query = query.where(Course.id.in_(sorted(course_ids)))
    courses = db.scalars(query.order_by(Course.code))
    return [CourseSummary(course, sizes.get(course.id, 0)) for course in courses]


def update_course(db: Session, course_id: int, body: CourseUpdate) -> CourseSummary:
    course = get_course(db, course_id)
    changes = body.model_dump(exclude_unset=True)
    if "code" in changes and changes["code"] != course.code and find_course(db, changes["code"]):
        raise _duplicate_code(changes["code"])
    for name, value in changes.items():
        setattr(course, name, value)
    try:
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise _duplicate_code(str(changes.get("code"))) from exc
    return summary(db, course)


def delete_course(db: Session, course_id: int) -> None:
    """The course and its roster go; its sessions and their attendance stay, as sessions of
    no course (they then search the whole gallery)."""
    db.delete(get_course(db, course_id))
    db.commit()


def roster(db: Session, course_id: int) -> Roster:
    course = get_course(db, course_id)
    students = db.scalars(
        select(Student)
        .join(CourseStudent, CourseStudent.student_id == Student.id)
        .where(CourseStudent.course_id == course_id)
        .order_by(Student.external_id)
    )
    return Roster(course, list(students))


def set_roster(db: Session, course_id: int, student_ids: list[int]) -> Roster:
    """Replace the roster with these students; refuses ids of no student (nothing changes).

    One replace at a time per course: under PostgreSQL's READ COMMITTED, two replaces that
    both delete and then insert would collide on the primary key (500) or store the union of
    both lists, a roster nobody sent. The course row's lock makes the second wait
    for the first's commit, then delete what it wrote."""
    get_course(db, course_id, lock=True)
    wanted = sorted(set(student_ids))
    found = set(db.scalars(select(Student.id).where(Student.id.in_(wanted))))
    missing = [sid for sid in wanted if sid not in found]
    if missing:
        raise NotFound(
            "student_not_found",
            f"No student with id {', '.join(map(str, missing[:10]))}"
            + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            + "; the roster was not changed.",
            student_ids=missing[:100],
        )
    db.execute(delete(CourseStudent).where(CourseStudent.course_id == course_id))
    db.add_all(CourseStudent(course_id=course_id, student_id=sid) for sid in wanted)
    db.commit()
    return roster(db, course_id)


def add_to_roster(db: Session, course_id: int, student_id: int) -> bool:
    """Put a student on a roster if not on it yet (flushed, not committed): for imports.
    Takes the course's lock as `set_roster` does, so it never races a replace. Whether they
    were added (False: already on it)."""
    get_course(db, course_id, lock=True)
    if db.get(CourseStudent, (course_id, student_id)) is not None:
        return False
    db.add(CourseStudent(course_id=course_id, student_id=student_id))
    db.flush()
    return True


def roster_ids(db: Session, course_id: int) -> np.ndarray:
    """The roster's student ids, as the gallery's restricted search takes them."""
    ids = db.scalars(select(CourseStudent.student_id).where(CourseStudent.course_id == course_id))
    return np.array(list(ids), dtype=np.int64)


def student_ids_of(db: Session, external_ids: list[str]) -> list[int]:
    """Students' ids from their external ids; refuses any external id of no student."""
    found = dict(
        db.execute(
            select(Student.external_id, Student.id).where(Student.external_id.in_(external_ids))
        ).all()
    )
    missing = sorted(set(external_ids) - set(found))
    if missing:
        raise NotFound(
            "student_not_found",
            f"No student with external id {', '.join(missing[:10])}; the roster was not changed.",
        )
    return list(found.values())
