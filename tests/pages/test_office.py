"""The office (/admin) and the API docs (/docs), in Chromium: admin and viewer keys."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageFilter
from playwright.sync_api import Browser, Page, expect

from tests.pages.conftest import DESKTOP, Launch, PageWatch, new_key, watch, y4m_from_photo
from tests.support.helpers import post_file
from tests.support.settings import ADMIN_KEY

ENROLL_WAIT_MS = 90_000  # detection + embedding on a busy 2-core machine


@pytest.fixture(scope="module")
def browser(launch: Launch) -> Browser:
    return launch(None)


@pytest.fixture
def office(browser: Browser, server: str) -> Iterator[tuple[Page, PageWatch]]:
    """A fresh browser profile (no remembered key) on the office's sign-in."""
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    seen = watch(page, server)
    page.goto(f"{server}/admin")
    yield page, seen
    context.close()


def sign_in(page: Page, key: str) -> None:
    page.get_by_label("Access key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#office")).to_be_visible()
    # Focus is not lost with the sign-in form: it is on the tab now shown.
    expect(page.locator('[role="tab"][aria-selected="true"]')).to_be_focused()


def local_input(moment: dt.datetime) -> str:
    """A datetime-local field's value in the browser's zone (the test's: same machine)."""
    return moment.astimezone().strftime("%Y-%m-%dT%H:%M")


