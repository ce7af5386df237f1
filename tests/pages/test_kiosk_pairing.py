"""The kiosk paired from the office, guarded by its staff PIN, saying "Late" plainly, and honest
when the server is away: in Chromium with a fake camera fed photos of real people, against a
server of this module's own (it is stopped and started again)."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.pages.conftest import (
    DESKTOP,
    STAFF_PIN,
    Launch,
    sign_in_kiosk,
    watch,
    y4m_from_photo,
)
from tests.pages.kiosk_results import record_kiosk_results, wait_for_result
from tests.pages.test_kiosk import RECOGNITION_WAIT_MS
from tests.support.helpers import free_port, post_file, running_server
from tests.support.settings import ADMIN_KEY, REPO

OFFLINE_WAIT_MS = 30_000  # the kiosk asks /health every 10 s while idle
PORT = free_port()


class Server:
    """This module's server on a fixed port and SQLite file, which a test may stop and start."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {
            "ROLLCALL_DATABASE_URL": f"sqlite:///{folder / 'rollcall.db'}",
            "ROLLCALL_ADMIN_KEY": ADMIN_KEY,
        }
        self.url = f"http://127.0.0.1:{PORT}"
        self.running: AbstractContextManager[str] | None = None

    def start(self) -> None:

        argv = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
        self.running = running_server(
            [*argv, "--port", str(PORT)],
            REPO,
            {**os.environ, **self.env},
            self.folder / "server.log",
        )
        self.running.__enter__()

    def stop(self) -> None:
        assert self.running is not None
        self.running.__exit__(None, None, None)
        self.running = None


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("pairing-server"))
    server.start()
    yield server
    if server.running is not None:
        server.stop()


@pytest.fixture(scope="module")
def server(own_server: Server) -> str:
    return own_server.url


@pytest.fixture(scope="module")
def enrolled(admin: httpx.Client, faces_dir: Path) -> None:
    created = admin.post("/api/v1/students", json={"external_id": "P-OBAMA", "name": "Obama"})
    assert created.status_code == 201, created.text
    photo = faces_dir / "people/barack_obama/obama.jpg"
    answer = post_file(admin, f"/api/v1/students/{created.json()['id']}/photo", photo)
    assert answer.status_code == 200, answer.text


