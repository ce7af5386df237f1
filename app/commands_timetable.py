"""`rollcall timetable`: a whole school's timetable from a CSV (arguments and what they do)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from models.cli import add_command

EXAMPLE_CSV = (
    "name,course,weekdays,start,end,timezone,grace,room,first_date,last_date,skip\n"
    "Maths 9A,MATH-9A,mon;thu,09:00,09:50,Europe/London,5,B12,2026-09-07,2026-12-18,"
    "2026-10-26;2026-10-29\n"
    "French 9B,FR-9B,mon,09:00,09:50,Europe/London,,C3,2026-09-07,2026-12-18,\n"
)
T = TypeVar("T")
PROGRESS_FROM = 20  # series: fewer are written before a bar would show anything


def add_timetable_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    timetable = add_command(
        commands,
        "timetable",
        "recurring class sessions (a school's week)",
        "Load timetable series from a CSV: one series a row, each making its sessions for the "
        "term (see docs/timetable.md).",
        "  rollcall timetable import week.csv\n",
    )
    timetable.set_defaults(handler=lambda _: _help(timetable))
    timetable_commands = timetable.add_subparsers(dest="timetable_command", metavar="COMMAND")
    load = add_command(
        timetable_commands,
        "import",
        "make the series of a CSV and their sessions",
        "One series a row. Columns: name, weekdays (mon;thu), start and end (HH:MM wall-clock "
        "time), first_date and last_date (YYYY-MM-DD, both included); optionally course (a "
        "course's code, made first with `rollcall courses create`), timezone (IANA; default "
        "ROLLCALL_TIMEZONE), grace (minutes), room, skip (dates without a session, separated "
        "by ';'). Every row is checked first: any problem is listed with its line and nothing "
        "is written (exit 1). A row already imported is such a problem, so re-running is safe.",
        f"  rollcall timetable import week.csv\n\nweek.csv:\n{EXAMPLE_CSV}",
    )
    load.add_argument("file", type=Path, metavar="FILE.csv", help="the timetable CSV")
    load.set_defaults(handler=timetable_import_command)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def timetable_import_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.commands import _database, _refuse
    from app.core.config import get_settings
    from app.core.errors import ServiceError
    from app.services.timetable_import import (
        TimetableFileError,
        import_timetable,
        read_timetable_file,
    )

    def progress(rows: list[T]) -> Iterable[T]:
        return tqdm(rows, desc="series", unit="series", disable=len(rows) < PROGRESS_FROM)

    try:
        text = read_timetable_file(str(args.file))
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        with _database().session() as db:
            done = import_timetable(db, text, get_settings().timezone, progress)
    except TimetableFileError as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        return _refuse(exc, 1)
    if done.problems:
        for problem in done.problems:
            print(f"{args.file}:{problem.line}: {problem.message}", file=sys.stderr)
        print(f"error: {len(done.problems)} row(s) refused; nothing was written", file=sys.stderr)
        return 1
    print(f"imported {done.series} series, {done.sessions} sessions")
    return 0
