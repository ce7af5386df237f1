"""Bulk roster import and re-embedding: enroll a whole class from a CSV and a folder (or zip).

Each row is its own transaction: the student and their template are written together or not
at all, so a failed photo never leaves a half student behind, and re-running the import skips
what is already done.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.core.domain import CourseCreate, StudentCreate, canonical_id
from app.core.errors import ServiceError
from app.core.tables import Course, FaceTemplate, Student
from app.services.courses import add_to_roster, find_course
from app.services.enrollment import (
    DuplicateWarning,
    EnrollmentCandidate,
    PhotoWarning,
    duplicate_warnings,
    enrollment_candidate,
    store_template,
)
from models.embedder import EMBED_BATCH

REQUIRED_COLUMNS = ("external_id", "name", "photo")
COURSE_COLUMN = "course"  # optional: course codes, separated by ";" (made if missing)
# Rows whose chips are embedded in one network call: the embedder's own batch (the ResNet's
# time per chip stops falling there); photos wait at most one batch before being written.
IMPORT_BATCH = EMBED_BATCH


@dataclass(frozen=True)
class ImportRow:
    line: int  # in the CSV file, header = 1
    external_id: str
    name: str
    photo: str
    courses: tuple[str, ...] = ()  # codes of the courses whose rosters the student joins


@dataclass
class ImportSummary:
    enrolled: list[str] = field(default_factory=list)
    # (external id, course code): places added to rosters now (not those already there)
    joined: list[tuple[str, str]] = field(default_factory=list)
    already_joined: int = 0  # places the roster asked for that were there already
    made_courses: list[str] = field(default_factory=list)  # codes of courses made by the import
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (external id, why)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, external id, why)
    warnings: list[tuple[str, str]] = field(default_factory=list)


# Separators a roster saved by a spreadsheet may have instead of commas, named for the message.
SEPARATORS = {";": "semicolons", "\t": "tabs"}


class ImportFileError(ValueError):
    """The roster file itself is unusable (not a row of it)."""


def read_import_file(path: Path) -> list[ImportRow]:
    try:
        return _read_import_file(path)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not UTF-8 text: save the roster as CSV UTF-8") from exc
    except csv.Error as exc:
        raise ImportFileError(f"{path} is not a readable CSV file: {exc}") from exc


def _read_import_file(path: Path) -> list[ImportRow]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip().lower() for c in reader.fieldnames or []]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            # A spreadsheet saved as "CSV" in many locales separates with ';' (or a tab).
            header = ",".join(reader.fieldnames or [])
            other = next((name for sep, name in SEPARATORS.items() if sep in header), None)
            hint = f" (its header is separated by {other}: save it as CSV UTF-8, comma-separated)"
            hint = hint if other else ""
            raise ImportFileError(
                f"{path} lacks the column(s) {', '.join(missing)}; "
                f"the header must name {', '.join(REQUIRED_COLUMNS)}{hint}"
            )
        reader.fieldnames = columns
        return [
            ImportRow(
                line=reader.line_num,
                external_id=str(canonical_id((row["external_id"] or "").strip())),
                name=(row["name"] or "").strip(),
                photo=(row["photo"] or "").strip(),
                courses=_course_codes(row.get(COURSE_COLUMN)),
            )
            for row in reader
        ]


def _course_codes(cell: str | None) -> tuple[str, ...]:
    codes = (str(canonical_id(code.strip())) for code in (cell or "").split(";"))
    return tuple(dict.fromkeys(code for code in codes if code))


class PhotoSource:
    """Photos by file name from a folder or a zip archive."""

    def __init__(self, location: Path, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._zip: zipfile.ZipFile | None = None
        self._folder: Path | None = None
        if location.is_dir():
            self._folder = location
        elif zipfile.is_zipfile(location):
            self._zip = zipfile.ZipFile(location)
            files = [info for info in self._zip.infolist() if not info.is_dir()]
            self._members = {info.filename: info for info in files}
            # A bare file name also finds a member in a folder of the archive, unless two
            # folders hold that name (then the roster must say which).
            names = [PurePosixPath(info.filename).name for info in files]
            for name, info in zip(names, files, strict=True):
                if names.count(name) == 1:
                    self._members.setdefault(name, info)
        else:
            raise ImportFileError(f"{location} is neither a folder nor a zip archive of photos")

    def read(self, name: str) -> bytes:
        if not name:
            raise FileNotFoundError("the row names no photo")
        if self._folder is not None:
            relative = PurePosixPath(name)
            if relative.is_absolute() or ".." in relative.parts:
                raise ValueError(f"photo {name!r} must be a path inside {self._folder}")
            path = self._folder / relative
            if not path.is_file():
                raise FileNotFoundError(f"photo {name!r} not found in {self._folder}")
            if path.stat().st_size > self.max_bytes:
                raise ValueError(f"photo {name!r} is larger than {self.max_bytes} bytes")
            return path.read_bytes()
        info = self._members.get(name)
        if info is None:
            raise FileNotFoundError(f"photo {name!r} not found (or not unique) in the archive")
        if info.file_size > self.max_bytes:  # checked before inflating: no zip bombs
            raise ValueError(f"photo {name!r} is larger than {self.max_bytes} bytes")
        try:
            # union-attr: _members exists only beside an open archive (see __init__).
            return self._zip.read(info)  # type: ignore[union-attr]
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
            raise ValueError(f"photo {name!r} cannot be read from the archive: {exc}") from exc


def import_students(
    context: ServiceContext,
    rows: list[ImportRow],
    photos: PhotoSource,
    progress: Callable[[Iterable[ImportRow]], Iterable[ImportRow]] = iter,
) -> ImportSummary:
    """Enroll the rows' students: each photo is detected on its own, the chips of a batch of
    rows are embedded in one network call, then each row is written in its own transaction."""
    summary = ImportSummary()
    seen: dict[str, int] = {}
    pending: list[tuple[ImportRow, bytes, EnrollmentCandidate]] = []
    for row in progress(rows):
        candidate = _photo_to_enroll(context, row, photos, seen, summary)
        if candidate is not None:
            pending.append((row, *candidate))
        if len(pending) == IMPORT_BATCH:
            _enroll_batch(context, pending, summary)
            pending = []
    _enroll_batch(context, pending, summary)
    return summary


def _photo_to_enroll(
    context: ServiceContext,
    row: ImportRow,
    photos: PhotoSource,
    seen: dict[str, int],
    summary: ImportSummary,
) -> tuple[bytes, EnrollmentCandidate] | None:
    """The row's photo and face when the row is to be enrolled; else the row is accounted
    for in `summary` (failed, or skipped as already enrolled) and None is returned."""
    try:
        StudentCreate(external_id=row.external_id, name=row.name)  # the API's own rules
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        summary.failed.append((row.line, row.external_id, problems))
        return None
    if row.external_id in seen:
        summary.failed.append(
            (row.line, row.external_id, f"duplicate external id (line {seen[row.external_id]})")
        )
        return None
    seen[row.external_id] = row.line
    with context.db.read_session() as session:
        student = session.scalar(select(Student).where(Student.external_id == row.external_id))
        enrolled = student is not None and session.scalar(
            select(FaceTemplate.id).where(FaceTemplate.student_id == student.id).limit(1)
        )
    if enrolled and student is not None:
        summary.skipped.append((row.external_id, "already enrolled"))
        if row.courses:  # a re-run still puts them on the roster's courses
            with context.db.session() as db:
                _join_courses(db, student.id, row, summary)
                db.commit()
        return None
    try:
        data = photos.read(row.photo)
        return data, enrollment_candidate(context, data)
    except (OSError, ValueError, ServiceError) as exc:
        summary.failed.append((row.line, row.external_id, failure_reason(exc)))
        return None


def _enroll_batch(
    context: ServiceContext,
    pending: list[tuple[ImportRow, bytes, EnrollmentCandidate]],
    summary: ImportSummary,
) -> None:
    """Embeds the batch's faces at once, then writes each row in its own transaction."""
    faces = context.embedder.embedded([candidate.face for _, _, candidate in pending])
    for (row, data, candidate), face in zip(pending, faces, strict=True):
        context.gallery_store.sync()  # before the write transaction: see duplicate_warnings
        with context.db.session() as session:
            student = session.scalar(select(Student).where(Student.external_id == row.external_id))
            if student is None:
                student = Student(external_id=row.external_id, name=row.name)
                session.add(student)
                session.flush()
            try:
                warnings = duplicate_warnings(context, session, student.id, face, replacing=True)
            except ServiceError as exc:
                session.rollback()
                summary.failed.append((row.line, row.external_id, failure_reason(exc)))
                continue
            store_template(context, session, student, face, data, replace=True)
            _join_courses(session, student.id, row, summary)  # with the template, or not at all
            session.commit()
        summary.enrolled.append(row.external_id)
        found: list[PhotoWarning | DuplicateWarning] = [*candidate.warnings, *warnings]
        summary.warnings.extend((row.external_id, w.message) for w in found)


def _join_courses(db: Session, student_id: int, row: ImportRow, summary: ImportSummary) -> None:
    """Put the row's student on its courses' rosters (flushed, not committed), making courses
    that do not exist yet (named by their code: rename them with PATCH /courses/{id})."""
    for code in row.courses:
        course = find_course(db, code)
        if course is None:
            try:
                CourseCreate(code=code, name=code)  # the API's own rules
            except ValidationError:
                summary.failed.append((row.line, row.external_id, f"bad course code {code!r}"))
                continue
            course = Course(code=code, name=code)
            db.add(course)
            db.flush()
            summary.made_courses.append(code)
        if add_to_roster(db, course.id, student_id):
            summary.joined.append((row.external_id, code))
        else:
            summary.already_joined += 1


def failure_reason(exc: Exception) -> str:
    if isinstance(exc, ServiceError):
        return f"{exc.code}: {exc.message}"
    return str(exc)
