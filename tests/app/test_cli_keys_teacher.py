"""`rollcall keys create --role teacher --course CODE`: a teacher key of those courses, which
the service then scopes to them; an unknown course makes no key."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.support.cli import CliResult, RunCli


def test_a_teacher_key_from_the_cli_has_its_courses(tmp_path: Path, rollcall: RunCli) -> None:
    database = tmp_path / "school.db"

    def run(*args: str) -> CliResult:
        return rollcall(*args, cwd=tmp_path, env={"ROLLCALL_DATABASE_URL": f"sqlite:///{database}"})

    assert run("db", "upgrade").returncode == 0
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO courses (id, code, name, created_at) VALUES "
            "(1, 'MATH-9A', 'Maths', '2026-01-01'), (2, 'ART', 'Art', '2026-01-01')"
        )

    created = run("keys", "create", "--role", "teacher", "--name", "Ms Smith", "--course", "ART")
    assert created.returncode == 0, created.stderr
    assert "created teacher key #1 (Ms Smith) for ART" in created.stdout
    assert created.stdout.splitlines()[-1].startswith("rc_")

    unknown = run("keys", "create", "--role", "teacher", "--name", "Mr X", "--course", "NOPE")
    assert unknown.returncode == 1 and "No course with code 'NOPE'" in unknown.stderr
    kiosk = run("keys", "create", "--role", "kiosk", "--name", "door", "--course", "ART")
    assert kiosk.returncode == 1 and "Only a teacher key has courses" in kiosk.stderr
    with sqlite3.connect(database) as connection:
        links = connection.execute("SELECT key_id, course_id FROM api_key_courses").fetchall()
        assert links == [(1, 2)]
        assert connection.execute("SELECT COUNT(*) FROM api_keys").fetchone() == (1,)
