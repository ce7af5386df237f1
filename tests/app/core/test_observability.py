"""JSON request logs with a request id and stage timings; Prometheus metrics after real traffic."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.helpers import CollectLogs, enroll_five, post_file


@pytest.mark.slow
def test_request_log_and_metrics(client: TestClient, faces_dir: Path) -> None:
    enroll_five(client, faces_dir)
    collect = CollectLogs()
    logging.getLogger("rollcall").addHandler(collect)
    try:
        response = post_file(
            client, "/api/v1/checkins", faces_dir / "group" / "obama_and_biden.jpg"
        )
        mine = client.get("/api/v1/attendance", headers={"X-Request-ID": "kiosk-7-0042"})
    finally:
        logging.getLogger("rollcall").removeHandler(collect)

    checkin_log, attendance_log = collect.lines
    assert checkin_log["request_id"] == response.headers["X-Request-ID"]
    assert checkin_log["path"] == "/api/v1/checkins" and checkin_log["status"] == 200
    assert set(checkin_log["stages_ms"]) == {"decode", "detect", "align", "embed", "search"}
    assert all(ms >= 0 for ms in checkin_log["stages_ms"].values())
    assert checkin_log["role"] == "admin" and checkin_log["duration_ms"] > 0
    assert mine.headers["X-Request-ID"] == attendance_log["request_id"] == "kiosk-7-0042"

    metrics = client.get("/metrics").text
    assert 'rollcall_checkin_faces_total{decision="present"} 2.0' in metrics
    assert 'rollcall_checkin_faces_total{decision="unknown"} 1.0' in metrics
    assert "rollcall_gallery_students 5.0" in metrics
    assert 'rollcall_stage_duration_seconds_count{stage="detect"}' in metrics
    assert (
        'rollcall_requests_total{method="POST",route="/api/v1/checkins",status="200"} 1.0'
        in metrics
    )
    assert 'rollcall_request_duration_seconds_bucket{le="0.5",method="POST"' in metrics
