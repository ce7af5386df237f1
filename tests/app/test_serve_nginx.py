"""docs/operations.md's nginx lines, run: Debian's nginx ends TLS (a certificate from `rollcall
tls make-cert`) in front of `rollcall serve` on 127.0.0.1, which believes its forwarded headers
(the proxy is on 127.0.0.1) and no one else's. Clients reach nginx from their own loopback
addresses (127.0.0.2, 127.0.0.3), as tablets from theirs: the service must see those."""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.helpers import free_port, run_rollcall
from tests.support.server import serving
from tests.support.settings import ADMIN_KEY

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
LAN_NAME = "school.test"  # .test: reserved, never a real name (RFC 2606)
SERVE = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
DOCS = Path(__file__).parents[2] / "docs" / "operations.md"
TABLET, OTHER_TABLET = "127.0.0.2", "127.0.0.3"
MAX_KEY_FAILURES = 3

# `rollcall serve` and nginx, processes.
pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def documented_nginx_lines(upstream: int) -> str:
    """The nginx block of docs/operations.md, its upstream port made the test server's."""
    text = DOCS.read_text()
    found = re.search(r"nginx \(Debian.*?\n```\n(.*?)```", text, re.S)
    assert found is not None, "docs/operations.md has no nginx block"
    return found.group(1).replace("127.0.0.1:8000", f"127.0.0.1:{upstream}")


def nginx_conf(folder: Path, port: int, upstream: int, cert: Path, key: Path) -> str:
    # What a test needs besides the documented lines: its own port, folders and pid file;
    # as root, workers of root's (the package's www-data cannot read the test's folders).
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""{user}
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        listen {TABLET}:{port} ssl;
        listen {OTHER_TABLET}:{port} ssl;
        server_name {LAN_NAME};
        ssl_certificate {cert};
        ssl_certificate_key {key};
{documented_nginx_lines(upstream)}
    }}
}}
"""


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """nginx in front of `rollcall serve`: the https URL by the LAN name, the service's own
    URL, and the certificate nginx presents."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: `apt-get install nginx` (.ci/nginx does it)")
    folder = tmp_path_factory.mktemp("nginx")
    made = run_rollcall("tls", "make-cert", "--host", LAN_NAME, "--out", "tls", cwd=folder)
    assert made.returncode == 0, made.stderr
    cert, key = folder / "tls" / f"{LAN_NAME}.crt", folder / "tls" / f"{LAN_NAME}.key"
    settings = {"max_key_failures": str(MAX_KEY_FAILURES)}
    with serving(
        f"sqlite:///{folder / 'rollcall.db'}", folder / "server.log", SERVE, **settings
    ) as url:
        port = free_port()
        conf = folder / "nginx.conf"
        conf.write_text(nginx_conf(folder, port, int(url.rsplit(":", 1)[1]), cert, key))
        log = folder / "nginx.out"
        with log.open("w") as output:
            nginx = subprocess.Popen(
                [NGINX, "-c", str(conf), "-p", str(folder)], stdout=output, stderr=subprocess.STDOUT
            )
        try:
            _wait_for_nginx(port, cert, nginx, folder)
            yield f"https://{LAN_NAME}:{port}", url, cert
        finally:
            nginx.terminate()
            nginx.wait(timeout=30)


def _ask_for_the_lan_name(request: httpx.Request) -> None:
    request.extensions["sni_hostname"] = LAN_NAME


def _client(port_url: str, cert: Path, source: str) -> httpx.Client:
    """A client of nginx from the loopback address `source`, asking for the LAN name (sent as
    SNI and checked against the certificate, which it trusts alone)."""
    port = port_url.rsplit(":", 1)[1]
    transport = httpx.HTTPTransport(
        verify=ssl.create_default_context(cafile=cert), local_address=source
    )
    return httpx.Client(
        base_url=f"https://127.0.0.1:{port}",
        transport=transport,
        headers={"Host": f"{LAN_NAME}:{port}"},
        event_hooks={"request": [_ask_for_the_lan_name]},
        timeout=120,
    )


def _wait_for_nginx(port: int, cert: Path, nginx: subprocess.Popen[bytes], folder: Path) -> None:
    """Until nginx answers /health through TLS, from the service behind it."""
    deadline = time.monotonic() + 120
    with _client(f"x:{port}", cert, "127.0.0.1") as client:
        while time.monotonic() < deadline:
            if nginx.poll() is not None:
                pytest.fail(f"nginx exited:\n{(folder / 'nginx.out').read_text()}")
            try:
                if client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    pytest.fail(f"nginx did not answer within 120 s:\n{(folder / 'error.log').read_text()}")


def test_pages_link_over_https_by_the_name_and_port_asked_for(
    proxied: tuple[str, str, Path], faces_dir: Path
) -> None:
    lan_url, _, cert = proxied
    with _client(lan_url, cert, TABLET) as tablet:
        page = tablet.get("/kiosk")
        assert page.status_code == 200, page.text
        link = re.search(r'src="([^"]*/js/kiosk\.js)"', page.text)
        assert link is not None and link.group(1).startswith(f"{lan_url}/"), page.text
        checkin = tablet.post(
            "/api/v1/checkins",
            files={
                "file": ("rose1.jpg", (faces_dir / "people/rose_leslie/rose1.jpg").read_bytes())
            },
            headers={"X-API-Key": ADMIN_KEY},
        )
        assert checkin.status_code == 200, checkin.text
        assert [face["decision"] for face in checkin.json()["faces"]] == ["unknown"]


def test_the_service_tells_clients_apart_by_their_own_addresses(
    proxied: tuple[str, str, Path],
) -> None:
    lan_url, _, cert = proxied
    spoofed = {"X-API-Key": "rc_wrong", "X-Forwarded-For": "203.0.113.9"}
    with _client(lan_url, cert, TABLET) as tablet, _client(lan_url, cert, OTHER_TABLET) as other:
        answers = [tablet.get("/api/v1/me", headers=spoofed).status_code for _ in range(4)]
        # Throttled as 127.0.0.2, not as the address it claimed nor as nginx's 127.0.0.1.
        assert answers == [401] * MAX_KEY_FAILURES + [429]
        assert other.get("/api/v1/me", headers={"X-API-Key": ADMIN_KEY}).status_code == 200
        assert other.get("/api/v1/me", headers={"X-API-Key": "rc_wrong"}).status_code == 401


def test_forwarded_headers_from_anyone_but_the_proxy_are_ignored(
    proxied: tuple[str, str, Path],
) -> None:
    _, service_url, _ = proxied
    transport = httpx.HTTPTransport(local_address=OTHER_TABLET)  # not the proxy's 127.0.0.1
    with httpx.Client(transport=transport, timeout=120) as direct:
        page = direct.get(f"{service_url}/kiosk", headers={"X-Forwarded-Proto": "https"})
    link = re.search(r'src="([^"]*/js/kiosk\.js)"', page.text)
    assert link is not None and link.group(1).startswith("http://127.0.0.1:"), page.text
