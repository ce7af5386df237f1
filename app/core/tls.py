"""A self-signed certificate for a LAN name, for trying the kiosk over HTTPS.

A browser gives the camera only to a secure page (HTTPS, or localhost), so a tablet at the door
needs the service over HTTPS. For a trial, `rollcall tls make-cert --host school.lan` makes a
certificate that `rollcall serve --tls-cert/--tls-key` serves; each tablet then trusts it (or
its user accepts the browser's warning once). A school's lasting setup is a certificate from its
own CA or a reverse proxy (docs/operations.md).

The `openssl` command line makes it: it is on every machine the service runs on, where the
`cryptography` package would be one more dependency for a trial's convenience.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Apple's devices refuse certificates valid for more than 825 days; a year is a trial's length.
DEFAULT_DAYS = 365


class CertificateError(Exception):
    """The certificate cannot be made; the message says what to do."""


@dataclass(frozen=True)
class MadeCertificate:
    cert: Path
    key: Path
    names: list[str]


def subject_alt_names(hosts: list[str]) -> str:
    """openssl's subjectAltName for these host names and addresses (browsers match only these,
    never the common name)."""
    entries = []
    for host in hosts:
        try:
            entries.append(f"IP:{ipaddress.ip_address(host)}")
        except ValueError:
            if not host or any(c in host for c in ", /\\:"):
                raise CertificateError(f"{host!r} is not a host name or an IP address") from None
            entries.append(f"DNS:{host}")
    return ",".join(entries)


def make_certificate(
    hosts: list[str], folder: Path, days: int = DEFAULT_DAYS, overwrite: bool = False
) -> MadeCertificate:
    """A self-signed certificate for `hosts` (the first names the files) and its key, in
    `folder`; the key readable by its owner only."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise CertificateError("the `openssl` command is missing (apt-get install openssl)")
    alt_names = subject_alt_names(hosts)
    cert, key = folder / f"{hosts[0]}.crt", folder / f"{hosts[0]}.key"
    existing = [str(path) for path in (cert, key) if path.exists()]
    if existing and not overwrite:
        raise CertificateError(
            f"{' and '.join(existing)} already exist (--force replaces them; tablets that "
            "trust the old certificate must then trust the new one)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    # The key file made first, its owner's only, so the key is never readable by others even
    # for the moment between openssl writing it and a chmod.
    key.unlink(missing_ok=True)
    os.close(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    command = [
        openssl,
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",  # the service reads the key at start, unattended: no passphrase
        "-keyout",
        str(key),
        "-out",
        str(cert),
        "-days",
        str(days),
        "-subj",
        f"/CN={hosts[0]}",
        "-addext",
        f"subjectAltName={alt_names}",
        "-addext",
        "extendedKeyUsage=serverAuth",
    ]
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        key.unlink(missing_ok=True)
        raise CertificateError(f"openssl failed: {done.stderr.strip()}")
    return MadeCertificate(cert, key, alt_names.split(","))


def describe_certificate(cert: Path) -> str:
    """Its SHA-256 fingerprint and end date: what an operator compares on a tablet that is
    asked to trust it."""
    done = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256", "-enddate"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    return done.stdout.strip()
