"""`rollcall timetable import` on SQLite and PostgreSQL: a school's week from a CSV, every row
checked before anything is written, per-row errors, safe to re-run, a bar when long."""

from __future__ import annotations

from pathlib import Path

from app.core.migrate import upgrade
from tests.support.cli import CliResult, RunCli
from tests.support.settings import count_rows

HEADER = "name,course,weekdays,start,end,timezone,grace,room,first_date,last_date,skip\n"
GOOD = [
    # Mondays and Thursdays for two weeks, the Thursday of the second skipped: 3 sessions.
    "Maths 9A,MATH-9A,mon;thu,09:00,09:50,Europe/London,5,B12,2026-10-19,2026-10-30,2026-10-29",
    # Every weekday of one week, in the service's zone, no course: 5 sessions.
    "Assembly,,Monday Tuesday Wed thurs fri,08:30,08:45,,,Hall,2026-10-19,2026-10-23,",
]


def _write(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _counts(database_url: str) -> tuple[int, int]:
    return count_rows(database_url, "timetable_series"), count_rows(database_url, "class_sessions")


def test_timetable_import(database_url: str, tmp_path: Path, rollcall: RunCli) -> None:
    upgrade(database_url)
    env = {"ROLLCALL_DATABASE_URL": database_url}

    def run(*args: str) -> CliResult:
        return rollcall(*args, cwd=tmp_path, env=env)

    assert run("courses", "create", "MATH-9A").returncode == 0

    broken = _write(
        tmp_path / "broken.csv",
        [
            GOOD[0],
            "French,NOPE,mon,09:00,09:50,,,,2026-10-19,2026-10-30,",
            "French,,mon,9am,09:50,,,,2026-10-19,2026-10-30,",
            "French,,funday,09:00,09:50,,,,2026-10-19,2026-10-30,",
            "French,,mon,09:00,08:50,Mars/Base,x,,2026-10-19,2026-10-30,",
            GOOD[0],
        ],
    )
    refused = run("timetable", "import", str(broken))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    lines = refused.stderr
    assert f"{broken}:3: course: no course with code 'NOPE'" in lines
    assert f"{broken}:4: start:" in lines
    assert f"{broken}:5: weekdays: 'funday' is not a weekday" in lines
    assert f"{broken}:6: grace:" in lines
    assert f"{broken}:7: the same series as line 2" in lines
    assert "5 row(s) refused; nothing was written" in lines
    assert _counts(database_url) == (0, 0)

    week = _write(tmp_path / "week.csv", GOOD)
    imported = run("timetable", "import", str(week))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "imported 2 series, 8 sessions" in imported.stdout
    assert _counts(database_url) == (2, 8)

    again = run("timetable", "import", str(week))
    assert again.returncode == 1 and "already in the timetable" in again.stderr
    assert _counts(database_url) == (2, 8)

    no_header = _write(tmp_path / "bare.csv", ["x,y"], header="name,start\n")
    bare = run("timetable", "import", str(no_header))
    assert bare.returncode == 2 and "the header lacks weekdays" in bare.stderr
    missing = run("timetable", "import", str(tmp_path / "none.csv"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr

    # A long file shows a progress bar (on standard error; the summary stays on stdout).
    many = [f"Group {n},,tue,10:00,10:45,UTC,,,2026-11-03,2026-11-10," for n in range(25)]
    long = run("timetable", "import", str(_write(tmp_path / "many.csv", many)))
    assert long.returncode == 0, long.stderr
    assert "25/25" in long.stderr and "imported 25 series, 50 sessions" in long.stdout
    assert _counts(database_url) == (27, 58)
