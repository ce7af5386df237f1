"""The timetable a check-in counts for: which class session, whether it is open, and late.

A check-in names a session or falls in the one in progress; one not open now, or two in
progress at once, is refused before anything is written. Which it is (no such session, not
started, ended) and its times are told to an admin only: a kiosk key gets one answer for every
session it may not use, so it cannot probe ids for the timetable.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.core.errors import Conflict, NotFound
from app.core.roles import Role
from app.core.tables import ClassSession, as_utc
from app.services.rows import get_or_404


def class_session_for(
    context: ServiceContext,
    db: Session,
    class_session_id: int | None,
    now: dt.datetime,
    role: Role = Role.kiosk,
) -> ClassSession | None:
    """The session a check-in counts for: the one named, if it is open now; else the one in
    progress; else none (the calendar day). Refusals come before anything is written; to any
    `role` but admin, a named session that is missing or not open is one 409 `session_not_open`."""
    if class_session_id is not None:
        try:
            class_session = get_or_404(
                db,
                ClassSession,
                class_session_id,
                "session_not_found",
                f"No class session with id {class_session_id}.",
                with_for_update={"key_share": True},  # the session cannot go while it is marked
            )
            _refuse_closed(context, class_session, now)
        except (NotFound, Conflict):
            if role is Role.admin:
                raise
            raise Conflict(
                "session_not_open",
                f"Class session {class_session_id} does not take check-ins now: check in "
                "without a session, or give the number of the one that runs now.",
            ) from None
        return class_session
    running = list(
        db.scalars(
            select(ClassSession)
            .where(ClassSession.starts_at <= now, ClassSession.ends_at >= now)
            .order_by(ClassSession.starts_at.desc(), ClassSession.id)
            .limit(3)
            .with_for_update(key_share=True)
        )
    )
    if len(running) > 1:
        # The message names no session (a kiosk reads it); the ids are in the details, which
        # the check-in route shows an admin only.
        raise Conflict(
            "ambiguous_session",
            "Several class sessions are in progress; send the session_id of the one to check "
            "in to.",
            session_ids=[s.id for s in running],
        )
    return running[0] if running else None


def _refuse_closed(context: ServiceContext, class_session: ClassSession, now: dt.datetime) -> None:
    early = context.settings.checkin_early_minutes
    starts, ends = as_utc(class_session.starts_at), as_utc(class_session.ends_at)
    opens = starts - dt.timedelta(minutes=early)
    if now < opens:
        raise Conflict(
            "session_not_started",
            f"Class session {class_session.id} starts at {starts:%Y-%m-%d %H:%M} UTC; "
            f"check-ins open {early} minutes before.",
            starts_at=starts.isoformat(),
            opens_at=opens.isoformat(),
        )
    if now > ends:
        raise Conflict(
            "session_ended",
            f"Class session {class_session.id} ended at {ends:%Y-%m-%d %H:%M} UTC: check in "
            "without a session (the day's attendance), or for a session that runs now "
            "(POST /api/v1/sessions makes one; the kiosk: sign out and give its number).",
            ends_at=ends.isoformat(),
        )


def is_late(class_session: ClassSession | None, now: dt.datetime) -> bool:
    """After the session's start plus its grace period (a session without one: never late)."""
    if class_session is None or class_session.grace_minutes is None:
        return False
    grace = dt.timedelta(minutes=class_session.grace_minutes)
    return now > as_utc(class_session.starts_at) + grace
