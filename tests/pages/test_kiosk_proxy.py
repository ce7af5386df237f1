"""docs/operations.md's reverse proxy, run: Caddy (Debian's package) ends TLS for a LAN name with
its own local CA and passes requests to README's uvicorn command on 127.0.0.1, which believes
its X-Forwarded-Proto (the proxy is on 127.0.0.1). The kiosk opened through it, in Chromium,
loads its scripts over https, gets the camera and checks a face in."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.pages.conftest import DESKTOP, Launch, new_key, watch, y4m_from_photo
from tests.pages.kiosk_results import record_kiosk_results, wait_for_result
from tests.pages.test_kiosk import RECOGNITION_WAIT_MS
from tests.pages.test_kiosk_https import LAN_NAME, open_kiosk, spki_hash
from tests.support.helpers import free_port, post_file

CADDY = shutil.which("caddy") or "/usr/bin/caddy"
# docs/operations.md's Caddyfile, with what a test needs besides: its own ports and folders,
# no admin endpoint, and the local CA left out of this machine's trust store.
CADDYFILE = """{{
    admin off
    skip_install_trust
    auto_https disable_redirects
    http_port {http_port}
    https_port {https_port}
    storage file_system {storage}
}}
{name}:{https_port} {{
    tls internal
    reverse_proxy 127.0.0.1:{upstream}
}}
"""


def _wait_for_tls(port: int, log: Path, caddy: subprocess.Popen[bytes]) -> None:
    """Until Caddy answers a TLS handshake for the LAN name (it issues its certificate first)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if caddy.poll() is not None:
            pytest.fail(f"caddy exited:\n{log.read_text()}")
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                context.wrap_socket(raw, server_hostname=LAN_NAME),
            ):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"caddy did not answer TLS within 120 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def proxy(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Caddy in front of the page tests' server: its https URL by the LAN name, and the
    intermediate certificate of Caddy's local CA (which signed the name's certificate)."""
    if not Path(CADDY).exists():
        pytest.fail("Caddy is missing: `apt-get install caddy` (.ci/caddy does it)")
    folder = tmp_path_factory.mktemp("caddy")
    https_port = free_port()
    (folder / "Caddyfile").write_text(
        CADDYFILE.format(
            http_port=free_port(),
            https_port=https_port,
            storage=folder / "storage",
            name=LAN_NAME,
            upstream=server.rsplit(":", 1)[1],
        )
    )
    log = folder / "caddy.log"
    with log.open("w") as output:
        caddy = subprocess.Popen(
            [CADDY, "run", "--config", str(folder / "Caddyfile"), "--adapter", "caddyfile"],
            cwd=folder,
            env={"HOME": str(folder), "PATH": "/usr/bin:/bin"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_tls(https_port, log, caddy)
            ca = folder / "storage" / "pki" / "authorities" / "local"
            yield f"https://{LAN_NAME}:{https_port}", ca / "intermediate.crt"
        finally:
            caddy.terminate()
            caddy.wait(timeout=30)


def test_the_kiosk_through_caddy_by_a_lan_name_gets_the_camera_and_checks_in(
    launch: Launch,
    proxy: tuple[str, Path],
    admin: httpx.Client,
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    lan_url, issuer = proxy
    created = admin.post("/api/v1/students", json={"external_id": "P-ROSE", "name": "Rose"})
    assert created.status_code == 201, created.text
    enrolled = post_file(
        admin,
        f"/api/v1/students/{created.json()['id']}/photo",
        faces_dir / "people/rose_leslie/rose1.jpg",
    )
    assert enrolled.status_code == 200, enrolled.text
    try:
        _check_in_through_caddy(launch, lan_url, issuer, admin, faces_dir, tmp_path, screenshots)
    finally:  # the session's server is shared: a second Rose would be another module's twin
        assert admin.delete(f"/api/v1/students/{created.json()['id']}").status_code == 204


def _check_in_through_caddy(
    launch: Launch,
    lan_url: str,
    issuer: Path,
    admin: httpx.Client,
    faces_dir: Path,
    tmp_path: Path,
    screenshots: Callable[[Page, str], None],
) -> None:
    camera = y4m_from_photo(faces_dir / "people/rose_leslie/rose2.jpg", tmp_path / "rose.y4m")
    browser = launch(
        camera,
        extra=[
            f"--host-resolver-rules=MAP {LAN_NAME} 127.0.0.1",
            # A tablet trusts Caddy's local CA; Chromium here accepts exactly that CA's chain.
            f"--ignore-certificate-errors-spki-list={spki_hash(issuer)}",
        ],
    )
    page = browser.new_page(viewport=DESKTOP)
    seen = watch(page, lan_url, strict_csp=False)
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.url.endswith(".js") else None)
    record_kiosk_results(page)
    open_kiosk(page, lan_url, new_key(admin, "kiosk"))

    assert page.evaluate("window.isSecureContext") is True
    wait_for_result(page, {"present"}, RECOGNITION_WAIT_MS, "Rose")
    # Linked over https by the name the browser used, from the proxy's forwarded headers.
    assert scripts and all(url.startswith(f"{lan_url}/") for url in scripts), scripts
    screenshots(page, "kiosk-through-caddy")
    seen.assert_clean()
