"""The kiosk at the door (/kiosk), in Chromium with a fake camera fed photos of real people."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.pages.conftest import (
    DESKTOP,
    Launch,
    PageWatch,
    new_key,
    sign_in_kiosk,
    watch,
    y4m_from_photo,
)
from tests.pages.kiosk_results import record_kiosk_results, wait_for_result
from tests.support.helpers import post_file

RECOGNITION_WAIT_MS = 90_000  # the first check-in on a cold 2-core server: detection + embedding


@pytest.fixture(scope="module")
def kiosk_key(admin: httpx.Client, faces_dir: Path) -> str:
    """A kiosk key, with Barack Obama and Kit Harington enrolled (one reference photo each)."""
    for external_id, name, photo in (
        ("K-OBAMA", "Barack Obama", "barack_obama/obama.jpg"),
        ("K-KIT", "Kit Harington", "kit_harington/kit1.jpg"),
    ):
        created = admin.post("/api/v1/students", json={"external_id": external_id, "name": name})
        assert created.status_code == 201, created.text
        enrolled = post_file(
            admin, f"/api/v1/students/{created.json()['id']}/photo", faces_dir / "people" / photo
        )
        assert enrolled.status_code == 200, enrolled.text
    return new_key(admin, "kiosk")


def start_kiosk(browser: Browser, server: str, key: str) -> tuple[Page, PageWatch]:
    page = browser.new_page(viewport=DESKTOP)
    seen = watch(page, server)
    record_kiosk_results(page)
    page.goto(f"{server}/kiosk")
    sign_in_kiosk(page, key)
    return page, seen


def kiosk_facing_kit(
    launch: Launch, server: str, admin: httpx.Client, faces_dir: Path, tmp_path: Path, tag: str
) -> tuple[Page, PageWatch, list[int]]:
    """Kit Harington enrolled (kit1.jpg, external id `tag`) and a kiosk whose camera shows
    another photo of him (kit3.jpg); with the number of photos in each check-in it sends."""
    created = admin.post("/api/v1/students", json={"external_id": tag, "name": "Kit"})
    enrolled = post_file(
        admin,
        f"/api/v1/students/{created.json()['id']}/photo",
        faces_dir / "people/kit_harington/kit1.jpg",
    )
    assert enrolled.status_code == 200, enrolled.text
    camera = y4m_from_photo(faces_dir / "people/kit_harington/kit3.jpg", tmp_path / "kit.y4m")
    page, seen = start_kiosk(launch(camera), server, new_key(admin, "kiosk"))
    frames: list[int] = []
    page.on(
        "request",
        lambda request: (
            frames.append(request.post_data_buffer.count(b'name="file"'))
            if request.url.endswith("/api/v1/checkins")
            else None
        ),
    )
    return page, seen, frames


def track_checkins_in_flight(page: Page) -> list[int]:
    """The number of check-in requests in flight, after each request starts."""
    in_flight = [0]
    seen: list[int] = []

    def started(request) -> None:  # type: ignore[no-untyped-def]
        if request.url.endswith("/api/v1/checkins"):
            in_flight[0] += 1
            seen.append(in_flight[0])

    def ended(request) -> None:  # type: ignore[no-untyped-def]
        if request.url.endswith("/api/v1/checkins"):
            in_flight[0] -= 1

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    return seen


def test_kiosk_checks_in_obama_hands_free(
    launch: Launch,
    server: str,
    admin: httpx.Client,
    kiosk_key: str,
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    # A photo of Obama other than the one enrolled, as the camera sees him.
    camera = y4m_from_photo(faces_dir / "people/barack_obama/obama2.jpg", tmp_path / "obama.y4m")
    page, seen = start_kiosk(launch(camera), server, kiosk_key)
    in_flight = track_checkins_in_flight(page)

    shown = wait_for_result(page, {"present"}, RECOGNITION_WAIT_MS, "Barack Obama")
    assert "Present" in shown["text"], shown
    expect(page.locator("#kiosk-camera")).to_have_css("transform", "matrix(-1, 0, 0, 1, 0, 0)")
    screenshots(page, "kiosk-present")

    rows = admin.get("/api/v1/attendance").json()
    assert [row["student"]["name"] for row in rows].count("Barack Obama") == 1
    assert in_flight and max(in_flight) == 1  # never more than one check-in at a time
    seen.assert_clean()


def test_kiosk_says_a_stranger_is_not_recognised(
    launch: Launch,
    server: str,
    kiosk_key: str,
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    camera = y4m_from_photo(faces_dir / "people/angelina_jolie/1.jpg", tmp_path / "stranger.y4m")
    page, seen = start_kiosk(launch(camera), server, kiosk_key)

    shown = wait_for_result(page, {"unknown"}, RECOGNITION_WAIT_MS, "Not recognised")
    assert "Please see staff" in shown["text"], shown
    screenshots(page, "kiosk-unknown")
    seen.assert_clean()


@pytest.mark.parametrize(
    ("camera", "problem"),
    [("missing", "No camera was found"), ("refused", "The camera was refused")],
)
def test_kiosk_without_a_camera_offers_a_photo_instead(
    camera: str,
    problem: str,
    launch: Launch,
    server: str,
    kiosk_key: str,
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    if camera == "missing":
        browser = launch(None)  # this machine has no camera
    else:
        video = y4m_from_photo(faces_dir / "people/kit_harington/kit3.jpg", tmp_path / "kit.y4m")
        browser = launch(video, allowed=False)
    page, seen = start_kiosk(browser, server, kiosk_key)

    notice = page.locator("#kiosk-camera-problem")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(problem)
    expect(notice).to_contain_text("Check in with a photo instead")
    expect(page.locator("#kiosk-camera")).to_be_hidden()
    screenshots(page, f"kiosk-camera-{camera}")

    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Take or choose a photo").click()
    chooser.value.set_files(faces_dir / "people/kit_harington/kit2.jpg")
    title = page.locator("#kiosk-result .result-title")  # present, or already checked in
    expect(title).to_have_text("Kit Harington", timeout=RECOGNITION_WAIT_MS)
    seen.assert_clean()


def test_kiosk_refuses_a_viewer_key(
    launch: Launch,
    server: str,
    admin: httpx.Client,
    screenshots: Callable[[Page, str], None],
) -> None:
    page, seen = start_kiosk(launch(None), server, new_key(admin, "viewer"))
    expect(page.locator("#kiosk-signin-error")).to_contain_text("A viewer key cannot run a kiosk")
    expect(page.locator("#kiosk-station")).to_be_hidden()
    screenshots(page, "kiosk-signin")
    seen.assert_clean()


def test_kiosk_shows_decisions_it_does_not_know_in_their_own_words(
    launch: Launch, server: str
) -> None:
    """The kiosk's own display code, in the browser, on decisions a newer server may send."""
    page = launch(None).new_page()
    page.goto(f"{server}/kiosk")
    shown = page.evaluate(
        """async () => {
            const { describe } = await import("/static/js/kiosk-results.js");
            return [
                describe({ decision: "retry", student: null }),
                describe({ decision: "not_on_roster", student: { name: "Ada Lovelace" } }),
                describe({ decision: "ambiguous_session", student: null }),
                describe({ decision: "turn_head", student: null, message: "Turn your head left." }),
                describe({ decision: "left_early", student: { name: "Ada Lovelace" } }),
            ];
        }"""
    )
    assert shown == [
        {
            "tone": "warn",
            "symbol": "?",
            "title": "Look at the camera",
            "detail": "Hold still, please.",
        },
        {
            "tone": "bad",
            "symbol": "✕",
            "title": "Ada Lovelace",
            "detail": "Not on this class list. Please see staff.",
        },
        {
            "tone": "warn",
            "symbol": "?",
            "title": "Which class?",
            "detail": "On more than one class now. Please see staff.",
        },
        {"tone": "warn", "symbol": "?", "title": "Turn head", "detail": "Turn your head left."},
        {
            "tone": "warn",
            "symbol": "?",
            "title": "Ada Lovelace",
            "detail": "Left early. Please see staff.",
        },
    ]
