"""The served weights against the enrolled templates, at start-up: templates recorded under a
former name of the served version are renamed, and students the weights would strand (no template
of these weights, no kept photo to re-embed from) are found and refused."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, Exists, exists, or_, select, update
from sqlalchemy.orm import Session

from app.core.config import ConfigurationError
from app.core.db import Database
from app.core.tables import FaceTemplate, Student
from app.search.store import bump_gallery_revision

log = logging.getLogger(__name__)


def adopt_former_versions(db: Database, version: str, former_versions: Sequence[str]) -> None:
    """Rename templates recorded under a former name of the served weights' own version."""
    if not former_versions:
        return
    with db.session() as session:
        renamed = session.execute(
            update(FaceTemplate)
            .where(FaceTemplate.weights_version.in_(former_versions))
            .values(weights_version=version)
        ).rowcount  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
        if renamed:
            bump_gallery_revision(session)
            session.commit()
            log.info("%d templates renamed to weights version %s", renamed, version)


def enrolled_without_mirroring(reader: Session | Connection, backbone_version: str) -> bool:
    """Whether templates of a backbone (its version, pretrained or tuned weights) are enrolled
    and none of them is mirror-averaged (a version ending `+flip`): the gallery of a site from
    before mirror averaging was the backbone's default, or of one that turned it off. Other
    backbones' templates say nothing about it."""
    version = FaceTemplate.weights_version
    own = or_(
        version == backbone_version,
        version.startswith(f"{backbone_version}+", autoescape=True),
    )
    enrolled = reader.scalar(select(exists().where(own)))
    any_mirrored = reader.scalar(select(exists().where(own, version.endswith("+flip"))))
    return bool(enrolled) and not any_mirrored


def stranded_students(session: Session, version: str) -> list[str]:
    """External ids of active, enrolled students with no template of `version` and no kept
    photo to re-embed one from: only re-enrolling brings them back. A student who also holds
    a template of these weights is recognised, whatever their other templates."""

    def of_student(*conditions: ColumnElement[bool]) -> Exists:
        return exists().where(FaceTemplate.student_id == Student.id, *conditions)

    rows = session.execute(
        select(Student.external_id)
        .where(
            Student.active,
            of_student(),
            ~of_student(FaceTemplate.weights_version == version),
            ~of_student(FaceTemplate.photo.is_not(None)),
        )
        .order_by(Student.external_id)
    )
    return list(rows.scalars())


def refuse_stranding(session: Session, version: str) -> None:
    stranded = stranded_students(session, version)
    if not stranded:
        return
    shown = ", ".join(stranded[:10]) + (
        f" and {len(stranded) - 10} more" if len(stranded) > 10 else ""
    )
    raise ConfigurationError(
        f"refusing to serve weights {version}: {len(stranded)} student(s) enrolled with "
        f"other weights have no kept photo to re-embed from ({shown}); serve the weights "
        "they were enrolled with (ROLLCALL_BACKBONE, ROLLCALL_WEIGHTS_PATH, ROLLCALL_FLIP_TTA), "
        "or re-enroll them, or start with `rollcall serve --force` "
        "(ROLLCALL_ALLOW_STRANDED_STUDENTS=true) to serve without them"
    )
