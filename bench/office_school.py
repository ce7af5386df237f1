"""A school's data for the office pages, made over the REST API of a running server: used by
tests/pages/test_office_scale.py and bench/office_pages.py, so that the test and the bench
open the same pages on the same data.

`scale_school`: 500 students (one with a right-to-left name, one with a 60-letter name without
spaces) on six courses, each meeting daily for 120 days around today (720 sessions), course 0
in the current hour (UTC). `year_group`: 500 students on one course meeting twice a weekday
for 72 weeks (720 sessions), the term grid's largest register.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import httpx

API = "/api/v1"
STUDENTS = 500
SERIES = 6  # courses, each meeting daily for 120 days: 720 sessions
DAYS = 120
RTL_NAME = "مريم عبد الرحمن الهاشمي"
LONG_NAME = "Maximilianaugustinbartholomewfitzgeraldwolfensteinvanderlind"  # 60 letters
assert len(LONG_NAME) == 60 and " " not in LONG_NAME
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass(frozen=True)
class School:
    rtl: dict
    long: dict
    course: dict  # the course the two named students are on, meeting now


def _made(answer: httpx.Response) -> dict:
    if answer.status_code not in (200, 201):
        raise RuntimeError(f"{answer.request.method} {answer.request.url}: {answer.text}")
    return answer.json()


def _students(admin: httpx.Client, names: list[str], prefix: str) -> list[dict]:
    return [
        _made(
            admin.post(f"{API}/students", json={"external_id": f"{prefix}-{n:04d}", "name": name})
        )
        for n, name in enumerate(names)
    ]


def scale_school(admin: httpx.Client) -> School:
    """The six courses' school; the server's zone is taken to be UTC."""
    names = [RTL_NAME, LONG_NAME] + [f"Student {n:03d} Example" for n in range(STUDENTS - 2)]
    students = _students(admin, names, "X")
    today = dt.datetime.now(dt.UTC).date()
    hour = dt.datetime.now(dt.UTC).hour
    courses = []
    for n in range(SERIES):
        course = _made(admin.post(f"{API}/courses", json={"code": f"C{n}", "name": f"Course {n}"}))
        roster = [s["id"] for s in students[n::SERIES]]
        if n == 0:
            roster = [s["id"] for s in students[:2]] + roster[1:]
        _made(admin.put(f"{API}/courses/{course['id']}/students", json={"student_ids": roster}))
        start = hour if n == 0 else (8 + 2 * n) % 24  # course 0 meets in the current hour
        series = {
            "name": f"Course {n} class",
            "course_id": course["id"],
            "weekdays": EVERY_DAY,
            "starts_time": f"{start:02d}:00",
            "ends_time": f"{start:02d}:59",
            "timezone": "UTC",
            "first_date": (today - dt.timedelta(days=DAYS // 2)).isoformat(),
            "last_date": (today + dt.timedelta(days=DAYS // 2 - 1)).isoformat(),
        }
        _made(admin.post(f"{API}/timetable/series", json=series))
        courses.append(course)
    return School(rtl=students[0], long=students[1], course=courses[0])


def year_group(admin: httpx.Client, timezone: str = "UTC") -> dict:
    """One course of 500 students, two series of 360 sessions (five days a week for 72 weeks,
    the last 36 of them before this week); the course."""
    students = _students(admin, [f"Pupil {n:04}" for n in range(STUDENTS)], "B")
    course = _made(admin.post(f"{API}/courses", json={"code": "BIG", "name": "Year 9"}))
    roster = {"student_ids": [s["id"] for s in students]}
    _made(admin.put(f"{API}/courses/{course['id']}/students", json=roster))
    today = dt.date.today()
    monday = today - dt.timedelta(days=today.weekday() + 36 * 7)
    for start, end in (("09:00", "09:50"), ("11:00", "11:50")):
        series = {
            "name": f"Year 9 {start}",
            "course_id": course["id"],
            "weekdays": EVERY_DAY[:5],
            "starts_time": start,
            "ends_time": end,
            "timezone": timezone,
            "first_date": monday.isoformat(),
            "last_date": (monday + dt.timedelta(days=72 * 7 - 3)).isoformat(),
        }
        _made(admin.post(f"{API}/timetable/series", json=series))
    return course