def test_admin_enrolls_watches_the_board_and_downloads_the_csv(
    office: tuple[Page, PageWatch],
    admin: httpx.Client,
    faces_dir: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    page, seen = office
    sign_in(page, ADMIN_KEY)
    expect(page.locator("#office-role")).to_have_text("admin")
    page.get_by_role("tab", name="Students").click()

    # Add a student, then enroll them from an uploaded photo: the face box and quality shown.
    page.locator("#add-external-id").fill("S-BIDEN")
    page.locator("#add-name").fill("Joe Biden")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#enroll-title")).to_contain_text("Joe Biden")
    page.get_by_label("Upload a photo").set_input_files(faces_dir / "people/joe_biden/biden.jpg")
    expect(page.locator("#enroll-message")).to_have_text(
        "Enrolled Joe Biden.", timeout=ENROLL_WAIT_MS
    )
    expect(page.locator("#enroll-facts")).to_contain_text("Face size")
    row = page.locator("#students-table tr", has_text="S-BIDEN")
    expect(row).to_contain_text("enrolled")
    screenshots(page, "office-students")

    # A session starting in ten minutes; its live board shows Biden absent, then present
    # once he checks in, without a reload.
    page.get_by_role("tab", name="Sessions").click()
    start = dt.datetime.now() + dt.timedelta(minutes=10)
    page.get_by_label("Session name").fill("Maths 9A")
    page.get_by_label("Starts").fill(local_input(start))
    page.get_by_label("Ends").fill(local_input(start + dt.timedelta(hours=1)))
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#board-title")).to_have_text("Maths 9A")
    expect(page.locator("#board-absent")).to_contain_text("Joe Biden")
    sessions = admin.get("/api/v1/sessions").json()["items"]
    session_id = next(s["id"] for s in sessions if s["name"] == "Maths 9A")
    checked = post_file(
        admin, "/api/v1/checkins", faces_dir / "people/joe_biden/biden2.jpg", session_id=session_id
    )
    assert checked.json()["faces"][0]["decision"] == "present", checked.text
    expect(page.locator("#board-present")).to_contain_text("Joe Biden", timeout=10_000)
    expect(page.locator("#board-absent")).not_to_contain_text("Joe Biden")
    screenshots(page, "office-live-board")

    # Attendance: the row, the charts, and the API's CSV as a download.
    page.get_by_role("tab", name="Attendance").click()
    page.get_by_label("Session", exact=True).select_option(label="Maths 9A")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#attendance-table tbody tr")).to_have_count(1)
    expect(page.locator("#attendance-table")).to_contain_text("Joe Biden")
    expect(page.locator("#chart-sessions svg")).to_contain_text("Maths 9A")
    expect(page.locator("#chart-days svg rect")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    csv_lines = Path(download.value.path()).read_text().splitlines()
    assert len(csv_lines) == 2 and "Joe Biden" in csv_lines[1] and "Maths 9A" in csv_lines[1]
    screenshots(page, "office-attendance")

    # Keys: a new key shown once; health.
    page.get_by_role("tab", name="Keys").click()
    page.get_by_label("Key name").fill("front door")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#key-value")).to_contain_text("rc_")
    expect(page.locator("#keys-table")).to_contain_text("front door")
    screenshots(page, "office-keys")
    page.get_by_role("tab", name="Health").click()
    expect(page.locator("#health-facts")).to_contain_text("Students in the gallery")
    screenshots(page, "office-health")
    seen.assert_clean()


def test_admin_enrolls_from_a_webcam_snapshot(
    launch: Launch,
    server: str,
    admin: httpx.Client,
    faces_dir: Path,
    tmp_path: Path,
) -> None:
    camera = y4m_from_photo(faces_dir / "people/rose_leslie/rose2.jpg", tmp_path / "rose.y4m")
    page = launch(camera).new_page(viewport=DESKTOP)
    seen = watch(page, server)
    page.goto(f"{server}/admin#students")
    sign_in(page, ADMIN_KEY)
    page.locator("#add-external-id").fill("S-ROSE")
    page.locator("#add-name").fill("Rose Leslie")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#enroll-title")).to_contain_text("Rose Leslie")
    page.get_by_role("button", name="Use the webcam").click()
    page.locator("#enroll-video").evaluate(  # until the camera shows a picture
        "v => v.readyState >= 2 || new Promise(r => v.addEventListener('loadeddata', r))"
    )
    page.get_by_role("button", name="Take the snapshot").click()
    expect(page.locator("#enroll-message")).to_have_text(
        "Enrolled Rose Leslie.", timeout=ENROLL_WAIT_MS
    )
    rose = admin.get("/api/v1/students", params={"q": "S-ROSE"}).json()["items"]
    assert [s["enrolled"] for s in rose] == [True]
    seen.assert_clean()


def test_enrollment_shows_refusals_and_duplicate_warnings(
    office: tuple[Page, PageWatch], admin: httpx.Client, faces_dir: Path, tmp_path: Path
) -> None:
    page, seen = office
    first = admin.post("/api/v1/students", json={"external_id": "A-1", "name": "Alex First"})
    enrolled = post_file(
        admin,
        f"/api/v1/students/{first.json()['id']}/photo",
        faces_dir / "people/alex_lacamoire/alex1.png",
    )
    assert enrolled.status_code == 200, enrolled.text
    sign_in(page, ADMIN_KEY)
    page.get_by_role("tab", name="Students").click()
    page.locator("#add-external-id").fill("A-2")
    page.locator("#add-name").fill("Alex Again")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#enroll-title")).to_contain_text("Alex Again")

    blurred = Image.open(faces_dir / "people/alex_lacamoire/alex3.jpg").convert("RGB")
    # Smeared this much his template would fail his check-ins: the gate refuses it.
    blurred.filter(ImageFilter.GaussianBlur(14)).save(tmp_path / "blurred.jpg")
    upload = page.get_by_label("Upload a photo")
    upload.set_input_files(tmp_path / "blurred.jpg")
    message = page.locator("#enroll-message")
    expect(message).to_contain_text("Not enrolled: The face is too blurred", timeout=ENROLL_WAIT_MS)
    expect(message).to_contain_text("hold the camera still")
    expect(message).not_to_contain_text("sharpness")

    upload.set_input_files(faces_dir / "people/alex_lacamoire/alex2.jpg")  # the same man
    expect(message).to_contain_text("Enrolled, with a warning", timeout=ENROLL_WAIT_MS)
    expect(page.locator("#enroll-facts")).to_contain_text("Matches student Alex First (A-1)")
    seen.assert_clean()


def test_admin_searches_edits_deactivates_and_deletes_students(
    office: tuple[Page, PageWatch], admin: httpx.Client
) -> None:
    page, seen = office
    made = [
        admin.post("/api/v1/students", json={"external_id": f"E-{n}", "name": name}).json()
        for n, name in enumerate(("Edith Edit", "Dora Deactivate", "Dan Delete"))
    ]
    sign_in(page, ADMIN_KEY)
    page.get_by_role("tab", name="Students").click()

    page.get_by_label("Search name or external id").fill("Edit")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#students-table tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Edit Edith Edit").click()
    page.locator("#edit-name").fill("Edith Edited")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#students-table")).to_contain_text("Edith Edited")

    page.get_by_label("Search name or external id").fill("E-")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Deactivate Dora Deactivate").click()
    expect(page.locator("#students-table tr", has_text="Dora")).to_contain_text("inactive")

    # Deleting asks first: dismissed, nothing happens; accepted, the student is gone.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete Dan Delete").click()
    expect(page.locator("#students-table")).to_contain_text("Dan Delete")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Dan Delete").click()
    expect(page.locator("#students-message")).to_have_text("Deleted Dan Delete.")
    expect(page.locator("#students-table")).not_to_contain_text("Dan Delete")

    edith, dora, dan = (admin.get(f"/api/v1/students/{s['id']}") for s in made)
    assert edith.json()["name"] == "Edith Edited"
    assert dora.json()["active"] is False
    assert dan.status_code == 404
    seen.assert_clean()


def test_a_viewer_sees_no_enroll_or_delete_controls(
    office: tuple[Page, PageWatch],
    admin: httpx.Client,
    screenshots: Callable[[Page, str], None],
) -> None:
    page, seen = office
    sign_in(page, new_key(admin, "viewer"))
    expect(page.locator("#office-role")).to_have_text("viewer")
    expect(page.locator("#panel-today")).to_be_visible()
    for control in ("Students", "Keys"):
        expect(page.get_by_role("tab", name=control)).to_have_count(0)
    for control in ("Enroll photo", "Delete", "Add", "Create", "Revoke"):
        expect(page.get_by_role("button", name=control)).to_have_count(0)
    expect(page.locator("input[type=file]")).to_have_count(0)
    page.get_by_role("tab", name="Attendance").click()
    expect(page.get_by_role("button", name="Download CSV")).to_be_visible()
    screenshots(page, "office-viewer")
    seen.assert_clean()


def test_a_kiosk_key_cannot_open_the_office(
    office: tuple[Page, PageWatch],
    admin: httpx.Client,
    screenshots: Callable[[Page, str], None],
) -> None:
    page, seen = office
    page.get_by_label("Access key").fill(new_key(admin, "kiosk"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#office-signin-error")).to_contain_text("A kiosk key cannot open")
    expect(page.locator("#office")).to_be_hidden()
    screenshots(page, "office-signin")
    seen.assert_clean()


def test_api_docs_work_offline(
    browser: Browser, server: str, screenshots: Callable[[Page, str], None]
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    seen = watch(page, server)  # Swagger UI's own inline styles: /docs is not under the CSP
    page.goto(f"{server}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Rollcall")
    checkins = page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/checkins$"))
    expect(checkins).to_be_visible()
    screenshots(page, "docs")
    seen.assert_clean()
