"""`rollcall tls make-cert` (in this process) and `rollcall serve --tls-cert/--tls-key` (run as
an operator runs it); the kiosk over HTTPS in Chromium: tests/pages/test_kiosk_https.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cli import RunCli
from tests.support.helpers import run_rollcall


def _text(cert: Path) -> str:
    return subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_make_cert_names_every_host_and_never_replaces_one_unasked(
    rollcall: RunCli, tmp_path: Path
) -> None:
    made = rollcall(
        "tls", "make-cert", "--host", "school.lan", "--host", "192.168.1.20", cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    cert, key = tmp_path / "tls/school.lan.crt", tmp_path / "tls/school.lan.key"
    assert "DNS:school.lan, IP Address:192.168.1.20" in _text(cert)
    assert key.stat().st_mode & 0o777 == 0o600
    assert "https://school.lan:8000/kiosk" in made.stdout

    before = cert.read_bytes()
    again = rollcall("tls", "make-cert", "--host", "school.lan", cwd=tmp_path)
    assert again.returncode == 1
    assert "already exist (--force replaces them" in again.stderr
    assert cert.read_bytes() == before
    forced = rollcall("tls", "make-cert", "--host", "school.lan", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert cert.read_bytes() != before


def test_make_cert_refuses_what_is_no_host_name(rollcall: RunCli, tmp_path: Path) -> None:
    made = rollcall("tls", "make-cert", "--host", "school lan", cwd=tmp_path)
    assert made.returncode == 1
    assert "'school lan' is not a host name or an IP address" in made.stderr
    assert not (tmp_path / "tls").exists()


@pytest.mark.subprocess  # serve: were the check to fail, it would start serving
def test_serve_refuses_half_a_tls_setup_naming_what_is_missing(tmp_path: Path) -> None:
    only_cert = run_rollcall("serve", "--tls-cert", "a.crt", cwd=tmp_path, timeout=120)
    assert only_cert.returncode == 2
    assert "--tls-cert needs --tls-key too" in only_cert.stderr
    missing = run_rollcall(
        "serve", "--tls-cert", "no.crt", "--tls-key", "no.key", cwd=tmp_path, timeout=120
    )
    assert missing.returncode == 2
    assert "--tls-cert no.crt: no such file" in missing.stderr
    assert "rollcall tls make-cert" in missing.stderr
