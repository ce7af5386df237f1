"""`rollcall serve` behind a reverse proxy that ends TLS: the pages' links follow the proxy's
X-Forwarded-Proto (else a kiosk opened over https:// loads its scripts from http://, which the
browser blocks), believed only from the addresses --forwarded-allow-ips names."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.server import serving

SERVE = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
FROM_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"}


# `rollcall serve` behind a proxy.
pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def _script_link(url: str) -> str:
    page = httpx.get(f"{url}/kiosk", headers=FROM_PROXY, timeout=60)
    assert page.status_code == 200, page.text
    link = re.search(r'src="([^"]*/js/kiosk\.js)"', page.text)
    assert link is not None, page.text
    return link.group(1)


def test_a_proxy_on_this_machine_is_believed_by_default(tmp_path: Path) -> None:
    with serving(f"sqlite:///{tmp_path / 'rollcall.db'}", tmp_path / "server.log", SERVE) as url:
        assert _script_link(url).startswith("https://127.0.0.1:")


def test_headers_from_an_address_not_named_are_ignored(tmp_path: Path) -> None:
    serve = [*SERVE, "--forwarded-allow-ips", "192.0.2.1"]  # the proxy is elsewhere
    with serving(f"sqlite:///{tmp_path / 'rollcall.db'}", tmp_path / "server.log", serve) as url:
        assert _script_link(url).startswith("http://127.0.0.1:")
