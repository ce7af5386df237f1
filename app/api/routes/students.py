from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import (
    MAX_ID,
    ContextDep,
    DbSession,
    Digits,
    IdPath,
    PhotoDep,
    ReadDbSession,
    allow,
)
from app.api.schemas import (
    ANY_BODY,
    ANY_KEYED,
    CourseRef,
    EnrollmentOut,
    EnrollmentWarning,
    FaceQualityOut,
    PhotoOut,
    StudentOut,
    StudentPage,
    StudentRef,
    error_responses,
)
from app.api.schemas_student import StudentRecordOut, course_rate_out, record_entry_out
from app.core.domain import StudentCreate, StudentUpdate, Text
from app.core.tables import FaceTemplate
from app.services import enrollment, student_record, students


def _student_out(entry: students.StudentEntry) -> StudentOut:
    student = entry.student
    return StudentOut(
        id=student.id,
        external_id=student.external_id,
        name=student.name,
        active=student.active,
        enrolled=entry.enrolled,
        created_at=student.created_at,
        updated_at=student.updated_at,
    )


router = APIRouter(
    prefix="/students",
    tags=["students"],
    dependencies=[allow()],  # admin only
    responses=error_responses(*ANY_KEYED),
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StudentOut,
    responses=error_responses(*ANY_BODY, 409),
)
def create_student(db: DbSession, body: StudentCreate) -> StudentOut:
    return _student_out(students.student_entry(db, students.create_student(db, body)))


@router.get("", response_model=StudentPage)
def list_students(
    db: ReadDbSession,
    q: Annotated[Text | None, Query(description="search in name and external id")] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500), Digits] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID), Digits] = 0,
) -> StudentPage:
    page = students.list_students(db, q, active, limit, offset)
    return StudentPage(
        items=[_student_out(entry) for entry in page.entries],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{student_id}", response_model=StudentOut, responses=error_responses(404))
def get_student(db: ReadDbSession, student_id: IdPath) -> StudentOut:
    return _student_out(students.student_entry(db, students.get_student(db, student_id)))


@router.get("/{student_id}/record", response_model=StudentRecordOut, responses=error_responses(404))
def get_student_record(
    db: ReadDbSession,
    student_id: IdPath,
    limit: Annotated[int, Query(ge=1, le=1000), Digits] = 200,
) -> StudentRecordOut:
    """The student, their courses, the sessions held that counted for them (newest first,
    at most `limit`; never marked: absent), a rate per course (sessions of no course under
    a null course) and when they last checked in."""
    record = student_record.student_record(db, student_id, limit)
    return StudentRecordOut(
        student=_student_out(students.student_entry(db, record.student)),
        courses=[CourseRef.model_validate(c) for c in record.courses],
        held=record.held,
        history=[record_entry_out(e) for e in record.entries],
        rates=[course_rate_out(r) for r in record.rates],
        last_seen_at=record.last_seen_at,
    )


@router.patch(
    "/{student_id}", response_model=StudentOut, responses=error_responses(*ANY_BODY, 404, 409)
)
def update_student(db: DbSession, student_id: IdPath, body: StudentUpdate) -> StudentOut:
    student = students.update_student(db, student_id, body)
    return _student_out(students.student_entry(db, student))


@router.delete(
    "/{student_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
def delete_student(db: DbSession, student_id: IdPath) -> None:
    students.delete_student(db, student_id)


@router.post(
    "/{student_id}/photo",
    response_model=EnrollmentOut,
    responses=error_responses(*ANY_BODY, 404, 409),
)
def enroll_photo(
    context: ContextDep,
    db: DbSession,
    student_id: IdPath,
    photo: PhotoDep,
    replace: Annotated[
        bool, Query(description="replace all the student's photos instead of adding one")
    ] = False,
) -> EnrollmentOut:
    """Detect the face in the photo, embed it and add it to the student's templates (at most
    ROLLCALL_MAX_PHOTOS_PER_STUDENT, else 409 too_many_photos). One photo is enough; more
    improve recognition: a check-in scores a student by their closest photo."""
    return _enrollment_out(enrollment.enroll_photo(context, db, student_id, photo, replace=replace))


def _enrollment_out(enrolled: enrollment.Enrollment) -> EnrollmentOut:
    face, q = enrolled.face, enrolled.face.quality
    return EnrollmentOut(
        student=StudentRef.model_validate(enrolled.student),
        template_id=enrolled.template.id,
        box=[round(float(v), 1) for v in face.box],
        probability=round(face.probability, 4),
        quality=FaceQualityOut(
            score=q.score,
            face_size=round(q.face_size, 1),
            sharpness=round(q.sharpness, 1),
            yaw=round(q.yaw, 3),
            roll=round(q.roll, 1),
        ),
        faces_in_photo=enrolled.faces_in_photo,
        warnings=[
            EnrollmentWarning(
                code=w.code,
                message=w.message,
                student=StudentRef.model_validate(w.student) if w.student else None,
                distance=w.distance,
            )
            for w in enrolled.warnings
        ],
    )


def _photo_out(template: FaceTemplate) -> PhotoOut:
    return PhotoOut(
        id=template.id,
        student_id=template.student_id,
        backbone=template.backbone,
        weights_version=template.weights_version,
        box=[round(float(v), 1) for v in template.box],
        quality=template.quality,
        photo_kept=template.photo is not None,
        created_at=template.created_at,
    )


@router.get("/{student_id}/photos", response_model=list[PhotoOut], responses=error_responses(404))
def list_photos(db: ReadDbSession, student_id: IdPath) -> list[PhotoOut]:
    return [_photo_out(t) for t in enrollment.list_templates(db, student_id)]


@router.get(
    "/{student_id}/photos/{template_id}",
    response_model=PhotoOut,
    responses=error_responses(404),
)
def get_photo(db: ReadDbSession, student_id: IdPath, template_id: IdPath) -> PhotoOut:
    return _photo_out(enrollment.get_template(db, student_id, template_id))


@router.put(
    "/{student_id}/photos/{template_id}",
    response_model=EnrollmentOut,
    responses=error_responses(*ANY_BODY, 404, 409),
)
def replace_photo(
    context: ContextDep, db: DbSession, student_id: IdPath, template_id: IdPath, photo: PhotoDep
) -> EnrollmentOut:
    """Swap one enrolled photo for a new one, in one step: a photo refused (no face, too
    small, too blurred) leaves the old one in place. Answers as enrolling does."""
    return _enrollment_out(enrollment.replace_photo(context, db, student_id, template_id, photo))


@router.get(
    "/{student_id}/photos/{template_id}/image",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the photo"},
        **error_responses(404),
    },
)
def photo_image(db: ReadDbSession, student_id: IdPath, template_id: IdPath) -> Response:
    """The photo the template was made from, as uploaded; 404 `photo_not_kept` when the
    service did not keep it (ROLLCALL_KEEP_PHOTOS off when it was enrolled)."""
    data, media_type = enrollment.photo_image(db, student_id, template_id)
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, no-store"})


@router.delete(
    "/{student_id}/photos/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404),
)
def delete_photo(db: DbSession, student_id: IdPath, template_id: IdPath) -> None:
    enrollment.delete_template(db, student_id, template_id)
