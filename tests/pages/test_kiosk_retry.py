"""The kiosk's "look again": a face too near the threshold (`retry`) is asked again at once with
a short burst of the same scene, in one multi-frame request; nothing is marked meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pages.conftest import Launch, serve_pages
from tests.pages.kiosk_results import wait_for_result
from tests.pages.test_kiosk import RECOGNITION_WAIT_MS, kiosk_facing_kit


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A band so wide that every face of an enrolled student is "too near to call": the kiosk
    must look again with a burst, and the burst answers retry too (nothing is ever marked)."""
    yield from serve_pages(
        tmp_path_factory, "retry-server", retry_band="0.9", one_frame_retry_band="[0.9, 0.9]"
    )


def test_a_retry_answer_makes_the_kiosk_send_a_burst(
    launch: Launch, server: str, admin: httpx.Client, faces_dir: Path, tmp_path: Path
) -> None:
    page, seen, frames_per_request = kiosk_facing_kit(
        launch, server, admin, faces_dir, tmp_path, "R-KIT"
    )

    wait_for_result(page, {"retry"}, RECOGNITION_WAIT_MS, "Look at the camera")
    page.wait_for_function(
        "() => window.performance.getEntriesByType('resource')"
        ".filter((e) => e.name.endsWith('/api/v1/checkins')).length >= 2",
        timeout=RECOGNITION_WAIT_MS,
    )
    assert frames_per_request[:2] == [1, 3]  # one frame, then the look-again burst of three
    attempts = admin.get("/api/v1/attendance").json()
    assert attempts == []  # retry marks nobody, single frame or burst
    seen.assert_clean()
