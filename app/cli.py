"""`rollcall`: the command line of the whole project (model tools and service operations)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from models.cli import add_model_commands

if TYPE_CHECKING:  # the service's modules load the model stack: imported where used
    from collections.abc import Iterable

    from app.context import ServiceContext
    from app.db import Database


WORKER_START_SECONDS = 300


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import get_settings
    from app.migrate import upgrade

    # Migrated once here, before the workers start; each worker's own start-up migration then
    # finds the schema at head (and would wait its turn if not: migrations take a lock).
    upgrade(get_settings().database_url)
    # access_log off: every request is already logged once, as JSON, with its request id.
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        # A worker counts as started once its model is loaded, which takes far more than
        # uvicorn's 5 s default on a busy machine; a worker not ready in time is killed.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
        proxy_headers=True,
        access_log=False,
    )
    return 0


def db_upgrade_command(args: argparse.Namespace) -> int:
    from app.config import get_settings
    from app.migrate import upgrade

    url = get_settings().database_url
    upgrade(url, args.revision)
    print(f"database at {_redacted(url)} is at revision {args.revision}")
    return 0


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _database() -> Database:
    """The configured database, migrated to the newest schema."""
    from app.config import get_settings
    from app.db import Database
    from app.migrate import upgrade

    url = get_settings().database_url
    upgrade(url)
    return Database(url)


def keys_create_command(args: argparse.Namespace) -> int:
    from app.services.keys import Role, create_key

    with _database().session() as session:
        row, key = create_key(session, args.name, Role(args.role))
    print(f"created {row.role} key #{row.id} ({row.name}). Store it now, it is not shown again:")
    print(key)
    return 0


def keys_list_command(args: argparse.Namespace) -> int:
    from app.services.keys import list_keys

    with _database().session() as session:
        rows = list_keys(session)
    print(f"{'id':>4} {'role':7} {'prefix':11} {'created':20} {'revoked':20} name")
    for row in rows:
        revoked = row.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if row.revoked_at else "-"
        created = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{row.id:>4} {row.role:7} {row.prefix:11} {created:20} {revoked:20} {row.name}")
    return 0


def keys_revoke_command(args: argparse.Namespace) -> int:
    from app.errors import NotFound
    from app.services.keys import revoke_key

    with _database().session() as session:
        try:
            row = revoke_key(session, args.id)
        except NotFound as exc:
            print(exc.message, file=sys.stderr)
            return 1
    print(f"revoked key #{row.id} ({row.name})")
    return 0


def _service() -> ServiceContext:
    """The service's context (model loaded, gallery filled) for commands that enroll."""
    from app.config import get_settings
    from app.context import ServiceContext
    from app.observability import Metrics

    return ServiceContext.start(get_settings(), Metrics())


def import_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.services.roster import (
        PhotoSource,
        RosterError,
        RosterRow,
        import_roster,
        read_roster,
    )

    try:
        rows = read_roster(args.roster)
        context = _service()
        photos = PhotoSource(args.photos, context.settings.max_upload_bytes)
    except (RosterError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def progress(items: Iterable[RosterRow]) -> Iterable[RosterRow]:
        return tqdm(items, desc="enrolling", unit="student")

    summary = import_roster(context, rows, photos, progress)
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
    context.close()
    return 1 if summary.failed else 0


def export_command(args: argparse.Namespace) -> int:
    from app.services.attendance import attendance_csv, list_attendance

    with _database().session() as session:
        rows = list_attendance(
            session,
            session_id=args.session,
            day=args.day,
            date_from=args.date_from,
            date_to=args.date_to,
            student_id=args.student,
        )
    text = attendance_csv(rows)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(rows)} attendance rows to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def reembed_command(args: argparse.Namespace) -> int:
    from app.services.roster import reembed

    context = _service()
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


def add_service_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = commands.add_parser("serve", help="run the web service (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes, each with its own model (about one per CPU core)",
    )
    serve.set_defaults(handler=serve_command)

    db = commands.add_parser("db", help="database schema (Alembic)")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=db_upgrade_command)

    keys = commands.add_parser("keys", help="access keys (admin, kiosk, viewer)")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create a key; it is printed once")
    create.add_argument("--role", choices=["admin", "kiosk", "viewer"], required=True)
    create.add_argument("--name", required=True, help="what the key is for, e.g. 'front kiosk'")
    create.set_defaults(handler=keys_create_command)
    key_commands.add_parser("list", help="list keys (never the keys themselves)").set_defaults(
        handler=keys_list_command
    )
    revoke = key_commands.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=keys_revoke_command)

    roster = commands.add_parser(
        "import", help="enroll a class: ROSTER.csv (external_id,name,photo) and its photos"
    )
    roster.add_argument("roster", type=Path, metavar="ROSTER.csv")
    roster.add_argument("photos", type=Path, metavar="PHOTOS_DIR_OR_ZIP")
    roster.set_defaults(handler=import_command)

    export = commands.add_parser("export", help="attendance as CSV")
    export.add_argument("--session", type=int, help="a class session id")
    export.add_argument("--day", type=dt.date.fromisoformat)
    export.add_argument("--from", dest="date_from", type=dt.date.fromisoformat)
    export.add_argument("--to", dest="date_to", type=dt.date.fromisoformat)
    export.add_argument("--student", type=int, help="a student id")
    export.add_argument("-o", "--output", type=Path, help="file (default: standard output)")
    export.set_defaults(handler=export_command)

    commands.add_parser(
        "reembed", help="re-embed templates made by other weights (needs kept photos)"
    ).set_defaults(handler=reembed_command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rollcall", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    add_model_commands(commands)
    add_service_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
