"""The office's Today page and the student page, in Chromium: a day with two classes at once,
corrections made from the one absent list (each in the mark's audit trail), the live counts,
a board opened in place, and a student's photo replaced from their page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.pages.conftest import (
    DESKTOP,
    Launch,
    PageWatch,
    assert_accessible,
    serve_pages,
    watch,
)
from tests.pages.test_office import ENROLL_WAIT_MS, local_input, sign_in
from tests.support.helpers import post_file
from tests.support.settings import ADMIN_KEY

API = "/api/v1"
LIVE_WAIT_MS = 20_000  # Today asks every 5 s; a loaded machine answers slower


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Photos kept, so that the student page shows them."""
    yield from serve_pages(tmp_path_factory, "office-today", keep_photos="true")


@pytest.fixture(scope="module")
def browser(launch: Launch) -> Browser:
    return launch(None)


@pytest.fixture
def office(browser: Browser, server: str) -> Iterator[tuple[Page, PageWatch]]:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    seen = watch(page, server)
    page.goto(f"{server}/admin")
    yield page, seen
    context.close()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def two_classes(admin: httpx.Client, faces_dir: Path) -> dict[str, dict]:
    """Art and Drama at the same time, now; Kit and Rose enrolled."""
    people = {
        "kit": ("T-KIT", "Kit Harington", "kit_harington/kit1.jpg"),
        "rose": ("T-ROSE", "Rose Leslie", "rose_leslie/rose1.jpg"),
        "paul": ("T-PAUL", "Paul Rudd", None),
        "shea": ("T-SHEA", "Shea Whigham", None),
    }
    made: dict[str, dict] = {}
    for key, (external_id, name, photo) in people.items():
        made[key] = admin.post(
            f"{API}/students", json={"external_id": external_id, "name": name}
        ).json()
        if photo:
            enrolled = post_file(
                admin, f"{API}/students/{made[key]['id']}/photo", faces_dir / "people" / photo
            )
            assert enrolled.status_code == 200, enrolled.text
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    for code, members in (("ART", ("kit", "paul")), ("DRAMA", ("rose", "shea"))):
        course = admin.post(f"{API}/courses", json={"code": code, "name": code.title()}).json()
        ids = [made[m]["id"] for m in members]
        admin.put(f"{API}/courses/{course['id']}/students", json={"student_ids": ids})
        body = {
            "name": f"{code.title()} 9",
            "starts_at": _iso(start),
            "ends_at": _iso(start + dt.timedelta(hours=1)),
            "course_id": course["id"],
        }
        made[code] = admin.post(f"{API}/sessions", json=body).json()
    return made


