"""Every answer is JSON, the unexpected failure too; the OpenAPI lists the errors each gives."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from models.embedder import FaceEmbedder
from tests.support.helpers import CollectLogs
from tests.support.settings import ADMIN_KEY, make_settings


def test_an_unexpected_failure_answers_json_and_logs_its_traceback(
    tmp_path: Path, embedder: FaceEmbedder
) -> None:
    settings = make_settings(tmp_path)
    app = create_app(settings, embedder)
    collect = CollectLogs()
    # The app's own answer, as a client would get it: not the test client's re-raised exception.
    with TestClient(app, headers={"X-API-Key": ADMIN_KEY}, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/students").status_code == 200
        # A real failure: the table is dropped behind the running service's back.
        with sqlite3.connect(tmp_path / "rollcall.db") as connection:
            connection.execute("DROP TABLE face_templates")
        logging.getLogger("rollcall").addHandler(collect)
        try:
            response = client.get("/api/v1/students", headers={"X-Request-ID": "bug-1"})
        finally:
            logging.getLogger("rollcall").removeHandler(collect)

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "internal" and error["message"]
    assert error["details"] == {"request_id": "bug-1"}
    assert response.headers["X-Request-ID"] == "bug-1"
    assert "face_templates" not in response.text  # the cause is in the log, not the answer

    failure, request = collect.lines
    assert failure["level"] == "error" and failure["request_id"] == "bug-1"
    assert failure["exception"].startswith("Traceback")
    assert "OperationalError" in failure["exception"] and "face_templates" in failure["exception"]
    assert request["status"] == 500 and request["request_id"] == "bug-1"
