"""Enrollment: one reference photo becomes a student's face template. No retraining, ever."""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.errors import Conflict, Unprocessable
from app.schemas import EnrollmentOut, FaceQualityOut, StudentRef, Warning_
from app.services.photos import dominant_face, read_faces
from app.services.students import get_student
from app.tables import FaceTemplate, Student


def enroll_photo(
    context: ServiceContext, session: Session, student_id: int, data: bytes
) -> EnrollmentOut:
    settings = context.settings
    # The photo is processed before the first query: no transaction (on SQLite, no write lock)
    # stays open during the slow part.
    faces = read_faces(context, data)
    face = dominant_face(faces)
    if face.quality.face_size < settings.enroll_min_face_size:
        raise Unprocessable(
            "face_too_small",
            f"The face is {face.quality.face_size:.0f} px wide; an enrollment photo needs at "
            f"least {settings.enroll_min_face_size} px. Take the photo closer.",
        )
    if face.quality.sharpness < settings.enroll_min_sharpness:
        raise Unprocessable(
            "face_blurred",
            f"The face is too blurred (sharpness {face.quality.sharpness:.1f}, at least "
            f"{settings.enroll_min_sharpness:g} needed). Hold the camera still.",
        )

    student = get_student(session, student_id)
    warnings: list[Warning_] = []
    [match] = context.gallery.search(face.embedding[None], exclude_student=student.id)
    if match.student_id is not None and match.distance < context.threshold:
        other = session.get(Student, match.student_id)
        other_ref = StudentRef.model_validate(other) if other else None
        message = (
            f"This face already matches another enrolled student"
            f" ({other_ref.external_id if other_ref else match.student_id}, "
            f"distance {match.distance:.3f})."
        )
        if settings.refuse_duplicate_enrollment:
            raise Conflict(
                "duplicate_enrollment",
                message,
                student_id=match.student_id,
                distance=match.distance,
            )
        warnings.append(
            Warning_(
                code="duplicate_enrollment",
                message=message,
                student=other_ref,
                distance=round(match.distance, 4),
            )
        )

    # Re-enrolling replaces the student's templates, in the same transaction as the insert.
    session.execute(delete(FaceTemplate).where(FaceTemplate.student_id == student.id))
    template = FaceTemplate(
        student_id=student.id,
        backbone=context.embedder.spec.name,
        weights_version=context.embedder.version,
        embedding=face.embedding.astype("<f4").tobytes(),
        box=[float(v) for v in face.box],
        quality=face.quality.score,
        photo=data if settings.keep_photos else None,
    )
    session.add(template)
    session.commit()
    if student.active:
        context.gallery.set_student(student.id, [np.asarray(face.embedding)])

    q = face.quality
    return EnrollmentOut(
        student=StudentRef.model_validate(student),
        template_id=template.id,
        box=[round(float(v), 1) for v in face.box],
        probability=round(face.probability, 4),
        quality=FaceQualityOut(
            score=q.score,
            face_size=round(q.face_size, 1),
            sharpness=round(q.sharpness, 1),
            yaw=round(q.yaw, 3),
            roll=round(q.roll, 1),
        ),
        faces_in_photo=len(faces),
        warnings=warnings,
    )
