"""Check-in thumbnails: a small JPEG of the face each check-in marked, kept with its mark so
that staff can see who (or what: a photo of a photo) was let in. Personal data, kept for
ROLLCALL_THUMBNAIL_RETENTION_DAYS, deleted with the mark and the student."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.core.config import Settings
from app.core.errors import NotFound
from app.core.tables import Attendance, CheckinThumbnail
from app.services.marks import visible_session
from models.image import load_image

SIDE = 96  # px, the larger side: enough to tell a face from a printed one on a board
QUALITY = 80
MARGIN = 0.25  # of the box's size on each side: the head's outline and what holds it show


def kept(settings: Settings, live: bool) -> bool:
    """Whether a check-in (a liveness one or not) keeps thumbnails under these settings."""
    if settings.keep_thumbnails == "always":
        return True
    return settings.keep_thumbnails == "liveness" and live and settings.liveness == "challenge"


def thumbnail(context: ServiceContext, frame: bytes, box: list[float]) -> bytes:
    """The face in `box` of the photo `frame`, with a margin, as a JPEG of SIDE px at most."""
    pixels = load_image(frame, max_pixels=context.settings.max_image_pixels).pixels
    height, width = pixels.shape[:2]
    left, top, right, bottom = box[:4]
    grow_x, grow_y = (right - left) * MARGIN, (bottom - top) * MARGIN
    crop = (
        max(0, int(left - grow_x)),
        max(0, int(top - grow_y)),
        min(width, int(right + grow_x) + 1),
        min(height, int(bottom + grow_y) + 1),
    )
    image = Image.fromarray(pixels).crop(crop)
    image.thumbnail((SIDE, SIDE))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=QUALITY)
    return buffer.getvalue()


def keep(db: Session, attendance: Attendance, jpeg: bytes, now: dt.datetime) -> None:
    """Keep the thumbnail with its new mark (flushed with it, committed by the check-in)."""
    db.add(CheckinThumbnail(attendance_id=attendance.id, created_at=now, jpeg=jpeg))


def of_mark(
    db: Session, session_id: int, student_id: int, course_ids: frozenset[int] | None
) -> bytes:
    """The thumbnail kept with the student's mark in the session; a teacher key sees only its
    courses' sessions (404 `session_not_found` for another's)."""
    visible_session(db, session_id, course_ids)
    jpeg = db.scalar(
        select(CheckinThumbnail.jpeg)
        .join(Attendance, Attendance.id == CheckinThumbnail.attendance_id)
        .where(Attendance.session_id == session_id, Attendance.student_id == student_id)
    )
    if jpeg is None:
        raise NotFound(
            "no_thumbnail",
            f"No check-in thumbnail is kept for student {student_id} in session {session_id}.",
        )
    return jpeg
