"""`rollcall`: the command line of the whole project (model tools and service operations).

Commands import what they need when they run: those that load no model start without torch.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from app.config import ConfigurationError
from models.cli import HelpFormatter, add_command, add_model_commands

if TYPE_CHECKING:
    from collections.abc import Iterable

    from app.context import ServiceContext
    from app.db import Database

WEIGHTS_SETTINGS = ("ROLLCALL_BACKBONE", "ROLLCALL_WEIGHTS_PATH", "ROLLCALL_FLIP_TTA")


def _say_database(url: str) -> None:
    from app.db import redacted

    print(f"database: {redacted(url)}", file=sys.stderr)


def _database() -> Database:
    """The configured database; it must exist and be at the newest schema."""
    from app.config import get_settings
    from app.db import Database, redacted, require_database
    from app.migrate import require_current_schema

    url = get_settings().database_url
    _say_database(url)
    require_database(url, create=False)
    database = Database(url)
    with database.read_session() as session:
        require_current_schema(session, redacted(url))
    return database


def _service() -> ServiceContext:
    """The service's context (model loaded, gallery filled) for commands that enroll."""
    from app.config import get_settings
    from app.context import ServiceContext
    from app.observability import Metrics

    settings = get_settings()
    _say_database(settings.database_url)
    return ServiceContext.start(settings, Metrics())


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    if args.force:  # read by the service's settings, in this process and any worker
        os.environ["ROLLCALL_ALLOW_STRANDED_STUDENTS"] = "true"
    # access_log off: every request is already logged once, as JSON, with its request id.
    uvicorn.run(
        "app.main:app", host=args.host, port=args.port, proxy_headers=True, access_log=False
    )
    return 0


def db_upgrade_command(args: argparse.Namespace) -> int:
    from app.config import get_settings
    from app.db import redacted, require_database
    from app.migrate import upgrade

    url = get_settings().database_url
    _say_database(url)
    require_database(url, create=True)
    upgrade(url, args.revision)
    print(f"database at {redacted(url)} is at revision {args.revision}")
    return 0


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
    from app.services.keys import get_key, revoke_key

    with _database().session() as session:
        try:
            row = get_key(session, args.id)
        except NotFound as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        if row.revoked_at is not None:
            revoked = row.revoked_at.strftime("%Y-%m-%d %H:%M:%S")
            print(f"key #{row.id} ({row.name}) was already revoked at {revoked}")
            return 0
        revoke_key(session, args.id)
    print(f"revoked key #{row.id} ({row.name})")
    return 0


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
    from app.errors import ServiceError
    from app.services.attendance import attendance_csv, check_filters, list_attendance

    filters = {
        "session_id": args.session,
        "date_from": args.date_from,
        "date_to": args.date_to,
        "student_id": args.student,
    }
    with _database().session() as session:
        try:
            check_filters(session, **filters)
        except ServiceError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        rows = list_attendance(session, day=args.day, **filters)
    text = attendance_csv(rows)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(rows)} attendance rows to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _weights_settings_overridden() -> list[str]:
    """Weights settings given in the environment that differ from .env's: a service started
    from .env alone would use other weights than this command."""
    from dotenv import dotenv_values

    in_file = dotenv_values(".env")
    return [
        name
        for name in WEIGHTS_SETTINGS
        if name in os.environ and os.environ[name] != (in_file.get(name) or "")
    ]


def reembed_command(args: argparse.Namespace) -> int:
    from app.services.roster import reembed

    context = _service()
    settings = context.settings
    print(
        f"re-embedding for weights {context.embedder.version} (ROLLCALL_BACKBONE="
        f"{settings.backbone}, ROLLCALL_WEIGHTS_PATH={settings.weights_path or '-'}, "
        f"ROLLCALL_FLIP_TTA={str(settings.flip_tta).lower()}): the service must run with "
        "the same settings to use them",
        file=sys.stderr,
    )
    for name in _weights_settings_overridden():
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


def day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _print_help(parser: argparse.ArgumentParser) -> None:
    """`rollcall keys` (or `db`) alone: its help, not an error."""
    parser.set_defaults(handler=lambda _: parser.print_help() or 0)


