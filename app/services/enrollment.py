"""Enrollment: a reference photo becomes one of a student's face templates. No retraining, ever.

A student needs one photo; more (up to ROLLCALL_MAX_PHOTOS_PER_STUDENT) improve recognition,
since the search scores a student by their best template (app/search/gallery.py).

The steps are separate so the roster importer can create a student and enroll them in ONE
transaction: `enrollment_face` (slow, touches no database; or `enrollment_candidate` then
one `embedder.embedded` call for a batch of photos), `duplicate_warnings`, then
`store_template` (no commit). Every process's gallery follows the commit (gallery revision).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.observability import current_timer
from app.core.tables import FaceTemplate, Student, embedding_to_bytes
from app.search.store import bump_gallery_revision
from app.services.photos import main_face, read_photo_faces
from app.services.students import get_student
from models.embedder import AlignedFace, Face


@dataclass(frozen=True)
class PhotoWarning:
    """The photo enrolled, but the admin should check which face it took."""

    code: str
    message: str
    student: None = None  # as DuplicateWarning's: the answer's warnings share one shape
    distance: None = None


@dataclass(frozen=True)
class EnrollmentFace:
    face: Face
    faces_in_photo: int
    warnings: list[PhotoWarning]


@dataclass(frozen=True)
class DuplicateWarning:
    """The enrolled face already matches another student (enrolled anyway, by setting)."""

    code: str
    message: str
    student: Student | None  # None: the other student went meanwhile
    distance: float


@dataclass(frozen=True)
class Enrollment:
    student: Student
    template: FaceTemplate
    face: Face
    faces_in_photo: int
    warnings: list[DuplicateWarning | PhotoWarning]


@dataclass(frozen=True)
class EnrollmentCandidate:
    face: AlignedFace  # fit to enroll, not yet embedded
    faces_in_photo: int
    warnings: list[PhotoWarning]  # e.g. background faces ignored


def enrollment_face(context: ServiceContext, data: bytes) -> EnrollmentFace:
    """The photo's main face, if it is fit to enroll, embedded; refusals raise `Unprocessable`."""
    candidate = enrollment_candidate(context, data)
    [face] = context.embedder.embedded([candidate.face], current_timer())
    return EnrollmentFace(face, candidate.faces_in_photo, candidate.warnings)


def enrollment_candidate(context: ServiceContext, data: bytes) -> EnrollmentCandidate:
    """The photo's main face, if it is fit to enroll, not yet embedded."""
    settings = context.settings
    photo = read_photo_faces(context.recognizer, data)
    faces = photo.faces
    face, background = main_face(faces, photo.width, photo.height, settings.enroll_min_sharpness)
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
    return EnrollmentCandidate(face, len(faces), _background_warnings(face, background))


def _background_warnings(face: AlignedFace, background: list[AlignedFace]) -> list[PhotoWarning]:
    if not background:
        return []
    x1, y1, x2, y2 = (round(float(v)) for v in face.box)
    ignored = f"{len(background)} background face" + ("s" if len(background) > 1 else "")
    return [
        PhotoWarning(
            code="background_faces_ignored",
            message=(
                f"The photo shows {len(background) + 1} faces: the main one "
                f"({face.quality.face_size:.0f} px, box {x1},{y1}-{x2},{y2}) was enrolled and "
                f"{ignored} (smaller, blurred or cut off by the border) ignored. Check that it "
                "is the student's face."
            ),
        )
    ]


def duplicate_warnings(
    context: ServiceContext,
    db: Session,
    student_id: int | None,
    face: Face,
    *,
    replacing: bool = False,
) -> list[DuplicateWarning]:
    """A warning when the face already matches ANOTHER student (refused, by setting): under
    the whole gallery's threshold, or nearer to them than to the student's own photos by the
    ambiguity margin (which would make this student's check-ins ambiguous or, on a roster
    the other is not on, `not_on_roster`). `replacing`: the student's photos are replaced.

    Searches the gallery as it is: the caller syncs it (`context.gallery_store.sync()`)
    before opening its write transaction, so that no reload holds SQLite's write lock.
    """
    embedding = face.embedding[None]
    [match] = context.gallery.search(embedding, exclude_student=student_id)
    if match.student_id is None:
        return []
    own = math.inf
    if student_id is not None and not replacing:
        [mine] = context.gallery.search(embedding, restrict_to=np.array([student_id]))
        own = mine.distance
    nearer = math.isfinite(own) and match.distance < own - context.rule.margin
    if match.distance >= context.recognizer.identification_threshold() and not nearer:
        return []
    other = db.get(Student, match.student_id)
    message = (
        "This face already matches another enrolled student "
        f"({other.external_id if other else match.student_id}, "
        f"distance {match.distance:.3f})"
        + (f", nearer than this student's own photos ({own:.3f})." if nearer else ".")
    )
    if context.settings.refuse_duplicate_enrollment:
        raise Conflict(
            "duplicate_enrollment", message, student_id=match.student_id, distance=match.distance
        )
    return [
        DuplicateWarning(
            code="duplicate_enrollment",
            message=message,
            student=other,
            distance=round(match.distance, 4),
        )
    ]


