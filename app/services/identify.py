"""Who each face is: the search a check-in makes, in its scope, and the decision on it.

A session of a course marks members of that course's roster only (several courses' sessions
in progress at once: the union of their rosters), with the threshold for the roster's size
(fewer people searched: fewer strangers taken for somebody) and each face's runner-up
(`DecisionRule.face_threshold`). Every face is also searched in the whole gallery, so that a
member is marked only when no enrolled non-member is the nearer match
(`models.identification.decide_on_roster`): a face nearer to a student who is not on the
roster is `not_on_roster`, and a confident match to one is, too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from app.core.observability import current_timer
from app.core.tables import Student
from app.search.gallery import NO_MATCH, GalleryMatch
from app.search.recognizer import Recognizer
from app.services.current_session import RunningSessions
from models.identification import RetryBand, RosterDecision, decide, decide_on_roster

FaceDecision = RosterDecision


@dataclass(frozen=True)
class SearchScope:
    roster: np.ndarray | None  # the student ids a check-in may mark; None: everyone
    candidates: int  # enrolled students it may mark
    gallery_candidates: int  # enrolled students in the whole gallery


@dataclass(frozen=True)
class Identification:
    decision: FaceDecision
    match: GalleryMatch  # the student decided about first, and the runner-up
    student: Student | None  # the match, when active (for not_on_roster: the non-member)
    threshold: float  # of the search that decided: the roster's, or the whole gallery's
    candidates: int  # of that search


def scope_for(recognizer: Recognizer, running: RunningSessions) -> SearchScope:
    """What a check-in for these sessions searches: the whole gallery when any of them is of
    no course (or there is none), else the union of their courses' rosters. Read once so that
    the answer's threshold and candidate count describe the same gallery (the caller synced
    it before its write transaction began)."""
    everyone = recognizer.gallery.student_count
    if running.whole_gallery:
        return SearchScope(None, everyone, everyone)
    roster = np.array(sorted(running.roster()), dtype=np.int64)
    return SearchScope(roster, recognizer.gallery.students_among(roster), everyone)


def identify(
    recognizer: Recognizer,
    db: Session,
    embeddings: np.ndarray,
    scope: SearchScope,
    frames: list[int],
) -> list[Identification]:
    """Each face's identification; `frames`: how many frames showed each one (a face fused
    from a burst has its own retry band: `models.identification.RetryBands`)."""
    with current_timer().stage("search"):
        whole = recognizer.gallery.search(embeddings)
        members = (
            whole
            if scope.roster is None
            else recognizer.gallery.search(embeddings, restrict_to=scope.roster)
        )
    bands = [recognizer.retry_bands.for_frames(n) for n in frames]
    return [
        _decide(recognizer, db, nearest, member, scope, band)
        for nearest, member, band in zip(whole, members, bands, strict=True)
    ]


def _decide(
    recognizer: Recognizer,
    db: Session,
    nearest: GalleryMatch,
    member: GalleryMatch,
    scope: SearchScope,
    band: RetryBand,
) -> Identification:
    """One face: `nearest` is the whole gallery's answer, `member` the roster's; `band`: its
    retry band (for the frames it was seen in)."""
    rule = recognizer.rule
    # Each face's threshold follows its search's size and its runner-up there.
    gallery_threshold = rule.face_threshold(
        scope.gallery_candidates, nearest.distance, nearest.runner_up_distance
    )
    if scope.roster is None:
        decision: FaceDecision = decide(
            nearest.distance, nearest.runner_up_distance, gallery_threshold, rule.margin, band
        )
        return _about(db, decision, nearest, gallery_threshold, scope.candidates)
    roster_threshold = rule.face_threshold(
        scope.candidates, member.distance, member.runner_up_distance
    )
    verdict = decide_on_roster(
        member.distance,
        nearest.distance,
        nearest.student_id == member.student_id,
        nearest.runner_up_distance,
        (roster_threshold, gallery_threshold),
        rule.margin,
        band,
    )
    if verdict.about_member:  # the runner-up: the nearest other student, member or not
        match = GalleryMatch(
            member.student_id, member.distance, nearest.runner_up_id, nearest.runner_up_distance
        )
        return _about(db, verdict.decision, match, roster_threshold, scope.candidates)
    decision = verdict.decision
    if verdict.whole == "present" and recognizer.admit_non_members:
        decision = "present"
    # About the non-member; the runner-up shown is the member the face could also be.
    match = GalleryMatch(nearest.student_id, nearest.distance, member.student_id, member.distance)
    return _about(db, decision, match, gallery_threshold, scope.gallery_candidates)


def _about(
    db: Session, decision: FaceDecision, match: GalleryMatch, threshold: float, candidates: int
) -> Identification:
    """The identification of `match.student_id`, or `unknown` when that student was deleted
    or deactivated since the gallery was loaded (nobody to mark). FOR KEY SHARE (PostgreSQL)
    keeps them from being deleted until we commit."""
    student = (
        db.get(Student, match.student_id, with_for_update={"key_share": True})
        if match.student_id is not None
        else None
    )
    if student is None or not student.active:
        return Identification("unknown", NO_MATCH, None, threshold, candidates)
    return Identification(decision, match, student, threshold, candidates)