def pairing_code_from_the_office(page: Page, server: str) -> str:
    page.goto(f"{server}/admin")
    page.get_by_label("Access key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("tab", name="Keys").click()
    page.get_by_role("button", name="Show a pairing code").click()
    code = page.locator("#pairing-code")
    expect(code).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    qr = page.locator("#pairing-qr")
    page.wait_for_function("() => document.querySelector('#pairing-qr').naturalWidth > 0")
    assert qr.evaluate("img => img.src").startswith("blob:")  # drawn here, nothing fetched
    expect(page.locator("#pairing-url")).to_contain_text(f"/kiosk?pair={code.text_content()}")
    return code.text_content() or ""


def paired_kiosk(
    launch: Launch,
    server: str,
    faces_dir: Path,
    tmp_path: Path,
    name: str,
    session: int | None = None,
) -> Page:
    camera = y4m_from_photo(faces_dir / "people/barack_obama/obama2.jpg", tmp_path / "obama.y4m")
    browser = launch(camera)
    office = browser.new_page(viewport=DESKTOP)
    code = pairing_code_from_the_office(office, server)
    kiosk = browser.new_page(viewport=DESKTOP)
    record_kiosk_results(kiosk)
    kiosk.goto(f"{server}/kiosk?pair={code}" + (f"&session={session}" if session else ""))
    expect(kiosk.get_by_label("Pairing code")).to_have_value(code)
    kiosk.get_by_label("Name of this kiosk").fill(name)
    kiosk.locator("#pair-pin").fill(STAFF_PIN)
    kiosk.get_by_role("button", name="Pair this kiosk").click()
    expect(kiosk.locator("#kiosk-station")).to_be_visible()
    return kiosk


def test_pairing_from_the_office_to_a_working_kiosk(
    launch: Launch,
    server: str,
    admin: httpx.Client,
    enrolled: None,
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    kiosk = paired_kiosk(launch, server, faces_dir, tmp_path, "Front door tablet")
    seen = watch(kiosk, server, strict_csp=False)
    wait_for_result(kiosk, {"present", "already_present"}, RECOGNITION_WAIT_MS, "Obama")
    screenshots(kiosk, "kiosk-paired-present")
    assert kiosk.evaluate("location.search") == ""  # the used code left the address bar
    keys = {k["name"]: k["role"] for k in admin.get("/api/v1/keys").json()}
    assert keys["Front door tablet"] == "kiosk"
    expect(kiosk.locator("h1:visible")).to_have_count(1)  # one per screen
    expect(kiosk.locator("[aria-live]")).to_have_count(1)
    seen.assert_clean()


def test_an_admin_key_is_refused_and_not_kept(launch: Launch, server: str) -> None:
    page = launch(None).new_page(viewport=DESKTOP)
    page.goto(f"{server}/kiosk")
    sign_in_kiosk(page, ADMIN_KEY)
    expect(page.locator("#kiosk-signin-error")).to_contain_text("An admin key cannot run a kiosk")
    expect(page.locator("#kiosk-station")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('rollcall.kiosk.key')") is None


def test_the_staff_pin_guards_signing_out(
    launch: Launch,
    server: str,
    enrolled: None,
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    kiosk = paired_kiosk(launch, server, faces_dir, tmp_path, "Side door tablet")
    expect(kiosk.get_by_role("link", name="Office")).to_have_count(0)  # no way out but Staff
    kiosk.get_by_role("button", name="Staff").click()
    kiosk.get_by_label("Staff PIN", exact=True).fill("000000")
    kiosk.get_by_role("button", name="Unlock").click()
    expect(kiosk.locator("#staff-error")).to_contain_text("not this kiosk's staff PIN")
    expect(kiosk.get_by_role("button", name="Sign out of this kiosk")).to_be_hidden()
    kiosk.get_by_label("Staff PIN", exact=True).fill(STAFF_PIN)
    kiosk.get_by_role("button", name="Unlock").click()
    screenshots(kiosk, "kiosk-staff-menu")
    kiosk.get_by_role("button", name="Sign out of this kiosk").click()
    expect(kiosk.locator("#kiosk-signin")).to_be_visible()
    assert kiosk.evaluate("localStorage.getItem('rollcall.kiosk.key')") is None


def test_a_late_arrival_is_shown_as_late(
    launch: Launch,
    server: str,
    admin: httpx.Client,
    enrolled: None,
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    now = dt.datetime.now(dt.UTC)
    session = admin.post(
        "/api/v1/sessions",
        json={
            "name": "Late maths",
            "starts_at": (now - dt.timedelta(minutes=30)).isoformat(),
            "ends_at": (now + dt.timedelta(minutes=30)).isoformat(),
            "grace_minutes": 5,
        },
    )
    assert session.status_code == 201, session.text
    kiosk = paired_kiosk(launch, server, faces_dir, tmp_path, "Late door", session.json()["id"])
    shown = wait_for_result(kiosk, {"present"}, RECOGNITION_WAIT_MS)
    assert "Late" in shown["text"] and "Present" not in shown["text"], shown
    assert shown["tone"] == "late"
    assert shown["title_px"] >= 64  # readable at 2 m on a tablet
    screenshots(kiosk, "kiosk-late")  # the answer, or the idle screen after its 3 s


def test_the_kiosk_says_when_the_server_is_away_and_recovers(
    launch: Launch,
    own_server: Server,
    admin: httpx.Client,
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    camera = y4m_from_photo(faces_dir / "people/kit_harington/kit3.jpg", tmp_path / "kit.y4m")
    created = admin.post("/api/v1/keys", json={"name": "offline door", "role": "kiosk"})
    kiosk = launch(camera).new_page(viewport=DESKTOP)
    kiosk.goto(f"{own_server.url}/kiosk")
    sign_in_kiosk(kiosk, created.json()["key"])
    expect(kiosk.locator("#kiosk-station")).to_be_visible()

    own_server.stop()
    offline = kiosk.locator('#kiosk-result[data-status="offline"]')
    expect(offline).to_contain_text("Not connected — tell staff", timeout=OFFLINE_WAIT_MS)
    screenshots(kiosk, "kiosk-offline")
    own_server.start()
    expect(offline).to_have_count(0, timeout=OFFLINE_WAIT_MS)  # back by itself
    expect(kiosk.locator("#kiosk-result")).not_to_contain_text("Not connected")
