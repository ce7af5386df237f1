from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import CallerDep, DbSession, IdPath, ReadDbSession, allow
from app.api.schemas import (
    ANY_BODY,
    ANY_KEYED,
    CourseOut,
    CourseRef,
    RosterIn,
    RosterOut,
    StudentRef,
    error_responses,
)
from app.core.domain import CourseCreate, CourseUpdate
from app.core.roles import Role
from app.services import courses

router = APIRouter(
    prefix="/courses",
    tags=["courses"],
    dependencies=[allow(Role.viewer, Role.teacher)],  # they read; writing needs admin (below)
    responses=error_responses(*ANY_KEYED),
)


def _course_out(found: courses.CourseSummary) -> CourseOut:
    course = found.course
    return CourseOut(
        id=course.id,
        code=course.code,
        name=course.name,
        students=found.students,
        created_at=course.created_at,
    )


def _roster_out(found: courses.Roster) -> RosterOut:
    return RosterOut(
        course=CourseRef.model_validate(found.course),
        students=[StudentRef.model_validate(s) for s in found.students],
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CourseOut,
    dependencies=[allow()],
    responses=error_responses(*ANY_BODY, 409),
)
def create_course(db: DbSession, body: CourseCreate) -> CourseOut:
    return _course_out(courses.create_course(db, body))


@router.get("", response_model=list[CourseOut])
def list_courses(db: ReadDbSession, caller: CallerDep) -> list[CourseOut]:
    """Every course (a teacher key: its own only)."""
    return [_course_out(found) for found in courses.list_courses(db, caller.course_ids)]


@router.get("/{course_id}", response_model=CourseOut, responses=error_responses(404))
def get_course(db: ReadDbSession, caller: CallerDep, course_id: IdPath) -> CourseOut:
    """A course; to a teacher key, another course is unknown (404)."""
    found = courses.visible_course(db, course_id, caller.course_ids)
    return _course_out(courses.summary(db, found))


@router.patch(
    "/{course_id}",
    response_model=CourseOut,
    dependencies=[allow()],
    responses=error_responses(*ANY_BODY, 404, 409),
)
def update_course(db: DbSession, course_id: IdPath, body: CourseUpdate) -> CourseOut:
    return _course_out(courses.update_course(db, course_id, body))


@router.delete(
    "/{course_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[allow()],
    responses=error_responses(404),
)
def delete_course(db: DbSession, course_id: IdPath) -> None:
    """Delete the course and its roster; its sessions stay, as sessions of no course."""
    courses.delete_course(db, course_id)


@router.get("/{course_id}/students", response_model=RosterOut, responses=error_responses(404))
def get_roster(db: ReadDbSession, caller: CallerDep, course_id: IdPath) -> RosterOut:
    """The roster; to a teacher key, another course's is unknown (404)."""
    courses.visible_course(db, course_id, caller.course_ids)
    return _roster_out(courses.roster(db, course_id))


@router.put(
    "/{course_id}/students",
    response_model=RosterOut,
    dependencies=[allow()],
    responses=error_responses(*ANY_BODY, 404),
)
def set_roster(db: DbSession, course_id: IdPath, body: RosterIn) -> RosterOut:
    """Replace the roster with these students (a student may be on many courses' rosters);
    404 student_not_found names ids of no student, and nothing changes."""
    return _roster_out(courses.set_roster(db, course_id, body.student_ids))
