"""The service as an operator runs it: README's uvicorn command in a subprocess, over HTTP.

Once on a SQLite file and once on a PostgreSQL database (see tests/conftest.py).
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.support.helpers import enroll_five, post_file
from tests.support.postgres import BACKENDS, fresh_postgres_database
from tests.support.server import serving
from tests.support.settings import ADMIN_KEY

# README's uvicorn command, on each backend.
pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


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
        yield stack.enter_context(serving(database_url, workdir / "server.log"))


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


def _jpeg_with_corrupt_exif() -> bytes:
    """A photo whose EXIF names more data than it holds: Pillow warns while reading it."""
    tiff = b"MM\x00*" + struct.pack(">IH", 8, 1) + struct.pack(">HHII", 0x010E, 2, 1000, 256)
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 120, 160)).save(out, "JPEG", exif=b"Exif\x00\x00" + tiff)
    return out.getvalue()


def test_one_json_line_per_request_with_warnings_and_docs_counted(tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    with (
        serving(f"sqlite:///{tmp_path / 'rollcall.db'}", log_path) as url,
        httpx.Client(base_url=url, timeout=60, headers={"X-API-Key": ADMIN_KEY}) as client,
    ):
        for probe in ("/health", "/docs"):
            assert client.get(probe, headers={"X-Request-ID": f"probe{probe}"}).status_code == 200
        checkin = client.post(
            "/api/v1/checkins",
            headers={"X-Request-ID": "probe-exif"},
            files={"file": ("exif.jpg", _jpeg_with_corrupt_exif(), "image/jpeg")},
        )
        assert checkin.json()["error"]["code"] == "no_face"  # a blank photo, read with a warning
        metrics = client.get("/metrics").text
    assert 'rollcall_requests_total{method="GET",route="/docs",status="200"} 1.0' in metrics

    log = log_path.read_text()
    assert "HTTP/1.1" not in log  # no access line from uvicorn beside ours
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    for probe in ("probe/health", "probe/docs", "probe-exif"):
        lines = [e for e in entries if e["request_id"] == probe and e["message"] == "request"]
        assert len(lines) == 1, probe
    warnings = [e for e in entries if e["logger"] == "py.warnings"]  # Pillow's, in JSON
    assert any("Skipping tag" in e["message"] for e in warnings)
    assert {e["request_id"] for e in warnings} == {"probe-exif"}
