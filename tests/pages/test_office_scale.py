"""The office at a school's size, in Chromium: 500 students (one with a right-to-left name, one
with a 60-letter name without spaces) and a term of 720 sessions. Today shows every class and one
absent list (how fast: bench/office_pages.py), no page is wider than the screen at 1280 and 390
px, and axe-core finds no serious or critical violation on any office or kiosk page.

OFFICE_PAGES is the list of pages these checks visit: a new page adds an entry there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bench.office_school import (
    API,
    DAYS,
    LONG_NAME,
    RTL_NAME,
    SERIES,
    STUDENTS,
    School,
    scale_school,
)
from tests.pages.conftest import DESKTOP, Launch, assert_accessible, serve_pages, watch
from tests.support.settings import ADMIN_KEY

DASH = "\u2013"  # the pager's range, "1\u201320 of 500"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_pages(tmp_path_factory, "office-scale", timezone="UTC")


@pytest.fixture(scope="module")
def school(admin: httpx.Client) -> School:
    made = scale_school(admin)
    total = admin.get(f"{API}/sessions", params={"limit": 1}).json()["total"]
    assert total == SERIES * DAYS
    return made


@pytest.fixture(scope="module")
def browser(launch: Launch) -> Browser:
    return launch(None)


@pytest.fixture
def context(browser: Browser, server: str, school: School) -> Iterator[BrowserContext]:
    """A browser that remembers the admin key, as an office computer does."""
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(  # a tab that signed out (sessionStorage) stays signed out
        f"sessionStorage.getItem('signed-out') || "
        f"localStorage.setItem('rollcall.office.key', '{ADMIN_KEY}')"
    )
    yield context
    context.close()


def open_tab(name: str, ready: str) -> Callable[[Page, str, School], None]:
    def open_it(page: Page, server: str, school: School) -> None:
        page.goto(f"{server}/admin#{name}")
        expect(page.locator(ready).first).to_be_visible()

    return open_it


def open_register(page: Page, server: str, school: School) -> None:
    """The term grid of the named students' course over this month, its first page."""
    page.goto(f"{server}/admin#register")
    expect(page.locator("#panel-register")).to_have_attribute("data-state", "ready")
    page.locator("#grid-course").select_option(value=str(school.course["id"]))
    today = dt.date.today()
    page.locator("#grid-from").fill(today.replace(day=1).isoformat())
    page.locator("#grid-to").fill(today.isoformat())
    page.locator("#grid-filter").get_by_role("button", name="Show").click()
    expect(page.locator("#grid-table tbody tr").first).to_be_visible()


def open_students_named(page: Page, server: str, school: School) -> None:
    page.goto(f"{server}/admin#students")
    page.get_by_label("Search name or external id").fill("X-000")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#students-table")).to_contain_text(LONG_NAME)


def open_student(which: str) -> Callable[[Page, str, School], None]:
    def open_it(page: Page, server: str, school: School) -> None:
        student = getattr(school, which)
        page.goto(f"{server}/admin#student/{student['id']}")
        expect(page.locator("#student-page-name")).to_have_text(student["name"])
        expect(page.locator("#student-history tbody tr").first).to_be_visible()

    return open_it


def open_roster(page: Page, server: str, school: School) -> None:
    page.goto(f"{server}/admin#courses")
    page.get_by_role("button", name="Edit roster of C0").click()
    expect(page.locator("#roster-students")).to_contain_text(LONG_NAME)


def open_today_board(page: Page, server: str, school: School) -> None:
    open_tab("today", '#panel-today[data-ready="true"]')(page, server, school)
    page.get_by_role("button", name="Live board of Course 0 class").click()
    expect(page.locator(".board-inline")).to_contain_text(RTL_NAME)


def open_kiosk(page: Page, server: str, school: School) -> None:
    page.goto(f"{server}/kiosk")
    expect(page.get_by_role("heading", name="Set up this kiosk")).to_be_visible()


def open_signin(page: Page, server: str, school: School) -> None:
    page.goto(f"{server}/admin")
    expect(page.locator("#office")).to_be_visible()  # signed in: it keeps the key no more
    page.evaluate("sessionStorage.setItem('signed-out', '1'); localStorage.clear()")
    page.reload()
    expect(page.get_by_label("Access key")).to_be_visible()


