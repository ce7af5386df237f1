"""Class sessions: created, found and listed (the check-in's own session lookup is in
current_session)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.domain import SessionCreate
from app.core.tables import ClassSession
from app.services.courses import get_course
from app.services.rows import get_or_404


def create_class_session(db: Session, body: SessionCreate) -> ClassSession:
    if body.course_id is not None:
        get_course(db, body.course_id)
    class_session = ClassSession(
        name=body.name,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        course_id=body.course_id,
        grace_minutes=body.grace_minutes,
    )
    db.add(class_session)
    db.commit()
    return class_session


def get_class_session(db: Session, class_session_id: int) -> ClassSession:
    return get_or_404(
        db,
        ClassSession,
        class_session_id,
        "session_not_found",
        f"No class session with id {class_session_id}.",
    )


def list_class_sessions(
    db: Session, *, course_ids: frozenset[int] | None = None
) -> list[ClassSession]:
    """Newest first; `course_ids`: only these courses' sessions (None: every session)."""
    query = select(ClassSession)
    if course_ids is not None:
        query = query.where(ClassSession.course_id.in_(sorted(course_ids)))
    return list(db.scalars(query.order_by(ClassSession.starts_at.desc())))