def test_a_correction_from_the_absent_list_reaches_the_audit_trail(
    office: tuple[Page, PageWatch],
    server: str,
    admin: httpx.Client,
    two_classes: dict[str, dict],
    faces_dir: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    page, seen = office
    art, drama = two_classes["ART"], two_classes["DRAMA"]
    sign_in(page, ADMIN_KEY)
    expect(page.get_by_role("tab", name="Today")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-today")).to_have_attribute("data-ready", "true")
    sessions = page.locator(".today-session")
    expect(sessions).to_have_count(2)
    absent = page.locator("#today-absent tbody tr")
    expect(absent).to_have_count(4)
    expect(page.locator("#today-absent-count")).to_have_text("4")

    # Kit checks in at the Art kiosk: his class's count moves without a reload.
    checked = post_file(
        admin, f"{API}/checkins", faces_dir / "people/kit_harington/kit2.jpg", session_id=art["id"]
    )
    assert checked.json()["faces"][0]["decision"] == "present", checked.text
    art_item = page.locator(f'.today-session[data-session-id="{art["id"]}"]')
    expect(art_item.locator('[data-count="present"] strong')).to_have_text(
        "1", timeout=LIVE_WAIT_MS
    )
    expect(absent).to_have_count(3)

    # The board opens in place, under its session, with focus on it.
    page.get_by_role("button", name="Live board of Art 9").click()
    board = art_item.locator(".board-inline")
    expect(board.locator("h3")).to_be_focused()
    expect(board.locator('[data-list="present"]')).to_contain_text("Kit Harington")

    # From the absent list: Rose excused with a reason, Paul present.
    row = absent.filter(has_text="Rose Leslie")
    row.get_by_role("button", name="Excused…").click()
    reason = row.get_by_label("Reason Rose Leslie is excused")
    expect(reason).to_be_focused()
    reason.fill("orthodontist")
    row.get_by_role("button", name="Excuse").click()
    expect(page.locator("#today-message")).to_have_text("Rose Leslie marked excused in Drama 9.")
    expect(absent.filter(has_text="Rose Leslie")).to_have_count(0)
    absent.filter(has_text="Paul Rudd").get_by_role("button", name="Present").click()
    expect(absent).to_have_count(1)
    expect(art_item.locator('[data-count="present"] strong')).to_have_text("2")
    expect(page.locator("#live")).to_have_text("Paul Rudd marked present in Art 9.")
    screenshots(page, "office-today")
    assert_accessible(page, server, "Today")

    rose = two_classes["rose"]["id"]
    history = admin.get(f"{API}/sessions/{drama['id']}/attendance/{rose}/history").json()
    assert [(e["action"], e["after_status"], e["reason"]) for e in history] == [
        ("correction", "excused", "orthodontist")
    ]
    assert history[0]["key_name"] == "bootstrap admin key"
    paul = two_classes["paul"]["id"]
    history = admin.get(f"{API}/sessions/{art['id']}/attendance/{paul}/history").json()
    assert [(e["action"], e["before_status"], e["after_status"]) for e in history] == [
        ("correction", None, "present")
    ]
    seen.assert_clean()


def test_the_student_page_replaces_a_photo(
    office: tuple[Page, PageWatch],
    server: str,
    admin: httpx.Client,
    two_classes: dict[str, dict],
    faces_dir: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    page, seen = office
    kit = two_classes["kit"]
    sign_in(page, ADMIN_KEY)
    page.get_by_role("tab", name="Students").click()
    page.get_by_role("link", name="Kit Harington").click()
    expect(page.locator("#student-page-name")).to_have_text("Kit Harington")
    expect(page.locator("#student-page-name")).to_be_focused()
    expect(page.locator("#student-page-facts")).to_contain_text("T-KIT")
    expect(page.locator("#student-page-facts")).to_contain_text("ART · Art")
    cards = page.locator("#student-photos .photo-card")
    expect(cards).to_have_count(1)
    expect(cards.first.locator("img")).to_have_js_property("complete", True)
    expect(cards.first).to_contain_text("photo")
    expect(page.locator("#student-history")).to_contain_text("Art 9")
    before = admin.get(f"{API}/students/{kit['id']}/photos").json()

    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Replace photo 1").click()
    chooser.value.set_files(faces_dir / "people/kit_harington/kit3.jpg")
    expect(page.locator("#student-photo-message")).to_contain_text(
        "Replaced", timeout=ENROLL_WAIT_MS
    )
    after = admin.get(f"{API}/students/{kit['id']}/photos").json()
    assert len(after) == 1 and after[0]["created_at"] != before[0]["created_at"]
    image = admin.get(f"{API}/students/{kit['id']}/photos/{after[0]['id']}/image")
    assert image.content == (faces_dir / "people/kit_harington/kit3.jpg").read_bytes()
    expect(page.locator("#student-portrait")).to_be_visible()
    screenshots(page, "office-student")
    assert_accessible(page, server, "the student page")

    # The attendance filter finds a student by name, not only by internal number.
    page.get_by_role("tab", name="Attendance").click()
    page.get_by_label("Student (name or external id)").fill("T-KIT")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#attendance-table tbody tr")).to_have_count(1)
    expect(page.locator("#attendance-table")).to_contain_text("Kit Harington")
    expect(page.locator("#attendance-table thead")).not_to_contain_text("Similarity")
    seen.assert_clean()


def test_a_refusal_is_said_in_words(office: tuple[Page, PageWatch]) -> None:
    page, seen = office
    sign_in(page, ADMIN_KEY)
    page.get_by_role("tab", name="Sessions").click()
    start = dt.datetime.now() + dt.timedelta(hours=2)
    page.get_by_label("Session name").fill("Backwards")
    page.get_by_label("Starts").fill(local_input(start))
    page.get_by_label("Ends").fill(local_input(start - dt.timedelta(hours=1)))
    page.get_by_role("button", name="Create").click()
    message = page.locator("#session-message")
    expect(message).to_have_text("The end must be after the start.")
    expect(page.locator("#live")).to_have_text("The end must be after the start.")
    seen.assert_clean()
