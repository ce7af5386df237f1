"""What the service's `rollcall` commands do (their arguments are declared in `app.cli`).

Each imports what it needs when it runs: the commands that load no model start without torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import ColumnElement

    from app.context import ServiceContext
    from app.core.config import Settings
    from app.core.db import Database
    from app.core.tables import Base

WEIGHTS_SETTINGS = ("ROLLCALL_BACKBONE", "ROLLCALL_WEIGHTS_PATH", "ROLLCALL_FLIP_TTA")


def _say_database(url: str) -> None:
    from app.core.db import redacted

    print(f"database: {redacted(url)}", file=sys.stderr)


def _database() -> Database:
    """The configured database; it must exist and be at the newest schema."""
    from app.core.config import get_settings
    from app.core.db import Database, redacted, require_database
    from app.core.migrate import require_current_schema

    url = get_settings().database_url
    _say_database(url)
    require_database(url, create=False)
    database = Database(url)
    with database.read_session() as db:
        require_current_schema(db, redacted(url))
    return database


def _service() -> ServiceContext:
    """The service's context (model loaded, gallery filled) for commands that enroll."""
    from app.context import ServiceContext
    from app.core.config import get_settings
    from app.core.observability import Metrics

    settings = get_settings()
    _say_database(settings.database_url)
    return ServiceContext.start(settings, Metrics())


# A worker counts as started once its model is loaded, which takes far more than uvicorn's 5 s
# default on a busy machine; a worker not ready in time is killed (and restarted, forever).
WORKER_START_SECONDS = 300


class TlsOptions(TypedDict, total=False):
    """uvicorn.run's TLS arguments: both, or neither (plain HTTP)."""

    ssl_certfile: str
    ssl_keyfile: str


def _tls_options(args: argparse.Namespace) -> TlsOptions:
    """uvicorn's TLS options from --tls-cert/--tls-key; both or neither, both readable."""
    from app.core.config import ConfigurationError

    given = {"--tls-cert": args.tls_cert, "--tls-key": args.tls_key}
    if not any(given.values()):
        return {}
    for option, path in given.items():
        if path is None:
            other = "--tls-key" if option == "--tls-cert" else "--tls-cert"
            raise ConfigurationError(f"{other} needs {option} too (HTTPS needs both files)")
    for option, path in given.items():
        if not path.is_file():
            raise ConfigurationError(
                f"{option} {path}: no such file (`rollcall tls make-cert --host NAME` makes a "
                "certificate and its key for a trial)"
            )
    return {"ssl_certfile": str(args.tls_cert), "ssl_keyfile": str(args.tls_key)}


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from app.api.protocols import JsonErrorsProtocol

    tls = _tls_options(args)
    if args.force:  # read by the service's settings, in this process and any worker
        os.environ["ROLLCALL_ALLOW_STRANDED_STUDENTS"] = "true"
    if args.workers > 1:
        from app.core.config import get_settings
        from app.core.db import require_database
        from app.core.migrate import upgrade

        # Migrated once here, before the workers start; each worker's own start-up migration
        # then finds the schema at head (and would wait its turn if not: migrations take a lock).
        url = get_settings().database_url
        _say_database(url)
        require_database(url, create=True)
        upgrade(url)
    # access_log off: every request is already logged once, as JSON, with its request id.
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        timeout_worker_healthcheck=WORKER_START_SECONDS,
        # X-Forwarded-For/-Proto are believed only from the proxies named (see _add_serve_and_db)
        proxy_headers=True,
        access_log=False,
        # None: uvicorn's default, $FORWARDED_ALLOW_IPS or 127.0.0.1 (a proxy on this machine).
        forwarded_allow_ips=args.forwarded_allow_ips or None,
        http=JsonErrorsProtocol,  # what uvicorn refuses itself is answered in the error shape
        **tls,
    )
    return 0


def tls_make_cert_command(args: argparse.Namespace) -> int:
    from app.core.tls import CertificateError, describe_certificate, make_certificate

    try:
        made = make_certificate(args.hosts, args.out, args.days, overwrite=args.force)
    except CertificateError as exc:
        return _refuse(exc, 1)
    print(f"made {made.cert} and {made.key} for {', '.join(made.names)}")
    print(describe_certificate(made.cert))
    print(f"serve it:  rollcall serve --host 0.0.0.0 --tls-cert {made.cert} --tls-key {made.key}")
    print(
        f"then open https://{args.hosts[0]}:8000/kiosk on each tablet, after it trusts "
        f"{made.cert} (or its user accepts the browser's warning once)"
    )
    return 0


