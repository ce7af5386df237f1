"""The kiosk on a tablet of the school's network: by a LAN host name, it has a camera over HTTPS
(`rollcall tls make-cert` + `rollcall serve --tls-cert/--tls-key`) and says why it has none
over plain HTTP.

Chromium resolves the LAN name `school.test` to 127.0.0.1 (as the school's DNS would resolve
school.lan to the server), and accepts exactly the certificate made here, as a tablet that
trusts it would (--ignore-certificate-errors-spki-list: that key's errors only).
"""

from __future__ import annotations

import base64
import hashlib
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.pages.conftest import DESKTOP, Launch, new_key, sign_in_kiosk, watch, y4m_from_photo
from tests.pages.kiosk_results import record_kiosk_results, wait_for_result
from tests.pages.test_kiosk import RECOGNITION_WAIT_MS
from tests.support.helpers import post_file, run_rollcall
from tests.support.server import serving
from tests.support.settings import ADMIN_KEY

LAN_NAME = "school.test"  # .test: reserved, never a real name (RFC 2606)
INSECURE = "The camera needs HTTPS (or this computer's own address)"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`rollcall tls make-cert` for the LAN name and 127.0.0.1, as an operator runs it."""
    folder = tmp_path_factory.mktemp("tls")
    made = run_rollcall(
        "tls", "make-cert", "--host", LAN_NAME, "--host", "127.0.0.1", "--out", "tls", cwd=folder
    )
    assert made.returncode == 0, made.stderr
    cert, key = folder / "tls" / f"{LAN_NAME}.crt", folder / "tls" / f"{LAN_NAME}.key"
    assert f"rollcall serve --host 0.0.0.0 --tls-cert tls/{LAN_NAME}.crt" in made.stdout
    assert key.stat().st_mode & 0o077 == 0  # the private key: its owner's only
    return cert, key


@pytest.fixture(scope="module")
def https_server(
    tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]
) -> Iterator[str]:
    cert, key = certificate
    workdir = tmp_path_factory.mktemp("https-server")
    serve = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
    serve += ["--tls-cert", str(cert), "--tls-key", str(key)]
    with serving(f"sqlite:///{workdir / 'rollcall.db'}", workdir / "server.log", serve) as url:
        yield url


@pytest.fixture(scope="module")
def https_admin(https_server: str, certificate: tuple[Path, Path]) -> Iterator[httpx.Client]:
    """The REST API over HTTPS, trusting only the made certificate: it is valid for the names
    it was made for."""
    trusted = ssl.create_default_context(cafile=certificate[0])
    with httpx.Client(
        base_url=https_server, verify=trusted, timeout=60, headers={"X-API-Key": ADMIN_KEY}
    ) as client:
        yield client


def spki_hash(cert: Path) -> str:
    """base64 SHA-256 of the certificate's public key, as Chromium's SPKI list takes it."""
    public = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-pubkey"],
        capture_output=True,
        check=True,
    ).stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"],
        input=public,
        capture_output=True,
        check=True,
    ).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def lan_browser_flags(cert: Path | None = None) -> list[str]:
    flags = [f"--host-resolver-rules=MAP {LAN_NAME} 127.0.0.1"]
    if cert is not None:
        flags.append(f"--ignore-certificate-errors-spki-list={spki_hash(cert)}")
    return flags


def open_kiosk(page: Page, url: str, key: str) -> None:
    page.goto(f"{url}/kiosk")
    sign_in_kiosk(page, key)


def test_the_kiosk_by_a_lan_name_over_https_gets_the_camera_and_checks_in(
    launch: Launch,
    https_server: str,
    https_admin: httpx.Client,
    certificate: tuple[Path, Path],
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    created = https_admin.post("/api/v1/students", json={"external_id": "H-KIT", "name": "Kit"})
    assert created.status_code == 201, created.text
    enrolled = post_file(
        https_admin,
        f"/api/v1/students/{created.json()['id']}/photo",
        faces_dir / "people/kit_harington/kit1.jpg",
    )
    assert enrolled.status_code == 200, enrolled.text
    camera = y4m_from_photo(faces_dir / "people/kit_harington/kit3.jpg", tmp_path / "kit.y4m")
    browser = launch(camera, extra=lan_browser_flags(certificate[0]))
    lan_url = https_server.replace("127.0.0.1", LAN_NAME)
    page = browser.new_page(viewport=DESKTOP)
    seen = watch(page, lan_url, strict_csp=False)
    record_kiosk_results(page)
    open_kiosk(page, lan_url, new_key(https_admin, "kiosk"))

    assert page.evaluate("window.isSecureContext") is True
    # The fake camera's frames play, and the kiosk checks its face in.
    expect(page.locator("#kiosk-camera-state")).to_have_text("", timeout=RECOGNITION_WAIT_MS)
    page.wait_for_function(
        "document.querySelector('#kiosk-camera').readyState >= 2", timeout=RECOGNITION_WAIT_MS
    )
    wait_for_result(page, {"present"}, RECOGNITION_WAIT_MS, "Kit")
    expect(page.locator("#kiosk-fallback")).to_be_hidden()
    screenshots(page, "kiosk-https-lan")
    seen.assert_clean()


def test_the_kiosk_by_a_lan_name_over_plain_http_says_the_camera_needs_https(
    launch: Launch,
    server: str,
    admin: httpx.Client,
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    camera = y4m_from_photo(faces_dir / "people/kit_harington/kit3.jpg", tmp_path / "kit.y4m")
    browser = launch(camera, extra=lan_browser_flags())
    lan_url = server.replace("127.0.0.1", LAN_NAME)
    page = browser.new_page(viewport=DESKTOP)
    seen = watch(page, lan_url, strict_csp=False)
    open_kiosk(page, lan_url, new_key(admin, "kiosk"))

    assert page.evaluate("window.isSecureContext") is False
    expect(page.locator("#kiosk-camera-problem")).to_contain_text(INSECURE)
    # It still checks in from a photo: the file picker needs no secure page.
    expect(page.get_by_role("button", name="Take or choose a photo")).to_be_visible()
    screenshots(page, "kiosk-http-lan")
    seen.assert_clean()
