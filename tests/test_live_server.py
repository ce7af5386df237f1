"""The service as an operator runs it: README's uvicorn command in a subprocess, over HTTP.

Once on a SQLite file and once on a PostgreSQL database (see tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY, BACKENDS, fresh_postgres_database
from tests.helpers import enroll_five, post_file
from tests.server import running_server


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`uvicorn app.main:app` (README's run command) on a fresh SQLite file or PG database."""
    workdir = tmp_path_factory.mktemp(f"server-{request.param}")
    with ExitStack() as stack:
        if request.param == "postgres":
            database_url = stack.enter_context(fresh_postgres_database())
        else:
            database_url = f"sqlite:///{workdir / 'rollcall.db'}"
        yield stack.enter_context(running_server(database_url, workdir / "server.log"))


def test_end_to_end_over_http(server: str, faces_dir: Path) -> None:
    with httpx.Client(base_url=server, timeout=60, headers={"X-API-Key": ADMIN_KEY}) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["model_loaded"] and health["database"]
        assert client.get("/docs").status_code == 200
        assert "/api/v1/checkins" in client.get("/openapi.json").json()["paths"]

        ids = enroll_five(client, faces_dir)
        assert client.get("/health").json()["gallery_students"] == 5
        response = post_file(client, "/api/v1/checkins", faces_dir / "group" / "two_people.jpg")
        assert response.status_code == 200
        decisions = {f["student"]["id"]: f["decision"] for f in response.json()["faces"]}
        assert decisions == {ids["barack_obama"]: "present", ids["joe_biden"]: "present"}

        # 20 concurrent check-ins of the same student make exactly one attendance row.
        photo = faces_dir / "people" / "kit_harington" / "kit2.jpg"
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(
                pool.map(lambda _: post_file(client, "/api/v1/checkins", photo), range(20))
            )
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        decisions = sorted(a.json()["faces"][0]["decision"] for a in answers)
        assert decisions == ["already_present"] * 19 + ["present"]
        kit_rows = client.get(
            "/api/v1/attendance", params={"student_id": ids["kit_harington"]}
        ).json()
        assert len(kit_rows) == 1
        csv_rows = client.get("/api/v1/attendance", params={"format": "csv"}).text.splitlines()
        assert len(csv_rows) == 1 + 3  # header, obama, biden, kit
