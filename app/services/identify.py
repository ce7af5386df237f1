"""Who each face is: the search a check-in makes, in its scope, and the decision on it.

A session of a course searches that course's roster only, with the threshold for the
roster's size (fewer people searched: fewer strangers taken for somebody). A face the roster
does not explain is searched once more in the whole gallery: a confident match there to a
student who is not on the roster is `not_on_roster`, not `unknown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.gallery import NO_MATCH, GalleryMatch
from app.observability import current_timer
from app.services.courses import roster_ids
from app.tables import ClassSession, Student
from models.identification import decide

FaceDecision = Literal["present", "unknown", "ambiguous", "retry", "not_on_roster"]


@dataclass(frozen=True)
class SearchScope:
    roster: np.ndarray | None  # the student ids searched; None: the whole gallery
    candidates: int  # enrolled students searched
    threshold: float  # for that many


@dataclass(frozen=True)
class Identification:
    decision: FaceDecision
    match: GalleryMatch  # in the scope (the whole gallery's, for not_on_roster)
    student: Student | None  # the match, when active (for not_on_roster: the non-member)
    threshold: float  # the decision's: the roster's, or the whole gallery's outside it


def scope_for(
    context: ServiceContext, db: Session, class_session: ClassSession | None
) -> SearchScope:
    """What a check-in for this session searches, read once so that the answer's threshold
    and candidate count describe the same gallery (the caller synced it before its write
    transaction began)."""
    if class_session is None or class_session.course_id is None:
        candidates = context.gallery.student_count
        return SearchScope(None, candidates, context.rule.identification_threshold(candidates))
    roster = roster_ids(db, class_session.course_id)
    candidates = context.gallery.students_among(roster)
    return SearchScope(roster, candidates, context.rule.identification_threshold(candidates))


def identify(
    context: ServiceContext, db: Session, embeddings: np.ndarray, scope: SearchScope
) -> list[Identification]:
    with current_timer().stage("search"):
        matches = context.gallery.search(embeddings, restrict_to=scope.roster)
    found = [_decide(context, db, match, scope.threshold) for match in matches]
    if scope.roster is None:
        return found
    unexplained = [i for i, f in enumerate(found) if f.decision in ("unknown", "retry")]
    if unexplained:
        outside = _outside_roster(context, db, embeddings[unexplained], scope.roster)
        for index, other in zip(unexplained, outside, strict=True):
            found[index] = other or found[index]
    return found


def _decide(
    context: ServiceContext, db: Session, match: GalleryMatch, threshold: float
) -> Identification:
    # A student deleted or deactivated since the gallery was loaded is nobody to mark
    # present. FOR KEY SHARE (PostgreSQL) keeps them from being deleted until we commit.
    student = (
        db.get(Student, match.student_id, with_for_update={"key_share": True})
        if match.student_id is not None
        else None
    )
    if student is None or not student.active:
        student, match = None, NO_MATCH
    rule = context.rule
    decision = decide(
        match.distance,
        match.runner_up_distance,
        threshold,
        rule.margin,
        context.settings.retry_band,
    )
    return Identification(decision, match, student, threshold)


def _outside_roster(
    context: ServiceContext, db: Session, embeddings: np.ndarray, roster: np.ndarray
) -> list[Identification | None]:
    """For faces the roster does not explain: `not_on_roster` (or present, by setting) when
    the whole gallery confidently matches a non-member; else None (the roster's answer)."""
    threshold = context.identification_threshold()
    answers: list[Identification | None] = []
    for match in context.gallery.search(embeddings):
        outside = _decide(context, db, match, threshold)
        confident = outside.decision == "present" and outside.student is not None
        if not confident or np.isin(outside.student.id, roster):  # type: ignore[union-attr]
            answers.append(None)
            continue
        admitted = context.settings.admit_non_members
        decision: FaceDecision = "present" if admitted else "not_on_roster"
        answers.append(Identification(decision, match, outside.student, threshold))
    return answers
