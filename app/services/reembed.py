"""Re-embedding: templates made by other weights are embedded again from their kept photos, so
a new backbone never strands a student whose photo was kept."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app.context import ServiceContext
from app.core.errors import ServiceError
from app.core.tables import FaceTemplate, Student
from app.search.store import bump_gallery_revision
from app.services.enrollment import enrollment_face, template_fields
from app.services.student_import import failure_reason


@dataclass
class ReembedSummary:
    reembedded: list[str] = field(default_factory=list)
    need_reenrollment: list[str] = field(default_factory=list)  # no kept photo
    failed: list[tuple[str, str]] = field(default_factory=list)


def reembed(context: ServiceContext) -> ReembedSummary:
    """Re-embed templates made by other weights, from their kept photos."""
    summary = ReembedSummary()
    with context.db.read_session() as session:
        stale = session.execute(
            select(FaceTemplate.id, Student.external_id, FaceTemplate.photo)
            .join(Student)
            .where(FaceTemplate.weights_version != context.embedder.version)
        ).all()
    for template_id, external_id, photo in stale:
        if photo is None:
            summary.need_reenrollment.append(external_id)
            continue
        try:
            face = enrollment_face(context, photo).face
        except ServiceError as exc:
            summary.failed.append((external_id, failure_reason(exc)))
            continue
        with context.db.session() as session:
            template = session.get(FaceTemplate, template_id)
            if template is None:
                continue
            for name, value in template_fields(context, face).items():
                setattr(template, name, value)
            bump_gallery_revision(session, [template.student_id])
            session.commit()
        summary.reembedded.append(external_id)
    context.gallery_store.sync()
    return summary
