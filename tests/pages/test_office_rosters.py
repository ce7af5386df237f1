"""The office's Courses tab: an admin makes a course and ticks its roster; a viewer reads it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.pages.conftest import DESKTOP, Launch, PageWatch, new_key, watch
from tests.pages.test_office import sign_in
from tests.support.settings import ADMIN_KEY


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


def test_an_admin_makes_a_course_and_ticks_its_roster_a_viewer_reads_it(
    office: tuple[Page, PageWatch],
    browser: Browser,
    server: str,
    admin: httpx.Client,
    screenshots: Callable[[Page, str], None],
) -> None:
    ids = {}
    for external_id, name in (
        ("R-ANA", "Ana Roster"),
        ("R-BEN", "Ben Roster"),
        ("R-CAL", "Cal Roster"),
    ):
        created = admin.post("/api/v1/students", json={"external_id": external_id, "name": name})
        assert created.status_code == 201, created.text
        ids[external_id] = created.json()["id"]
    page, seen = office
    sign_in(page, ADMIN_KEY)
    page.get_by_role("tab", name="Courses").click()
    page.get_by_label("Course code").fill("ROSTER-1")
    page.get_by_label("Course name").fill("Biology")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#roster-title")).to_have_text("ROSTER-1 (Biology)")

    expect(page.get_by_label("Ben Roster (R-BEN)")).to_be_visible()  # the students are listed
    page.get_by_label("Filter").fill("ana")  # the filter hides the others: tick what is shown
    expect(page.get_by_label("Ben Roster (R-BEN)")).to_be_hidden()
    page.get_by_label("Ana Roster (R-ANA)").check()
    page.get_by_label("Filter").fill("")
    page.get_by_label("Cal Roster (R-CAL)").check()
    expect(page.locator("#roster-count")).to_have_text("2")
    page.get_by_role("button", name="Save roster").click()
    expect(page.locator("#roster-message")).to_have_text("Saved: 2 students on ROSTER-1.")
    expect(page.locator("#courses-table")).to_contain_text("2")
    screenshots(page, "office-courses")

    [course] = [c for c in admin.get("/api/v1/courses").json() if c["code"] == "ROSTER-1"]
    roster = admin.get(f"/api/v1/courses/{course['id']}/students").json()
    assert sorted(s["id"] for s in roster["students"]) == sorted([ids["R-ANA"], ids["R-CAL"]])
    seen.assert_clean()

    viewer = browser.new_context(viewport=DESKTOP).new_page()
    viewer.goto(f"{server}/admin")
    sign_in(viewer, new_key(admin, "viewer"))
    viewer.get_by_role("tab", name="Courses").click()
    viewer.get_by_role("button", name="Show roster of ROSTER-1").click()
    expect(viewer.locator("#roster-students li")).to_have_count(2)  # members only
    expect(viewer.get_by_label("Ana Roster (R-ANA)")).to_be_disabled()
    expect(viewer.get_by_role("button", name="Save roster")).to_have_count(0)  # taken out
    expect(viewer.get_by_role("button", name="Create")).to_have_count(0)
