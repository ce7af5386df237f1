"""Rosters from the CLI: `rollcall import` with a course column, and `rollcall courses`."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from tests.support.helpers import rollcall

# A class enrolled with the model.
pytestmark = [pytest.mark.slow]


def _roster_of(database: Path, code: str) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT s.external_id FROM course_students cs JOIN courses c ON c.id = cs.course_id "
            "JOIN students s ON s.id = cs.student_id WHERE c.code = ?",
            (code,),
        )
        return {external_id for (external_id,) in rows}


def test_import_fills_rosters_and_courses_manages_them(faces_dir: Path, tmp_path: Path) -> None:
    people = faces_dir / "people"
    rows = [
        ("external_id", "name", "photo", "course"),
        ("S1", "Kit", "kit_harington/kit1.jpg", "MATH-1"),
        ("S2", "Rose", "rose_leslie/rose1.jpg", "MATH-1; ART-2"),
        ("S3", "Paul", "paul_rudd/1.jpg", ""),
    ]
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    database = tmp_path / "school.db"
    assert rollcall(database, "db", "upgrade").returncode == 0
    imported = rollcall(database, "import", str(roster), str(people))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert (
        "enrolled 3" in imported.stdout and "rosters: 3 places on ART-2, MATH-1" in imported.stdout
    )
    assert "made courses MATH-1, ART-2, each named by its code" in imported.stdout
    assert _roster_of(database, "MATH-1") == {"S1", "S2"}
    assert _roster_of(database, "ART-2") == {"S2"}

    # Re-running skips the enrolled but still puts a newly listed course's students on it.
    rows[3] = ("S3", "Paul", rows[3][2], "ART-2")
    with roster.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    again = rollcall(database, "import", str(roster), str(people))
    assert "enrolled 0, skipped 3" in again.stdout
    # It says what it did this time: one new place, three already there, no course made.
    assert "rosters: 1 place on ART-2 (3 already there)" in again.stdout
    assert "made courses" not in again.stdout
    assert _roster_of(database, "ART-2") == {"S2", "S3"}

    made = rollcall(database, "courses", "create", "BIO-3", "--name", "Biology")
    assert made.returncode == 0 and "BIO-3 (Biology)" in made.stdout
    assert rollcall(database, "courses", "create", "BIO-3").returncode == 1
    listing = rollcall(database, "courses", "list").stdout
    assert "MATH-1" in listing and "Biology" in listing
    set_roster = rollcall(database, "courses", "roster", "BIO-3", "--set", "S1", "S3")
    assert set_roster.returncode == 0 and "2 students" in set_roster.stdout
    assert _roster_of(database, "BIO-3") == {"S1", "S3"}
    unknown = rollcall(database, "courses", "roster", "BIO-3", "--set", "S1", "NOPE")
    assert unknown.returncode == 1 and "NOPE" in unknown.stderr
    assert _roster_of(database, "BIO-3") == {"S1", "S3"}  # unchanged
    assert rollcall(database, "courses", "delete", "BIO-3").returncode == 0
    assert "BIO-3" not in rollcall(database, "courses", "list").stdout