def db_upgrade_command(args: argparse.Namespace) -> int:
    from app.core.config import get_settings
    from app.core.db import redacted, require_database
    from app.core.migrate import upgrade

    url = get_settings().database_url
    _say_database(url)
    require_database(url, create=True)
    upgrade(url, args.revision)
    print(f"database at {redacted(url)} is at revision {args.revision}")
    return 0


def db_backup_command(args: argparse.Namespace) -> int:
    from app.core.config import get_settings
    from app.services.operations import OperationError, backup_sqlite, pg_command, sqlite_path

    url = get_settings().database_url
    _say_database(url)
    database = sqlite_path(url)
    if database is None:
        print(pg_command("pg_dump", url, args.file))
        print(
            "rollcall db backup: PostgreSQL is backed up by its own pg_dump: run the line "
            "above (it asks for the password, or reads PGPASSWORD or ~/.pgpass); nothing "
            "was written",
            file=sys.stderr,
        )
        return 1
    try:
        made = backup_sqlite(database, args.file, overwrite=args.force)
    except OperationError as exc:
        return _refuse(exc, 1)
    print(f"backed up {database} to {made.file} ({made.bytes:,} bytes, revision {made.revision})")
    return 0


def db_restore_command(args: argparse.Namespace) -> int:
    from app.core.config import get_settings
    from app.services.operations import OperationError, pg_command, restore_sqlite, sqlite_path

    url = get_settings().database_url
    _say_database(url)
    database = sqlite_path(url)
    if database is None:
        print(pg_command("pg_restore", url, args.file))
        print(
            "rollcall db restore: a PostgreSQL backup is restored by pg_restore: stop the "
            "service, run the line above, then start it (it migrates the schema); nothing "
            "was changed",
            file=sys.stderr,
        )
        return 1
    if not args.yes:
        print(
            f"error: this replaces everything in {database} with {args.file}: stop the service "
            "first, then run again with --yes",
            file=sys.stderr,
        )
        return 1
    try:
        restored = restore_sqlite(database, args.file)
    except OperationError as exc:
        return _refuse(exc, 1)
    print(f"restored {database} from {args.file} (revision {restored.revision})")
    if restored.previous is not None:
        print(f"the database as it was is kept in {restored.previous}")
    print("start the service: it migrates the schema to this release's if the backup is older")
    return 0


def purge_command(args: argparse.Namespace) -> int:
    from app.core.config import ConfigurationError, get_settings
    from app.services.operations import purge

    settings = get_settings()
    days = args.older_than or settings.checkin_retention_days
    if days is None:
        raise ConfigurationError(
            "give --older-than DAYS, or set ROLLCALL_CHECKIN_RETENTION_DAYS (e.g. 30)"
        )
    with _database().session() as db:
        purged = purge(db, days, thumbnail_days=settings.thumbnail_retention_days)
    print(
        f"deleted {purged.attempts} check-in attempts and {purged.challenges} liveness "
        f"challenges from before {purged.before:%Y-%m-%d %H:%M} UTC ({days} days), and "
        f"{purged.thumbnails} check-in thumbnails older than "
        f"{settings.thumbnail_retention_days} days; attendance is kept"
    )
    return 0


