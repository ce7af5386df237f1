"""The live board with ROLLCALL_KEEP_THUMBNAILS=always, in Chromium: beside a checked-in
student's name, the face their check-in saw, fetched with the office's key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.pages.conftest import DESKTOP, Launch, serve_pages, watch
from tests.pages.test_office import sign_in
from tests.support.helpers import post_file
from tests.support.settings import ADMIN_KEY


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_pages(tmp_path_factory, "board-faces-server", keep_thumbnails="always")


def test_the_board_shows_the_face_each_check_in_saw(
    launch: Launch, server: str, admin: httpx.Client, faces_dir: Path
) -> None:
    biden = admin.post("/api/v1/students", json={"external_id": "JB", "name": "Joe Biden"})
    people = faces_dir / "people"
    assert (
        post_file(
            admin, f"/api/v1/students/{biden.json()['id']}/photo", people / "joe_biden/biden.jpg"
        ).status_code
        == 200
    )
    admin.post("/api/v1/students", json={"external_id": "KH", "name": "Kit Harington"})
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    session = admin.post(
        "/api/v1/sessions",
        json={
            "name": "Civics",
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
        },
    ).json()["id"]
    checked = post_file(
        admin, "/api/v1/checkins", people / "joe_biden/biden2.jpg", session_id=session
    )
    assert checked.json()["faces"][0]["decision"] == "present", checked.text

    browser: Browser = launch(None)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    seen = watch(page, server)
    page.goto(f"{server}/admin")
    sign_in(page, ADMIN_KEY)
    page.get_by_role("tab", name="Sessions").click()
    page.get_by_role("button", name="Live board of Civics").click()
    face = page.locator("#board-present img.board-face")
    expect(face).to_have_attribute("alt", "Check-in photo of Joe Biden")
    page.wait_for_function(
        "() => document.querySelector('#board-present img.board-face')?.naturalWidth > 0"
    )
    assert face.evaluate("img => img.naturalWidth") <= 96
    expect(page.locator("#board-absent")).to_contain_text("Kit Harington")
    expect(page.locator("#board-absent img")).to_have_count(0)
    seen.assert_clean()
    context.close()
