"""The office's timetable, sessions and term grid in Chromium: a weekly class made from the page
with a holiday skipped; a correction in the grid reaching the audit trail and the totals; the
register's CSV; a teacher key seeing its own course only; and a school of 500 students and 720
sessions whose sessions tab and grid load at once and fit the screen."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.pages.conftest import DESKTOP, Launch, PageWatch, serve_pages, watch
from tests.pages.test_office import sign_in
from tests.support.settings import ADMIN_KEY

ZONE = "Europe/London"  # the school's, and the browser's
NEW_YORK = "America/New_York"  # a browser elsewhere
RTL_NAME = "نور الهدى"
LONG_NAME = "Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaf"  # 60, no space


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_pages(tmp_path_factory, "register-server", timezone=ZONE)


@pytest.fixture(scope="module")
def browser(launch: Launch) -> Browser:
    return launch(None)


@pytest.fixture
def office(browser: Browser, server: str) -> Iterator[tuple[Page, PageWatch]]:
    context = browser.new_context(viewport=DESKTOP, timezone_id=ZONE, accept_downloads=True)
    page = context.new_page()
    seen = watch(page, server)
    page.goto(f"{server}/admin")
    yield page, seen
    context.close()


def today() -> dt.date:
    return dt.datetime.now(ZoneInfo(ZONE)).date()


def _made(answer: httpx.Response) -> dict:
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


@pytest.fixture(scope="module")
def school(admin: httpx.Client) -> dict:
    """Two courses: REG-9A (three students, among them a right-to-left name and a long one)
    and ART (another student, a session in progress)."""
    ids = {}
    for external_id, name in (("R-1", "Ana Register"), ("R-2", RTL_NAME), ("R-3", LONG_NAME)):
        ids[external_id] = _made(
            admin.post("/api/v1/students", json={"external_id": external_id, "name": name})
        )["id"]
    bob = _made(admin.post("/api/v1/students", json={"external_id": "A-1", "name": "Bob Art"}))
    reg = _made(admin.post("/api/v1/courses", json={"code": "REG-9A", "name": "Maths 9A"}))["id"]
    art = _made(admin.post("/api/v1/courses", json={"code": "ART", "name": "Art"}))["id"]
    _made(admin.put(f"/api/v1/courses/{reg}/students", json={"student_ids": [*ids.values()]}))
    _made(admin.put(f"/api/v1/courses/{art}/students", json={"student_ids": [bob["id"]]}))
    now = dt.datetime.now(dt.UTC)
    art_session = _made(
        admin.post(
            "/api/v1/sessions",
            json={
                "name": "Art class",
                "course_id": art,
                "starts_at": (now - dt.timedelta(minutes=10)).isoformat(),
                "ends_at": (now + dt.timedelta(hours=1)).isoformat(),
            },
        )
    )["id"]
    return {"students": ids, "reg": reg, "art": art, "art_session": art_session}


def local_day(session: dict) -> dt.date:
    return dt.datetime.fromisoformat(session["starts_at"]).astimezone(ZoneInfo(ZONE)).date()


def _open_register(page: Page, date_from: dt.date, date_to: dt.date, course: str) -> None:
    page.get_by_role("tab", name="Register").click()
    expect(page.locator("#panel-register")).to_have_attribute("data-state", "ready")
    page.locator("#grid-course").select_option(label=course)
    page.locator("#grid-from").fill(date_from.isoformat())
    page.locator("#grid-to").fill(date_to.isoformat())
    page.locator("#grid-filter").get_by_role("button", name="Show").click()
    expect(page.locator("#grid-title")).to_contain_text(f"{date_from} to {date_to}")


def _cell(page: Page, student: str, column: int = 0):
    row = page.locator("#grid-table tbody tr").filter(has_text=student)
    return row.locator("td.cell").nth(column)


def test_a_term_series_with_a_holiday_then_a_correction_in_the_grid(
    office: tuple[Page, PageWatch],
    admin: httpx.Client,
    school: dict,
    screenshots: Callable[[Page, str], None],
    tmp_path: Path,
) -> None:
    page, seen = office
    first = today() - dt.timedelta(days=today().weekday() + 21)  # a Monday three weeks ago
    last = first + dt.timedelta(days=34)
    holiday = first + dt.timedelta(days=3)  # the first Thursday
    expected = [
        first + dt.timedelta(days=n)
        for n in range((last - first).days + 1)
        if (first + dt.timedelta(days=n)).weekday() in (0, 3)
        and first + dt.timedelta(days=n) != holiday
    ]
    sign_in(page, ADMIN_KEY)
    page.get_by_role("tab", name="Timetable").click()
    page.get_by_label("Class name").fill("Maths 9A")
    page.locator("#series-course").select_option(label="REG-9A · Maths 9A")
    page.get_by_label("Mon").check()
    page.get_by_label("Thu").check()
    page.get_by_label("From (time)").fill("09:00")
    page.get_by_label("To (time)").fill("09:50")
    page.get_by_label("First day of term").fill(first.isoformat())
    page.get_by_label("Last day of term").fill(last.isoformat())
    page.get_by_label("Holidays").fill(holiday.isoformat())
    page.get_by_role("button", name="Make the sessions").click()
    expect(page.locator("#series-message")).to_have_text(
        f"Made Maths 9A: {len(expected)} sessions, 1 holidays skipped."
    )
    expect(page.locator("#series-table")).to_contain_text(holiday.isoformat())
    screenshots(page, "office-timetable")
    [series] = admin.get("/api/v1/timetable/series").json()
    made = admin.get("/api/v1/sessions", params={"series_id": series["id"], "limit": 100}).json()
    local = ZoneInfo(ZONE)
    days = sorted(
        dt.datetime.fromisoformat(s["starts_at"]).astimezone(local) for s in made["items"]
    )
    assert [d.date() for d in days] == expected and {d.hour for d in days} == {9}

    # The grid: every student of the course, every session; the first session is held and
    # nobody was marked: absent. An excused correction reaches the cell, the totals and the
    # audit trail.
    _open_register(page, first, last, "REG-9A · Maths 9A")
    expect(page.locator("#grid-message")).to_have_text(f"3 students, {len(expected)} sessions.")
    expect(_cell(page, "Ana Register")).to_have_text("A")
    _cell(page, "Ana Register").get_by_role("button").click()
    expect(page.get_by_label("Status")).to_be_focused()
    page.get_by_label("Status").select_option("excused")
    page.get_by_label("Reason").fill("doctor's note")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.locator("#grid-message")).to_have_text("Saved: Ana Register is excused.")
    expect(_cell(page, "Ana Register")).to_have_text("E*")
    excused_total = page.locator("#grid-table tfoot tr").filter(has_text="Total excused")
    expect(excused_total.locator("td").first).to_have_text("1")
    ana = page.locator("#grid-table tbody tr").filter(has_text="Ana Register")
    expect(ana.locator("td.total").nth(2)).to_have_text("1")  # present, late, excused
    first_session = min(made["items"], key=lambda s: s["starts_at"])["id"]
    mark = f"/api/v1/sessions/{first_session}/attendance/{school['students']['R-1']}"
    [event] = admin.get(f"{mark}/history").json()
    assert event["action"] == "correction" and event["after_status"] == "excused"
    assert event["reason"] == "doctor's note" and event["key_name"] == "bootstrap admin key"
    screenshots(page, "office-register")
    page.emulate_media(media="print")  # the paper register: the grid alone
    expect(page.locator(".tabs")).to_be_hidden()
    expect(page.locator("#grid-filter")).to_be_hidden()
    expect(page.locator("#grid-table")).to_be_visible()
    # Paper is not a phone: the print is looked at, and held to, a desktop's width.
    folder = Path(os.environ.get("ROLLCALL_SCREENSHOTS") or tmp_path)
    page.screenshot(path=folder / "office-register-print.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    page.emulate_media(media="screen")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename == f"register-REG-9A-{first}-{last}.csv"
    content = Path(download.value.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    assert "excused" in content.decode("utf-8-sig") and RTL_NAME in content.decode("utf-8-sig")

    # Sessions on the holiday's day: none; on the first Monday: one, renamed in place.
    page.get_by_role("tab", name="Sessions").click()
    page.locator("#sessions-from").fill(holiday.isoformat())
    page.locator("#sessions-to").fill(holiday.isoformat())
    page.locator("#sessions-filter").get_by_role("button", name="Show").click()
    expect(page.locator("#sessions-range")).to_have_text("No session on these days.")
    page.locator("#sessions-from").fill(first.isoformat())
    page.locator("#sessions-to").fill(first.isoformat())
    page.locator("#sessions-filter").get_by_role("button", name="Show").click()
    expect(page.locator("#sessions-range")).to_have_text("1\u20131 of 1")
    page.locator("#sessions-table").get_by_role("button", name="Change").click()
    page.get_by_label("Rename to").fill("Maths 9A (hall)")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#sessions-message")).to_have_text("Saved Maths 9A (hall).")
    expect(page.locator("#sessions-table")).to_contain_text("Maths 9A (hall)")
    assert admin.get(f"/api/v1/sessions/{first_session}").json()["name"] == "Maths 9A (hall)"

    # The last two Mondays and Thursdays are still to come: delete this and the following.
    page.locator("#sessions-from").fill(expected[-2].isoformat())
    page.locator("#sessions-to").fill(expected[-2].isoformat())
    page.locator("#sessions-filter").get_by_role("button", name="Show").click()
    expect(page.locator("#sessions-range")).to_have_text("1\u20131 of 1")
    # That day's session, not the first Monday's still shown before the answer (also 1 of 1).
    [last_but_one] = [s["id"] for s in made["items"] if local_day(s) == expected[-2]]
    expect(page.locator(f'#sessions-table tr[data-session-id="{last_but_one}"]')).to_be_visible()
    page.locator("#sessions-table").get_by_role("button", name="Change").click()
    page.get_by_label("this and the following ones").check()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator("#sessions-message")).to_have_text("Deleted 2 sessions of the series.")
    expect(page.locator("#sessions-range")).to_have_text("No session on these days.")
    left = admin.get("/api/v1/sessions", params={"series_id": series["id"], "limit": 100})
    assert left.json()["total"] == len(expected) - 2
    assert (
        admin.get(f"/api/v1/timetable/series/{series['id']}").json()["last_date"]
        == (expected[-2] - dt.timedelta(days=1)).isoformat()
    )
    seen.assert_clean()


def test_a_teacher_key_sees_its_own_course_only(
    office: tuple[Page, PageWatch], admin: httpx.Client, school: dict
) -> None:
    page, seen = office
    body = {"name": "Ms Register", "role": "teacher", "course_ids": [school["reg"]]}
    key = _made(admin.post("/api/v1/keys", json=body))["key"]
    now = dt.datetime.now(dt.UTC)
    held = _made(
        admin.post(
            "/api/v1/sessions",
            json={
                "name": "Maths 9A today",
                "course_id": school["reg"],
                "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
                "ends_at": (now + dt.timedelta(hours=1)).isoformat(),
            },
        )
    )["id"]
    sign_in(page, key)
    expect(page.locator("#office-role")).to_have_text("teacher")
    tabs = page.get_by_role("tab")
    expect(tabs).to_have_text(["Today", "Courses", "Sessions", "Register", "Attendance"])

    page.get_by_role("tab", name="Sessions").click()
    expect(page.locator("#sessions-table")).to_contain_text("Maths 9A today")
    expect(page.locator("#sessions-table")).not_to_contain_text("Art class")
    expect(page.get_by_role("button", name="Change")).to_have_count(0)

    _open_register(page, today(), today(), "REG-9A · Maths 9A")
    expect(page.locator("#grid-course option")).to_have_text(["REG-9A · Maths 9A"])
    # Today's column of this session (on a Monday or Thursday the term's 09:00 class is there
    # too, before or after it by the time of day).
    heads = page.locator("#grid-table thead th").evaluate_all("ths => ths.map((t) => t.title)")
    column = heads.index("Maths 9A today") - 1  # the first head is the students'
    _cell(page, "Ana Register", column).get_by_role("button").click()
    page.get_by_label("Status").select_option("late")
    page.get_by_label("Reason").fill("bus")
    page.get_by_role("button", name="Save the correction").click()
    expect(_cell(page, "Ana Register", column)).to_have_text("L*")
    history = admin.get(
        f"/api/v1/sessions/{held}/attendance/{school['students']['R-1']}/history"
    ).json()
    assert history[-1]["key_name"] == "Ms Register" and history[-1]["after_status"] == "late"

    teacher = {"X-API-Key": key}
    span = {"date_from": today().isoformat(), "date_to": today().isoformat()}
    other = admin.get(
        "/api/v1/reports/register", params={**span, "course_id": school["art"]}, headers=teacher
    )
    assert other.status_code == 404
    art = admin.get(f"/api/v1/sessions/{school['art_session']}", headers=teacher)
    assert art.status_code == 404
    seen.assert_clean()


def test_a_series_in_london_changed_from_a_browser_in_new_york_keeps_london_times(
    browser: Browser, server: str, admin: httpx.Client
) -> None:
    """ "This and the following" sends the series' own wall-clock times: a class at 09:00 in
    London, shown in New York at its time there and moved an hour later, is at 10:00 in
    London from that day on, whatever New York's offset."""
    first = today() + dt.timedelta(days=7)
    series = {
        "name": "Science 9A",
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "starts_time": "09:00",
        "ends_time": "09:50",
        "timezone": ZONE,
        "first_date": first.isoformat(),
        "last_date": (first + dt.timedelta(days=13)).isoformat(),
    }
    made = _made(admin.post("/api/v1/timetable/series", json=series))["series"]
    moved_from = first + dt.timedelta(days=3)
    context = browser.new_context(viewport=DESKTOP, timezone_id=NEW_YORK)
    page = context.new_page()
    seen = watch(page, server)
    page.goto(f"{server}/admin")
    sign_in(page, ADMIN_KEY)
    page.get_by_role("tab", name="Sessions").click()
    page.locator("#sessions-from").fill(moved_from.isoformat())
    page.locator("#sessions-to").fill(moved_from.isoformat())
    page.locator("#sessions-filter").get_by_role("button", name="Show").click()
    row = page.locator("#sessions-table tbody tr").filter(has_text="Science 9A")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Change").click()

    london = dt.datetime.combine(moved_from, dt.time(9), ZoneInfo(ZONE))
    in_new_york = london.astimezone(ZoneInfo(NEW_YORK))
    expect(page.get_by_label("Begins")).to_have_value(f"{in_new_york:%Y-%m-%dT%H:%M}")
    expect(page.locator("#session-edit-zone")).to_contain_text(f"{ZONE} times")
    expect(page.locator("#session-edit-zone")).to_contain_text("begins at 09:00 there")
    next_day = in_new_york + dt.timedelta(days=1)  # times only: another day is refused
    page.get_by_label("Begins").fill(f"{next_day:%Y-%m-%dT%H:%M}")
    page.get_by_label("Finishes").fill(f"{next_day + dt.timedelta(minutes=50):%Y-%m-%dT%H:%M}")
    page.get_by_label("this and the following ones").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#session-edit-message")).to_contain_text("keep their days")
    unchanged = admin.get(f"/api/v1/timetable/series/{made['id']}").json()
    assert unchanged["starts_time"] == "09:00:00"
    later = in_new_york + dt.timedelta(hours=1)
    page.get_by_label("Begins").fill(f"{later:%Y-%m-%dT%H:%M}")
    page.get_by_label("Finishes").fill(f"{later + dt.timedelta(minutes=50):%Y-%m-%dT%H:%M}")
    page.get_by_label("this and the following ones").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#sessions-message")).to_have_text(
        "Changed 11 sessions of the series from this one on."
    )

    changed = admin.get(f"/api/v1/timetable/series/{made['id']}").json()
    assert changed["starts_time"] == "10:00:00" and changed["ends_time"] == "10:50:00"
    found = admin.get("/api/v1/sessions", params={"series_id": made["id"], "limit": 100})
    starts = sorted(
        dt.datetime.fromisoformat(s["starts_at"]).astimezone(ZoneInfo(ZONE))
        for s in found.json()["items"]
    )
    assert [s.date() for s in starts] == [first + dt.timedelta(days=n) for n in range(14)]
    assert [s.strftime("%H:%M") for s in starts] == ["09:00"] * 3 + ["10:00"] * 11
    context.close()
    seen.assert_clean()