def students_delete_command(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from app.core.tables import Attendance, CheckinAttempt, FaceTemplate, Student
    from app.services.students import delete_student

    with _database().session() as db:
        student = db.scalar(select(Student).where(Student.external_id == args.external_id))
        if student is None:
            print(
                f"error: no student with external id {args.external_id!r} (`rollcall courses "
                "roster CODE` or GET /api/v1/students?q=... lists them)",
                file=sys.stderr,
            )
            return 1

        def count(table: type[Base], column: ColumnElement[bool]) -> int:
            return int(db.scalar(select(func.count()).select_from(table).where(column)) or 0)

        held = (
            f"{count(FaceTemplate, FaceTemplate.student_id == student.id)} photos/templates, "
            f"{count(Attendance, Attendance.student_id == student.id)} attendance rows, "
            f"{count(CheckinAttempt, CheckinAttempt.best_student_id == student.id)} check-in "
            "attempts"
        )
        if not args.yes:
            print(
                f"would delete {student.external_id} ({student.name}) with {held}; run again "
                "with --yes to delete them",
            )
            return 1
        name = student.name
        delete_student(db, student.id)
    # A running service drops them from its gallery at its next check-in (the revision bump).
    print(f"deleted {args.external_id} ({name}) with {held}")
    return 0


def keys_create_command(args: argparse.Namespace) -> int:
    from app.core.errors import ServiceError
    from app.core.roles import Role
    from app.services.courses import course_by_code
    from app.services.keys import create_key

    with _database().session() as db:
        try:
            course_ids = [course_by_code(db, code).id for code in args.course]
            row, key = create_key(db, args.name, Role(args.role), course_ids)
        except ServiceError as exc:  # an unknown course, or courses for another role's key
            return _refuse(exc, 1)
        courses = f" for {', '.join(args.course)}" if args.course else ""
    print(
        f"created {row.role} key #{row.id} ({row.name}){courses}. "
        "Store it now, it is not shown again:"
    )
    print(key)
    return 0


def keys_list_command(args: argparse.Namespace) -> int:
    from app.services.keys import is_revoked, list_keys

    with _database().session() as db:
        rows = list_keys(db)
    print(f"{'id':>4} {'role':7} {'prefix':11} {'created':20} {'revoked':25} name")
    for row in rows:
        revoked = row.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if row.revoked_at else "-"
        if row.revoked_at is not None and not is_revoked(row):
            revoked = f"from {revoked}"  # rotated: in its grace period
        created = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{row.id:>4} {row.role:7} {row.prefix:11} {created:20} {revoked:25} {row.name}")
    return 0


def keys_revoke_command(args: argparse.Namespace) -> int:
    from app.core.errors import NotFound
    from app.services.keys import get_key, is_revoked, revoke_key

    with _database().session() as db:
        try:
            row = get_key(db, args.id)
        except NotFound as exc:
            return _refuse(exc, 1)
        if row.revoked_at is not None and is_revoked(row):
            revoked = row.revoked_at.strftime("%Y-%m-%d %H:%M:%S")
            print(f"key #{row.id} ({row.name}) was already revoked at {revoked}")
            return 0
        revoke_key(db, args.id)
    print(f"revoked key #{row.id} ({row.name})")
    return 0


def import_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.services.student_import import (
        ImportFileError,
        ImportRow,
        PhotoSource,
        import_students,
        read_import_file,
    )

    try:
        rows = read_import_file(args.roster)
        context = _service()
        photos = PhotoSource(args.photos, context.settings.max_upload_bytes)
    except (ImportFileError, OSError) as exc:
        return _refuse(exc, 2)

    def progress(items: Iterable[ImportRow]) -> Iterable[ImportRow]:
        # One photo a row: tqdm's rate is photos/s (smoothed), its summary the average.
        return tqdm(items, desc="enrolling", unit="photo")

    summary = import_students(context, rows, photos, progress)
    print(
        f"enrolled {len(summary.enrolled)}, skipped {len(summary.skipped)}, "
        f"failed {len(summary.failed)} (of {len(rows)} rows)"
    )
    for external_id, why in summary.skipped:
        print(f"  skipped {external_id}: {why}")
    for line, external_id, why in summary.failed:
        print(f"  FAILED line {line} {external_id or '(no id)'}: {why}")
    for external_id, message in summary.warnings:
        print(f"  warning {external_id}: {message}")
    if summary.made_courses:
        print(
            f"made courses {', '.join(summary.made_courses)}, each named by its code (rename "
            "them in the office's Courses, or PATCH /api/v1/courses/{id})"
        )
    if summary.joined or summary.already_joined:
        courses = sorted({code for _, code in summary.joined})
        places = f"{len(summary.joined)} place{'s' if len(summary.joined) != 1 else ''}"
        added = f"{places} on {', '.join(courses)}" if courses else "no place added"
        there = f" ({summary.already_joined} already there)" if summary.already_joined else ""
        print(f"rosters: {added}{there}")
    context.close()
    return 1 if summary.failed else 0


def courses_list_command(args: argparse.Namespace) -> int:
    from app.services.courses import list_courses

    with _database().read_session() as db:
        found = list_courses(db)
    print(f"{'id':>4} {'code':16} {'students':>8} name")
    for one in found:
        print(f"{one.course.id:>4} {one.course.code:16} {one.students:>8} {one.course.name}")
    return 0


def courses_create_command(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.core.domain import CourseCreate
    from app.core.errors import ServiceError
    from app.services.courses import create_course

    try:
        body = CourseCreate(code=args.code, name=args.name or args.code)
        with _database().session() as db:
            made = create_course(db, body)
    except (ValidationError, ServiceError) as exc:
        return _refuse(exc, 1)
    print(f"created course #{made.course.id} {made.course.code} ({made.course.name})")
    return 0


def courses_roster_command(args: argparse.Namespace) -> int:
    """Show a roster; with --set, replace it first with these students (by external id)."""
    from app.core.errors import ServiceError
    from app.services.courses import course_by_code, roster, set_roster, student_ids_of

    try:
        with _database().session() as db:
            course = course_by_code(db, args.code)
            if args.set is not None:
                set_roster(db, course.id, student_ids_of(db, args.set))
            shown = roster(db, course.id)
    except ServiceError as exc:
        return _refuse(exc, 1)
    print(f"{shown.course.code} ({shown.course.name}): {len(shown.students)} students")
    for student in shown.students:
        print(f"  {student.external_id}  {student.name}")
    return 0


def courses_delete_command(args: argparse.Namespace) -> int:
    from app.core.errors import ServiceError
    from app.services.courses import course_by_code, delete_course

    try:
        with _database().session() as db:
            delete_course(db, course_by_code(db, args.code).id)
    except ServiceError as exc:
        return _refuse(exc, 1)
    print(f"deleted course {args.code} (its sessions stay, as sessions of no course)")
    return 0


def _refuse(exc: Exception, status: int) -> int:
    """Say why the command cannot go on; its exit status (1: refused, 2: bad input)."""
    print(f"error: {_problem(exc)}", file=sys.stderr)
    return status


def _problem(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
    return getattr(exc, "message", str(exc))


def export_command(args: argparse.Namespace) -> int:
    from app.core.errors import ServiceError
    from app.services.attendance import (
        attendance_csv,
        check_filters,
        class_session_report,
        list_attendance,
        report_csv,
    )

    filters = {
        "session_id": args.session,
        "date_from": args.date_from,
        "date_to": args.date_to,
        "student_id": args.student,
    }
    if args.absent and (
        args.session is None or any((args.day, args.date_from, args.date_to, args.student))
    ):
        print("error: --absent goes with --session alone (a session's roster)", file=sys.stderr)
        return 2
    with _database().session() as db:
        try:
            check_filters(db, **filters)
        except ServiceError as exc:
            return _refuse(exc, 2)
        if args.absent:  # the session's report: its roster's absentees too
            report = class_session_report(db, args.session)
            text, count = report_csv(report), len(report.present) + len(report.absent)
            what = "report rows (present, late, absent)"
        else:
            rows = list_attendance(db, day=args.day, **filters)
            text, count, what = attendance_csv(rows), len(rows), "attendance rows"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {count} {what} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _weights_settings_overridden(settings: Settings) -> list[str]:
    """Weights settings given in the environment that differ from .env's: a service started
    from .env alone would use other weights than this command. Not ROLLCALL_FLIP_TTA where .env
    leaves it unset on a backbone that mirrors by default: the gallery decides there
    (app.context.served_mirroring), and this re-embed makes it so."""
    from dotenv import dotenv_values

    from models.backbones import mirrors

    in_file = dotenv_values(".env")
    gallery_decides = not in_file.get("ROLLCALL_FLIP_TTA") and mirrors(settings.backbone)
    return [
        name
        for name in WEIGHTS_SETTINGS
        if name in os.environ
        and os.environ[name] != (in_file.get(name) or "")
        and not (name == "ROLLCALL_FLIP_TTA" and gallery_decides)
    ]


def reembed_command(args: argparse.Namespace) -> int:
    from app.context import embedder_config
    from app.services.reembed import reembed

    context = _service()
    settings = context.settings
    flip = "unset" if settings.flip_tta is None else str(settings.flip_tta).lower()
    mirroring = "on" if context.embedder.mirrored else "off"
    if (
        settings.flip_tta is None
        and embedder_config(settings).mirrored != context.embedder.mirrored
    ):
        mirroring += ", kept off for a gallery enrolled without it"
    print(
        f"re-embedding for weights {context.embedder.version} (ROLLCALL_BACKBONE="
        f"{settings.backbone}, ROLLCALL_WEIGHTS_PATH={settings.weights_path or '-'}, "
        f"ROLLCALL_FLIP_TTA={flip}: mirror averaging {mirroring}): the service must run with "
        "the same settings to use them",
        file=sys.stderr,
    )
    for name in _weights_settings_overridden(settings):
        print(
            f"note: {name} comes from the environment and differs from .env: a service "
            "started from .env alone serves other weights",
            file=sys.stderr,
        )
    summary = reembed(context)
    print(f"re-embedded {len(summary.reembedded)} templates with {context.embedder.version}")
    for external_id, why in summary.failed:
        print(f"  FAILED {external_id}: {why}")
    if summary.need_reenrollment:
        print(
            f"{len(summary.need_reenrollment)} students have no kept photo and must be "
            f"re-enrolled (POST /api/v1/students/{{id}}/photo): "
            + ", ".join(summary.need_reenrollment)
        )
    context.close()
    return 1 if summary.failed or summary.need_reenrollment else 0
