"""The kiosk with ROLLCALL_LIVENESS=challenge: it prompts each of the challenge's two actions in
turn, and a still picture held to the camera (Chromium's fake camera playing one photo) is
refused and marks nobody."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.pages.conftest import Launch, serve_pages
from tests.pages.kiosk_results import wait_for_result
from tests.pages.test_kiosk import RECOGNITION_WAIT_MS, kiosk_facing_kit


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_pages(tmp_path_factory, "liveness-server", liveness="challenge")


def test_the_kiosk_prompts_each_action_and_refuses_a_still_photo(
    launch: Launch,
    server: str,
    admin: httpx.Client,
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    page, seen, bursts = kiosk_facing_kit(launch, server, admin, faces_dir, tmp_path, "L-KIT")
    times: list[int] = []  # the capture times (`frame_ms`) the liveness burst sends
    page.on(
        "request",
        lambda request: (
            times.append(request.post_data_buffer.count(b'name="frame_ms"'))
            if request.url.endswith("/api/v1/checkins")
            else None
        ),
    )

    shown = wait_for_result(page, {"challenge"}, RECOGNITION_WAIT_MS, "1 of 2: ")
    first = re.compile(r"1 of 2: (Turn your head to the (left|right)|Look (up|down))")
    assert first.search(shown["text"]), shown
    screenshots(page, "kiosk-liveness-prompt")  # the prompt, or the next one by now
    wait_for_result(page, {"challenge"}, RECOGNITION_WAIT_MS, "2 of 2: ")
    wait_for_result(page, {"liveness_failed"}, RECOGNITION_WAIT_MS, "Please try again")
    assert bursts and bursts[0] == 16  # the burst: 8 frames an action, in one request
    assert times and times[0] == 16  # with when each was taken
    assert admin.get("/api/v1/attendance").json() == []
    seen.assert_clean()