def _add_serve_and_db(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = add_command(
        commands,
        "serve",
        "run the web service (uvicorn)",
        "Serve the REST API (and /health, /metrics, /docs). Settings come from ROLLCALL_* "
        "variables or ./.env. At start it migrates the database (making a SQLite file if "
        "missing), loads the model, and refuses weights under which enrolled students could "
        "no longer be recognised (templates of other weights without a kept photo), naming "
        "them.",
        "  rollcall serve --host 0.0.0.0 --port 8000\n"
        "  ROLLCALL_WEIGHTS_PATH=out/ft/backbone.pt rollcall serve\n",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument(
        "--force",
        action="store_true",
        help="serve even if students enrolled with other weights cannot be re-embedded "
        "(they are not recognised until re-enrolled)",
    )
    serve.set_defaults(handler=serve_command)

    db = add_command(
        commands,
        "db",
        "database schema (Alembic)",
        "Manage the schema of the database ROLLCALL_DATABASE_URL names.",
        "  rollcall db upgrade\n",
    )
    _print_help(db)
    db_commands = db.add_subparsers(dest="db_command", metavar="COMMAND")
    upgrade = add_command(
        db_commands,
        "upgrade",
        "migrate the database to the newest schema (creates a missing SQLite file)",
        "Apply Alembic's migrations up to REVISION. The only command besides `serve` that "
        "creates a SQLite database that does not exist yet.",
        "  rollcall db upgrade\n"
        "  ROLLCALL_DATABASE_URL=postgresql+psycopg://u:p@host/db rollcall db upgrade\n",
    )
    upgrade.add_argument("revision", nargs="?", default="head", help="Alembic revision")
    upgrade.set_defaults(handler=db_upgrade_command)


def _add_keys(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = add_command(
        commands,
        "keys",
        "access keys (admin, kiosk, viewer)",
        "Create, list and revoke the access keys clients send in the X-API-Key header. "
        "admin: everything; kiosk: check in and verify; viewer: sessions, attendance, metrics.",
        "  rollcall keys create --role kiosk --name 'front kiosk'\n"
        "  rollcall keys list\n  rollcall keys revoke 3\n",
    )
    _print_help(keys)
    key_commands = keys.add_subparsers(dest="keys_command", metavar="COMMAND")
    create = add_command(
        key_commands,
        "create",
        "create a key; it is printed once",
        "Create a key and print it once (only its hash is stored).",
        "  rollcall keys create --role admin --name ops\n",
    )
    create.add_argument("--role", choices=["admin", "kiosk", "viewer"], required=True)
    create.add_argument("--name", required=True, help="what the key is for, e.g. 'front kiosk'")
    create.set_defaults(handler=keys_create_command)
    add_command(
        key_commands,
        "list",
        "list keys (never the keys themselves)",
        "List every key: id, role, prefix, when created and revoked, name.",
        "  rollcall keys list\n",
    ).set_defaults(handler=keys_list_command)
    revoke = add_command(
        key_commands,
        "revoke",
        "revoke a key by id",
        "Revoke a key (its id from `rollcall keys list`); it is refused from then on.",
        "  rollcall keys revoke 3\n",
    )
    revoke.add_argument("id", type=int, help="the key's id")
    revoke.set_defaults(handler=keys_revoke_command)


def _add_roster_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    roster = add_command(
        commands,
        "import",
        "enroll a class from a roster CSV and its photos",
        "Enroll every row of ROSTER.csv, a CSV with the header external_id,name,photo (photo: "
        "a file name inside PHOTOS, a folder or a .zip). Each row is enrolled in its own "
        "transaction (a failed photo leaves no student behind); rows already enrolled are "
        "skipped, so re-running is safe. Exits 1 if any row failed, listing each with its "
        "reason.",
        "  rollcall import roster.csv photos/\n  rollcall import roster.csv photos.zip\n\n"
        "roster.csv:\n  external_id,name,photo\n  S001,Ada Lovelace,ada.jpg\n",
    )
    roster.add_argument("roster", type=Path, metavar="ROSTER.csv", help="external_id,name,photo")
    roster.add_argument("photos", type=Path, metavar="PHOTOS", help="folder or .zip of photos")
    roster.set_defaults(handler=import_command)

    export = add_command(
        commands,
        "export",
        "attendance as CSV",
        "Write attendance rows as CSV (one row per student per session or day), all of them "
        "or those the filters select. Dates are YYYY-MM-DD; --from and --to include both ends.",
        "  rollcall export -o attendance.csv\n  rollcall export --day 2026-11-23\n"
        "  rollcall export --from 2026-11-01 --to 2026-11-30 --student 12\n"
        "  rollcall export --session 4\n",
    )
    export.add_argument("--session", type=int, help="a class session id")
    export.add_argument("--day", type=day, metavar="YYYY-MM-DD", help="one calendar day")
    export.add_argument(
        "--from", dest="date_from", type=day, metavar="YYYY-MM-DD", help="first day"
    )
    export.add_argument("--to", dest="date_to", type=day, metavar="YYYY-MM-DD", help="last day")
    export.add_argument("--student", type=int, help="a student id")
    export.add_argument("-o", "--output", type=Path, help="file (default: standard output)")
    export.set_defaults(handler=export_command)

    add_command(
        commands,
        "reembed",
        "re-embed templates made by other weights (needs kept photos)",
        "After a weights change: re-embed, with the weights the settings name (the service's "
        "ROLLCALL_BACKBONE, ROLLCALL_WEIGHTS_PATH, ROLLCALL_FLIP_TTA, from the environment or "
        "./.env), every template made by other weights, from its kept photo "
        "(ROLLCALL_KEEP_PHOTOS). Students without a kept photo are listed: re-enroll them.",
        "  ROLLCALL_WEIGHTS_PATH=out/ft/backbone.pt rollcall reembed\n",
    ).set_defaults(handler=reembed_command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rollcall",
        description="Rollcall: face-verification attendance. `rollcall COMMAND --help` "
        "explains each command, with examples.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rollcall {version('rollcall')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_model_commands(commands)
    _add_serve_and_db(commands)
    _add_keys(commands)
    _add_roster_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ConfigurationError as exc:
        print(f"rollcall: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