# Every office and kiosk page, as a user reaches it (not /docs: Swagger UI's own page).
OFFICE_PAGES: dict[str, Callable[[Page, str, School], None]] = {
    "today": open_tab("today", '#panel-today[data-ready="true"]'),
    "today-board": open_today_board,
    "students": open_tab("students", "#students-table tbody tr"),
    "students-named": open_students_named,
    "student-rtl": open_student("rtl"),
    "student-long": open_student("long"),
    "courses": open_tab("courses", "#courses-table tbody tr"),
    "courses-roster": open_roster,
    "sessions": open_tab("sessions", "#sessions-table tbody tr"),
    "timetable": open_tab("timetable", "#series-create"),
    "register": open_register,
    "attendance": open_tab("attendance", "#chart-days .plot > *"),
    "keys": open_tab("keys", "#keys-table"),
    "health": open_tab("health", "#health-facts dd"),
    "kiosk": open_kiosk,
    "office-signin": open_signin,
}


def test_today_shows_the_day_at_a_schools_size(
    context: BrowserContext, server: str, school: School
) -> None:
    page = context.new_page()
    seen = watch(page, server)
    page.goto(f"{server}/admin#today")
    expect(page.locator('#panel-today[data-ready="true"]')).to_be_attached()
    # How fast: bench/office_pages.py (a test asserts what it shows, never how soon).
    ready_ms = page.evaluate("performance.getEntriesByName('today-ready')[0].startTime")
    print(f"Today ready {ready_ms:.0f} ms after navigation")
    expect(page.locator(".today-session")).to_have_count(SERIES)
    absent = page.locator("#today-absent tbody tr")
    expect(absent.filter(has_text=RTL_NAME)).to_have_count(1)  # course 0 is in progress
    seen.assert_clean()


def test_the_sessions_tab_reads_its_week_in_time_order_the_running_one_first(
    context: BrowserContext, server: str, school: School, admin: httpx.Client
) -> None:
    """A secretary reads a week as a timetable: the class on now at the top, then Monday's
    before Tuesday's and 9:00 before 11:00 (not the week's last class first)."""
    page = context.new_page()
    page.goto(f"{server}/admin#sessions")
    expect(page.locator("#panel-sessions")).to_have_attribute("data-state", "ready")
    rows = page.locator("#sessions-table tbody tr")
    expect(rows).to_have_count(25)
    shown = [int(i) for i in rows.evaluate_all("rows => rows.map((r) => r.dataset.sessionId)")]
    week = {
        "date_from": page.locator("#sessions-from").input_value(),
        "date_to": page.locator("#sessions-to").input_value(),
        "limit": 500,
    }
    listed = admin.get(f"{API}/sessions", params=week).json()["items"]
    in_order = sorted(listed, key=lambda s: (s["state"] != "in_progress", s["starts_at"], s["id"]))
    assert shown == [s["id"] for s in in_order[:25]]
    # Course 0's class is on in the hour the school was made: not when the clock has passed it.
    if in_order[0]["state"] == "in_progress":
        expect(rows.first).to_contain_text("in progress")


def test_the_last_students_are_one_click_away(
    context: BrowserContext, server: str, school: School
) -> None:
    page = context.new_page()
    page.goto(f"{server}/admin#students")
    expect(page.locator("#students-range")).to_have_text(f"1{DASH}20 of {STUDENTS}")
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    page.get_by_role("button", name="Last").click()
    expect(page.locator("#students-range")).to_have_text(f"481{DASH}{STUDENTS} of {STUDENTS}")
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_label("Page", exact=True).select_option(label="13 of 25")
    expect(page.locator("#students-range")).to_have_text(f"241{DASH}260 of {STUDENTS}")


@pytest.mark.parametrize("name", list(OFFICE_PAGES))
def test_each_page_fits_the_screen_and_passes_axe(
    context: BrowserContext,
    server: str,
    school: School,
    name: str,
    screenshots: Callable[[Page, str], None],
) -> None:
    page = context.new_page()
    seen = watch(page, server)
    OFFICE_PAGES[name](page, server, school)
    screenshots(page, f"scale-{name}")  # fails when wider than 1280 or 390 px
    assert_accessible(page, server, name)
    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page, server, f"{name} on a phone")
    seen.assert_clean()
