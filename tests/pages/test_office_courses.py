"""The office's session form with a course and a grace period; the board's late and absent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.pages.conftest import DESKTOP, Launch, serve_pages
from tests.pages.test_office import local_input, sign_in
from tests.support.helpers import post_file
from tests.support.settings import ADMIN_KEY


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gallery of this module's own: a course's check-in also searches the whole gallery, and
    another module's enrollment of the same person (test_kiosk's Kit) would make it
    `ambiguous`, as it should."""
    yield from serve_pages(tmp_path_factory, "courses-server")


@pytest.fixture(scope="module")
def browser(launch: Launch) -> Browser:
    return launch(None)


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{server}/admin")
    yield page
    context.close()


def test_a_course_session_with_a_grace_period_shows_late_and_the_roster_absent(
    page: Page, admin: httpx.Client, faces_dir: Path
) -> None:
    people = faces_dir / "people"
    ids = {}
    for external_id, name, photo in (
        ("C-KIT", "Kit Course", people / "kit_harington" / "kit1.jpg"),
        ("C-ROSE", "Rose Course", people / "rose_leslie" / "rose1.jpg"),
    ):
        student = admin.post("/api/v1/students", json={"external_id": external_id, "name": name})
        ids[external_id] = student.json()["id"]
        assert post_file(admin, f"/api/v1/students/{ids[external_id]}/photo", photo).is_success
    course = admin.post("/api/v1/courses", json={"code": "PAGE-1", "name": "Drama"}).json()
    roster = admin.put(
        f"/api/v1/courses/{course['id']}/students", json={"student_ids": list(ids.values())}
    )
    assert roster.status_code == 200

    sign_in(page, ADMIN_KEY)
    page.get_by_role("tab", name="Sessions").click()
    start = dt.datetime.now() - dt.timedelta(minutes=20)
    page.get_by_label("Session name").fill("Drama 1")
    page.get_by_label("Starts").fill(local_input(start))
    page.get_by_label("Ends").fill(local_input(start + dt.timedelta(hours=1)))
    page.get_by_label("Course", exact=True).select_option(label="PAGE-1 · Drama (2)")
    page.get_by_label("Late after (minutes)").fill("5")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#board-title")).to_have_text("Drama 1")
    expect(page.locator("#board-absent-count")).to_have_text("2")  # the roster only

    session = next(
        s for s in admin.get("/api/v1/sessions").json()["items"] if s["name"] == "Drama 1"
    )
    assert session["course_id"] == course["id"] and session["grace_minutes"] == 5
    checked = post_file(
        admin, "/api/v1/checkins", people / "kit_harington" / "kit2.jpg", session_id=session["id"]
    )
    [face] = checked.json()["faces"]
    assert face["decision"] == "present" and face["late"] is True, face
    expect(page.locator("#board-late")).to_contain_text("Kit Course", timeout=10_000)
    expect(page.locator("#board-absent")).to_have_text("Rose Course")
