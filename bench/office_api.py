"""The API calls behind the office's Today and term grid, in this process (the real app on a
fresh SQLite file, bench/office_school.py's school): per call, the median time and the SQL
statements it ran; `--profile` adds cProfile's costliest functions of the service and answer
behind GET /sessions/today and the grid, called in this thread (the app's run in others).

    python bench/office_api.py [--repeat 20] [--profile]

Today is timed both ways the page has asked: GET /sessions for the day then each session's
report (one request per session), and GET /sessions/today (one request for every board).

Reference (2 shared cores at a load average of 6-7): Today by reports 167-340 ms, 77 SQL
statements; GET /sessions/today 53-92 ms, 8; the grid of course 0 27-42 ms and of the year
group 45-72 ms, 7 each (building all 500 rows, 29 of its 67 ms, for a page of 40).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script

from app.api.routes import register
from app.api.schemas_today import TodayOut, board_out
from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from app.services import register_grid, today
from bench.office_school import scale_school, year_group

KEY = "bench-admin-key-0123456789"
statements = [0]


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_: object) -> None:
    statements[0] += 1


def today_by_reports(client: TestClient) -> None:
    day = dt.datetime.now(dt.UTC).date().isoformat()
    page = client.get("/api/v1/sessions", params={"date_from": day, "date_to": day, "limit": 200})
    for one in page.json()["items"]:
        client.get(f"/api/v1/sessions/{one['id']}/report").raise_for_status()


def today_at_once(client: TestClient) -> None:
    client.get("/api/v1/sessions/today").raise_for_status()


def grid(course_id: int) -> Callable[[TestClient], None]:
    def ask(client: TestClient) -> None:
        today = dt.date.today()
        params = {
            "course_id": course_id,
            "date_from": (today - dt.timedelta(days=28)).isoformat(),
            "date_to": (today + dt.timedelta(days=7)).isoformat(),
            "limit": 40,
        }
        client.get("/api/v1/reports/register", params=params).raise_for_status()

    return ask


def measure(name: str, call: Callable[[TestClient], None], client: TestClient, args) -> None:  # type: ignore[no-untyped-def]
    call(client)  # warm
    took = []
    before = statements[0]
    for _ in range(args.repeat):
        started = time.perf_counter()
        call(client)
        took.append((time.perf_counter() - started) * 1000)
    queries = (statements[0] - before) / args.repeat
    print(f"  {name:<34} {statistics.median(took):6.1f} ms  {queries:5.1f} SQL statements")


def profile(name: str, work: Callable[[], object]) -> None:
    print(f"cProfile: {name}")
    work()  # warm: the first ORM load of a fresh engine costs more than the rest
    profiler = cProfile.Profile()
    profiler.runcall(work)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(14)


def today_answer(db: Database) -> str:
    now = dt.datetime.now(dt.UTC)
    with db.read_session() as session:
        boards = today.day_boards(session, now.date(), timezone="UTC", now=now)
        answer = TodayOut(day=now.date(), sessions=[board_out(b, now) for b in boards])
        return answer.model_dump_json()


def grid_answer(db: Database, course_id: int) -> str:
    day = dt.date.today()
    with db.read_session() as session:
        found = register_grid.register_grid(
            session,
            course_id=course_id,
            date_from=day - dt.timedelta(days=28),
            date_to=day + dt.timedelta(days=7),
            timezone="UTC",
        )
        sessions = [register._session_out(column) for column in found.sessions]
        rows = [register._row_out(row) for row in found.rows[:40]]
        return "".join(one.model_dump_json() for one in [*sessions, *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{Path(folder) / 'rollcall.db'}",
            admin_key=KEY,
            timezone="UTC",
        )
        with TestClient(create_app(settings), headers={"X-API-Key": KEY}) as client:
            logging.disable(logging.INFO)  # the request log: a line a request
            school = scale_school(client)
            big = year_group(client)
            print("the scale school, and a year group of 500 on one course (1440 sessions):")
            measure("Today: the day's list + each report", today_by_reports, client, args)
            measure("Today: GET /sessions/today", today_at_once, client, args)
            measure("grid: course 0 (84 students)", grid(school.course["id"]), client, args)
            measure("grid: year group (500, 40 a page)", grid(big["id"]), client, args)
        if args.profile:
            db = Database(settings.database_url)
            profile("GET /sessions/today's service and answer", lambda: today_answer(db))
            profile("the year group's grid and answer", lambda: grid_answer(db, big["id"]))
            db.dispose()


if __name__ == "__main__":
    main()