def _many_students(admin: httpx.Client, count: int) -> list[int]:
    return [
        _made(
            admin.post(
                "/api/v1/students", json={"external_id": f"B-{n:04}", "name": f"Pupil {n:04}"}
            )
        )["id"]
        for n in range(count)
    ]


@pytest.mark.slow
def test_a_school_of_500_students_and_720_sessions_loads_at_once(
    office: tuple[Page, PageWatch],
    admin: httpx.Client,
    school: dict,
    screenshots: Callable[[Page, str], None],
) -> None:
    page, seen = office
    roster = [*_many_students(admin, 497), *school["students"].values()]
    big = _made(admin.post("/api/v1/courses", json={"code": "BIG", "name": "Year 9"}))["id"]
    _made(admin.put(f"/api/v1/courses/{big}/students", json={"student_ids": roster}))
    monday = today() - dt.timedelta(days=today().weekday() + 36 * 7)
    for start, end in (("09:00", "09:50"), ("11:00", "11:50")):  # 72 weeks of 5 days, twice
        series = {
            "name": f"Year 9 {start}",
            "course_id": big,
            "weekdays": ["mon", "tue", "wed", "thu", "fri"],
            "starts_time": start,
            "ends_time": end,
            "first_date": monday.isoformat(),
            "last_date": (monday + dt.timedelta(days=72 * 7 - 3)).isoformat(),
        }
        assert _made(admin.post("/api/v1/timetable/series", json=series))["sessions_created"] == 360
    sign_in(page, ADMIN_KEY)

    started = time.monotonic()
    page.get_by_role("tab", name="Sessions").click()
    expect(page.locator("#panel-sessions")).to_have_attribute("data-state", "ready")
    sessions_s = time.monotonic() - started
    expect(page.locator("#sessions-table tbody tr").first).to_contain_text("in progress")
    page.locator("#sessions-from").fill("")  # the week shown first; then every session
    page.locator("#sessions-to").fill("")
    page.locator("#sessions-filter").get_by_role("button", name="Show").click()
    total = admin.get("/api/v1/sessions", params={"limit": 1}).json()["total"]
    assert total > 720  # the two series, and the other tests' sessions
    expect(page.locator("#sessions-range")).to_have_text(f"1\u201325 of {total}")
    expect(page.locator("#sessions-table tbody tr")).to_have_count(25)
    page.locator("#sessions-next").click()
    expect(page.locator("#sessions-range")).to_have_text(f"26\u201350 of {total}")
    screenshots(page, "office-sessions-school")

    page.get_by_role("tab", name="Register").click()
    expect(page.locator("#panel-register")).to_have_attribute("data-state", "ready")
    page.locator("#grid-course").select_option(label="BIG · Year 9")
    started = time.monotonic()
    page.locator("#grid-filter").get_by_role("button", name="Show").click()
    expect(page.locator("#grid-title")).to_contain_text("BIG", timeout=60_000)
    expect(page.locator("#panel-register")).to_have_attribute("data-state", "ready")
    grid_s = time.monotonic() - started
    expect(page.locator("#grid-table tbody tr")).to_have_count(40)
    expect(page.locator("#grid-range")).to_have_text("Students 1\u201340 of 500")
    screenshots(page, "office-register-school")
    # How fast: bench/office_pages.py (a test asserts what it shows, never how soon).
    print(f"ready: sessions tab {sessions_s:.2f} s, grid of 500 students {grid_s:.2f} s")
    seen.assert_clean()
