"""`rollcall`: the command line of the whole project (model tools and service operations).

Commands import what they need when they run: those that load no model start without torch.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from importlib.metadata import version
from pathlib import Path

from app.commands import (
    courses_create_command,
    courses_delete_command,
    courses_list_command,
    courses_roster_command,
    db_backup_command,
    db_restore_command,
    db_upgrade_command,
    export_command,
    import_command,
    keys_create_command,
    keys_list_command,
    keys_revoke_command,
    purge_command,
    reembed_command,
    serve_command,
    students_delete_command,
    tls_make_cert_command,
)
from app.commands_keys import add_rotate_command
from app.commands_timetable import add_timetable_commands
from app.core.config import ConfigurationError
from app.services.calibration_facts import gallery_facts
from models.cli import HelpFormatter, add_command, add_model_commands


def day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _print_help(parser: argparse.ArgumentParser) -> None:
    """`rollcall keys` (or `db`) alone: its help, not an error."""

    def handler(_: argparse.Namespace) -> int:
        parser.print_help()
        return 0

    parser.set_defaults(handler=handler)


def _add_serve_and_db(commands: argparse._SubParsersAction) -> None:
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
        "  rollcall serve --workers 2\n"
        "  rollcall serve --host 0.0.0.0 --port 8443 --tls-cert tls/school.lan.crt "
        "--tls-key tls/school.lan.key\n"
        "  rollcall serve --forwarded-allow-ips 10.0.0.5   # behind a reverse proxy there\n"
        "  ROLLCALL_WEIGHTS_PATH=out/ft/backbone.pt rollcall serve\n",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes, each with its own model (about one per CPU core); the database "
        "is migrated once before they start",
    )
    serve.add_argument(
        "--tls-cert",
        type=Path,
        metavar="FILE",
        help="serve HTTPS with this certificate (PEM; `rollcall tls make-cert` makes one for a "
        "trial): a browser gives the kiosk's camera only to an HTTPS page",
    )
    serve.add_argument("--tls-key", type=Path, metavar="FILE", help="its private key (PEM)")
    serve.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="comma-separated addresses of the reverse proxy whose X-Forwarded-For/-Proto "
        "headers are believed (default: 127.0.0.1, a proxy on this machine; never '*' "
        "unless only the proxy can reach this port)",
    )
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
        "  rollcall db upgrade\n  rollcall db backup backup.db\n",
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
    backup = add_command(
        db_commands,
        "backup",
        "copy the database to FILE while it serves (SQLite; PostgreSQL: prints pg_dump's line)",
        "SQLite: a consistent copy with SQLite's online backup API, safe while the service "
        "runs (copying rollcall.db itself is not a backup: under WAL its latest commits may "
        "sit in rollcall.db-wal). PostgreSQL: prints the pg_dump command to run instead and "
        "exits 1. See docs/operations.md.",
        "  rollcall db backup backups/rollcall-$(date +%F).db\n",
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(handler=db_backup_command)
    restore = add_command(
        db_commands,
        "restore",
        "replace the database with a backup (SQLite; PostgreSQL: prints pg_restore's line)",
        "SQLite: replace everything in the database with the backup FILE made by `rollcall db "
        "backup`, keeping the database as it was beside it (rollcall.db.before-restore-TIME). "
        "Stop the service first; it migrates an older backup's schema when it starts. "
        "PostgreSQL: prints the pg_restore command to run instead and exits 1.",
        "  rollcall db restore backups/rollcall-2026-11-30.db --yes\n",
    )
    restore.add_argument("file", type=Path, metavar="FILE", help="a backup from `db backup`")
    restore.add_argument("--yes", action="store_true", help="yes, replace the database")
    restore.set_defaults(handler=db_restore_command)


def _add_data_care(commands: argparse._SubParsersAction) -> None:
    purge = add_command(
        commands,
        "purge",
        "delete old check-in attempts (retention)",
        "Delete the check-in attempts (every face seen at a kiosk, recognised or not) older "
        "than DAYS, and liveness challenges expired before then; attendance is kept. Without "
        "--older-than, ROLLCALL_CHECKIN_RETENTION_DAYS gives the days. Run it daily (the "
        "systemd timer in docs/operations.md does).",
        "  rollcall purge --older-than 30\n  ROLLCALL_CHECKIN_RETENTION_DAYS=30 rollcall purge\n",
    )
    purge.add_argument(
        "--older-than", type=int, metavar="DAYS", help="age in days (default: the setting)"
    )
    purge.set_defaults(handler=purge_command)

    students = add_command(
        commands,
        "students",
        "students' data (delete everything of one)",
        "Remove a student and everything kept of them: photos and templates, attendance, and "
        "the check-in attempts their face was taken for. A running service stops "
        "recognising them at once.",
        "  rollcall students delete S001 --yes\n",
    )
    _print_help(students)
    student_commands = students.add_subparsers(dest="students_command", metavar="COMMAND")
    delete = add_command(
        student_commands,
        "delete",
        "delete a student and all their data",
        "Without --yes, say what would be deleted (photos, attendance rows, check-in "
        "attempts) and exit 1; with --yes, delete it.",
        "  rollcall students delete S001\n  rollcall students delete S001 --yes\n",
    )
    delete.add_argument("external_id", metavar="EXTERNAL_ID", help="the student's external id")
    delete.add_argument("--yes", action="store_true", help="yes, delete it all")
    delete.set_defaults(handler=students_delete_command)


def _add_tls(commands: argparse._SubParsersAction) -> None:
    tls = add_command(
        commands,
        "tls",
        "a certificate for HTTPS (the kiosk's camera needs it)",
        "A browser gives the camera only to an HTTPS page (or one of this computer's own, "
        "localhost), so kiosks on other machines need the service over HTTPS.",
        "  rollcall tls make-cert --host school.lan\n",
    )
    _print_help(tls)
    tls_commands = tls.add_subparsers(dest="tls_command", metavar="COMMAND")
    make = add_command(
        tls_commands,
        "make-cert",
        "make a self-signed certificate for a LAN name, for a trial",
        "Make a self-signed certificate and its key (OUT/NAME.crt, OUT/NAME.key, the key "
        "readable by its owner only) for the host names and addresses given, then serve it "
        "with `rollcall serve --tls-cert OUT/NAME.crt --tls-key OUT/NAME.key`. Each tablet "
        "must trust the .crt (or accept the browser's warning once). For lasting use, a "
        "certificate from the school's CA or a reverse proxy: see docs/operations.md.",
        "  rollcall tls make-cert --host school.lan\n"
        "  rollcall tls make-cert --host school.lan --host 192.168.1.20 --out /etc/rollcall\n",
    )
    make.add_argument(
        "--host",
        dest="hosts",
        action="append",
        required=True,
        metavar="NAME",
        help="a name or address tablets open the service by (repeat for more; the first "
        "names the files)",
    )
    make.add_argument("--out", type=Path, default=Path("tls"), help="folder (default: ./tls)")
    make.add_argument("--days", type=int, default=365, help="days it is valid (default 365)")
    make.add_argument("--force", action="store_true", help="replace the files if they exist")
    make.set_defaults(handler=tls_make_cert_command)


def _add_keys(commands: argparse._SubParsersAction) -> None:
    keys = add_command(
        commands,
        "keys",
        "access keys (admin, kiosk, viewer, teacher)",
        "Create, list, revoke and rotate the access keys clients send in the X-API-Key header. "
        "admin: everything; kiosk: check in and verify; viewer: sessions, attendance, metrics; "
        "teacher: its courses' rosters, sessions and attendance, and corrections in them.",
        "  rollcall keys create --role kiosk --name 'front kiosk'\n"
        "  rollcall keys create --role teacher --name 'Ms Smith' --course MATH-9A\n"
        "  rollcall keys list\n  rollcall keys revoke 3\n"
        "  rollcall keys rotate 3 --grace 60\n",
    )
    _print_help(keys)
    key_commands = keys.add_subparsers(dest="keys_command", metavar="COMMAND")
    create = add_command(
        key_commands,
        "create",
        "create a key; it is printed once",
        "Create a key and print it once (only its hash is stored).",
        "  rollcall keys create --role admin --name ops\n"
        "  rollcall keys create --role teacher --name 'Ms Smith' --course MATH-9A --course ART\n",
    )
    create.add_argument("--role", choices=["admin", "kiosk", "viewer", "teacher"], required=True)
    create.add_argument(
        "--course",
        action="append",
        default=[],
        metavar="CODE",
        help="a teacher key's course, by code (repeat for several)",
    )
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
    add_rotate_command(key_commands)


def _add_roster_commands(commands: argparse._SubParsersAction) -> None:
    roster = add_command(
        commands,
        "import",
        "enroll a class from a roster CSV and its photos",
        "Enroll every row of ROSTER.csv, a CSV with the header external_id,name,photo (photo: "
        "a file name inside PHOTOS, a folder or a .zip) and, optionally, course: the codes of "
        "the courses the student is on, separated by ';' (a course not there yet is made). "
        "Each row is enrolled in its own transaction (a failed photo leaves no student "
        "behind); rows already enrolled are skipped (but still join their courses), so "
        "re-running is safe. Exits 1 if any row failed, listing each with its reason.",
        "  rollcall import roster.csv photos/\n  rollcall import roster.csv photos.zip\n\n"
        "roster.csv:\n  external_id,name,photo,course\n  S001,Ada Lovelace,ada.jpg,MATH-1;ART-2\n",
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
        "  rollcall export --session 4\n"
        "  rollcall export --session 4 --absent   # present, late and absent, one row each\n",
    )
    export.add_argument("--session", type=int, help="a class session id")
    export.add_argument("--day", type=day, metavar="YYYY-MM-DD", help="one calendar day")
    export.add_argument(
        "--from", dest="date_from", type=day, metavar="YYYY-MM-DD", help="first day"
    )
    export.add_argument("--to", dest="date_to", type=day, metavar="YYYY-MM-DD", help="last day")
    export.add_argument("--student", type=int, help="a student id")
    export.add_argument(
        "--absent",
        action="store_true",
        help="with --session: the session's report instead, its roster's absentees too "
        "(status present, late or absent; as GET /sessions/{id}/report?format=csv)",
    )
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


def _add_courses(commands: argparse._SubParsersAction) -> None:
    courses = add_command(
        commands,
        "courses",
        "courses and their rosters",
        "List, create and delete courses, and show or set a course's roster (the students a "
        "check-in for one of its sessions searches). `rollcall import` with a course column "
        "fills rosters from a CSV.",
        "  rollcall courses create MATH-1 --name 'Maths, year 1'\n  rollcall courses list\n"
        "  rollcall courses roster MATH-1 --set S001 S002 S003\n  rollcall courses roster MATH-1\n"
        "  rollcall courses delete MATH-1\n",
    )
    _print_help(courses)
    course_commands = courses.add_subparsers(dest="courses_command", metavar="COMMAND")
    add_command(
        course_commands,
        "list",
        "list courses",
        "Every course: id, code, roster size, name.",
        "  rollcall courses list\n",
    ).set_defaults(handler=courses_list_command)
    create = add_command(
        course_commands,
        "create",
        "create a course",
        "Create a course with an empty roster; `rollcall courses roster --set` fills it.",
        "  rollcall courses create MATH-1 --name 'Maths, year 1'\n",
    )
    create.add_argument("code", help="the course's unique code, e.g. MATH-1")
    create.add_argument("--name", help="its name (default: the code)")
    create.set_defaults(handler=courses_create_command)
    roster = add_command(
        course_commands,
        "roster",
        "show or set a course's roster",
        "Print the roster; with --set, first replace it with these students (external ids); "
        "an unknown id changes nothing.",
        "  rollcall courses roster MATH-1\n  rollcall courses roster MATH-1 --set S001 S002\n",
    )
    roster.add_argument("code", help="the course's code")
    roster.add_argument("--set", nargs="*", metavar="EXTERNAL_ID", help="the whole new roster")
    roster.set_defaults(handler=courses_roster_command)
    delete = add_command(
        course_commands,
        "delete",
        "delete a course and its roster",
        "Delete a course and its roster; its sessions and attendance stay.",
        "  rollcall courses delete MATH-1\n",
    )
    delete.add_argument("code", help="the course's code")
    delete.set_defaults(handler=courses_delete_command)


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
    # calibrate checks its threshold against the service's gallery, which models/ cannot read.
    commands.choices["calibrate"].set_defaults(gallery_facts=gallery_facts)
    _add_serve_and_db(commands)
    _add_tls(commands)
    _add_keys(commands)
    _add_roster_commands(commands)
    _add_courses(commands)
    add_timetable_commands(commands)
    _add_data_care(commands)
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