def template_fields(context: ServiceContext, face: Face) -> dict[str, object]:
    """What a template stores of a face, and which weights made its embedding."""
    return {
        "backbone": context.embedder.spec.name,
        "weights_version": context.embedder.version,
        "embedding": embedding_to_bytes(face.embedding),
        "box": [float(v) for v in face.box],
        "quality": face.quality.score,
    }


def store_template(
    context: ServiceContext,
    db: Session,
    student: Student,
    face: Face,
    data: bytes,
    *,
    replace: bool,
    replacing: FaceTemplate | None = None,
) -> FaceTemplate:
    """Add this face's template to the student's (flushed, not committed); `replace`: instead
    of all of them; `replacing`: instead of that one. Refuses a template beyond
    ROLLCALL_MAX_PHOTOS_PER_STUDENT.

    The student's row is locked first (PostgreSQL's FOR NO KEY UPDATE; SQLite's writers are
    serialised already): under READ COMMITTED, concurrent adds would each count the templates
    held before any of them committed and all pass the limit (9-11 of 5)."""
    db.execute(select(Student.id).where(Student.id == student.id).with_for_update(key_share=True))
    if replace:
        db.execute(delete(FaceTemplate).where(FaceTemplate.student_id == student.id))
    elif replacing is not None:
        db.delete(replacing)  # one for one: the limit still holds
        db.flush()
    else:
        held = db.scalar(select(func.count()).where(FaceTemplate.student_id == student.id)) or 0
        limit = context.settings.max_photos_per_student
        if held >= limit:
            raise Conflict(
                "too_many_photos",
                f"{student.name} already has {held} photos, the most allowed ({limit}): "
                "replace or delete one of them first.",
                photos=held,
                limit=limit,
            )
    template = FaceTemplate(
        student_id=student.id,
        **template_fields(context, face),
        photo=data if context.settings.keep_photos else None,
    )
    db.add(template)
    bump_gallery_revision(db, [student.id])
    db.flush()
    return template


def enroll_photo(
    context: ServiceContext, db: Session, student_id: int, data: bytes, *, replace: bool
) -> Enrollment:
    # The photo is processed before the first query: no transaction (on SQLite, no write lock)
    # stays open during the slow part.
    enrolled = enrollment_face(context, data)
    face = enrolled.face
    context.gallery_store.sync()
    student = get_student(db, student_id)
    warnings = duplicate_warnings(context, db, student.id, face, replacing=replace)
    template = store_template(context, db, student, face, data, replace=replace)
    db.commit()

    return Enrollment(
        student, template, face, enrolled.faces_in_photo, [*enrolled.warnings, *warnings]
    )


def list_templates(db: Session, student_id: int) -> list[FaceTemplate]:
    get_student(db, student_id)
    return list(
        db.scalars(
            select(FaceTemplate)
            .where(FaceTemplate.student_id == student_id)
            .order_by(FaceTemplate.id)
        )
    )


def get_template(db: Session, student_id: int, template_id: int) -> FaceTemplate:
    get_student(db, student_id)
    template = db.get(FaceTemplate, template_id)
    if template is None or template.student_id != student_id:
        raise NotFound(
            "photo_not_found", f"Student {student_id} has no photo with id {template_id}."
        )
    return template


def delete_template(db: Session, student_id: int, template_id: int) -> None:
    """Forget one enrolled photo; a student whose last one goes is no longer enrolled."""
    db.delete(get_template(db, student_id, template_id))
    bump_gallery_revision(db, [student_id])
    db.commit()


def replace_photo(
    context: ServiceContext, db: Session, student_id: int, template_id: int, data: bytes
) -> Enrollment:
    """One enrolled photo swapped for a new one in one transaction: a refused photo leaves
    the old one, and a student at the photo limit can still swap one."""
    enrolled = enrollment_face(context, data)
    face = enrolled.face
    context.gallery_store.sync()
    old = get_template(db, student_id, template_id)
    student = get_student(db, student_id)
    warnings = duplicate_warnings(context, db, student.id, face)
    template = store_template(context, db, student, face, data, replace=False, replacing=old)
    db.commit()
    return Enrollment(
        student, template, face, enrolled.faces_in_photo, [*enrolled.warnings, *warnings]
    )


def photo_image(db: Session, student_id: int, template_id: int) -> tuple[bytes, str]:
    """The photo a template was made from and its media type; 404 when it was not kept
    (ROLLCALL_KEEP_PHOTOS off when it was enrolled)."""
    template = get_template(db, student_id, template_id)
    if template.photo is None:
        raise NotFound(
            "photo_not_kept",
            f"Photo {template_id} of student {student_id} was not kept (ROLLCALL_KEEP_PHOTOS).",
        )
    data = bytes(template.photo)
    return data, _media_type(data)


def _media_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"
