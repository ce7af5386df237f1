"""A limit on refused liveness bursts per student per session: each try of a print, a fold or
a replay passes with some small probability, so an attacker retrying until one passes is
stopped after ROLLCALL_LIVENESS_MAX_ATTEMPTS refusals, while a student fumbling a prompt passes
in two or three. The student is the one the burst's face was recognised as (the refused attempt
is logged with them, never told to the kiosk)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.core.errors import TooManyRequests
from app.core.tables import CheckinAttempt, ClassSession


def refuse_if_exhausted(
    context: ServiceContext,
    db: Session,
    student_id: int | None,
    class_session: ClassSession | None,
    now: dt.datetime,
) -> None:
    """429 `too_many_attempts` when the student's refused liveness bursts in this session (no
    single session: since the school day's midnight) reach the setting."""
    limit = context.settings.liveness_max_attempts
    if limit is None or student_id is None:
        return
    counted = select(func.count()).where(
        CheckinAttempt.outcome == "liveness_failed", CheckinAttempt.best_student_id == student_id
    )
    if class_session is not None:
        counted = counted.where(CheckinAttempt.session_id == class_session.id)
    else:
        zone = ZoneInfo(context.settings.timezone)
        midnight = dt.datetime.combine(now.astimezone(zone).date(), dt.time(), zone)
        counted = counted.where(CheckinAttempt.created_at >= midnight.astimezone(dt.UTC))
    if int(db.scalar(counted) or 0) >= limit:
        raise TooManyRequests(
            "too_many_attempts",
            f"This face failed the liveness check {limit} times here (ROLLCALL_LIVENESS_MAX_"
            "ATTEMPTS): see staff at the door.",
            limit=limit,
        )
