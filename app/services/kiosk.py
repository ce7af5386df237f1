"""Kiosks: pairing a tablet with a one-time code from the office, and the staff PIN that guards
leaving the kiosk's screen.

A pairing code is 8 letters and digits (31 symbols, none that read alike: about 40 bits), valid
for PAIRING_VALID and used once; it is kept hashed in the database so that every worker process
honours it. Guessing is bounded twice: per client address by the key-failure throttle (in each
worker's memory), and for the service as a whole in the database: every wrong code counts
against every live one, and a code that has seen MAX_FAILED_GUESSES wrong ones is void. A guesser
then has at most MAX_FAILED_GUESSES / 31^8 (about 1e-11) chance per code shown; the cost is that
an attack voids the codes on screen, and the office makes a new one.

The PIN is kept as a salted scrypt hash on the kiosk's key, on the server, not in the tablet: a
PIN has few possible values, and a hash in the page could be tried offline by anyone at the
tablet in a second. On the server every try is counted and MAX_PIN_FAILURES wrong ones in a row
lock the PIN for PIN_LOCK. It guards the kiosk's screen from a passing student; it cannot guard
a tablet in someone's hands (they may close the browser or clear its storage, which unpairs it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.errors import Conflict, Forbidden, TooManyRequests, Unprocessable
from app.core.roles import Role
from app.core.tables import ApiKey, KioskPairing, as_utc, utcnow
from app.services.keys import hash_key, new_key

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or typed
CODE_LENGTH = 8
PAIRING_VALID = dt.timedelta(minutes=5)
MAX_FAILED_GUESSES = 10
MAX_PIN_FAILURES = 5
PIN_LOCK = dt.timedelta(minutes=5)
# scrypt's cost: about 0.2 s a try on this shared 2-core machine: nothing for a person, slow for a
# bulk guess should the hash ever leave the database.
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def normalise_code(code: str) -> str:
    """The code as stored: upper case, without the dash or spaces people type."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def create_pairing(db: Session) -> tuple[KioskPairing, str]:
    """A new pairing code: the row, and the code itself shown as XXXX-XXXX (never stored)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = utcnow()
    row = KioskPairing(code_hash=_code_hash(raw), created_at=now, expires_at=now + PAIRING_VALID)
    db.add(row)
    db.commit()
    return row, f"{raw[:4]}-{raw[4:]}"


def redeem_pairing(db: Session, code: str, device_name: str, pin: str) -> tuple[ApiKey, str]:
    """The kiosk key a live code is exchanged for, named after the device, with its staff PIN;
    the code is used up in the same transaction. A wrong code counts against every live one."""
    now = utcnow()
    row = db.scalar(
        select(KioskPairing).where(KioskPairing.code_hash == _code_hash(code)).with_for_update()
    )
    if row is None or not (
        row.used_at is None
        and as_utc(row.expires_at) > now
        and row.failed_guesses < MAX_FAILED_GUESSES
    ):
        db.execute(
            update(KioskPairing)
            .where(KioskPairing.used_at.is_(None), KioskPairing.expires_at > now)
            .values(failed_guesses=KioskPairing.failed_guesses + 1)
            .execution_options(synchronize_session=False)
        )
        db.commit()
        raise Forbidden(
            "invalid_pairing_code",
            "This pairing code is wrong, used or expired: ask the office for a new one.",
        )
    row.used_at = now
    kiosk, key = new_key(device_name, Role.kiosk)  # one transaction with the code's use
    kiosk.pin_hash = hash_pin(pin)
    db.add(kiosk)
    db.flush()
    row.key_id = kiosk.id
    db.commit()
    return kiosk, key


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, **SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _pin_matches(pin: str, stored: str) -> bool:
    _, salt, digest = stored.split("$")
    tried = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), **SCRYPT)
    return hmac.compare_digest(tried, bytes.fromhex(digest))


def key_row(db: Session, key: str) -> ApiKey:
    """The kiosk key presented (the route admitted only kiosk keys: it exists)."""
    row = db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)).with_for_update())
    if row is None or row.role != Role.kiosk.value:
        raise Forbidden("kiosk_key_needed", "Only a kiosk's own key has a staff PIN.")
    return row


def set_pin(db: Session, key: str, pin: str) -> None:
    """Sets the PIN of a kiosk key that has none (a key made on the Keys tab, not paired)."""
    row = key_row(db, key)
    if row.pin_hash is not None:
        raise Conflict("pin_already_set", "This kiosk already has a staff PIN: enter it.")
    row.pin_hash = hash_pin(pin)
    db.commit()


def check_pin(db: Session, key: str, pin: str) -> None:
    """Returns if `pin` is the kiosk's staff PIN; refuses it (403), or a locked PIN (429)."""
    row = key_row(db, key)
    now = utcnow()
    if row.pin_locked_until is not None and as_utc(row.pin_locked_until) > now:
        wait = int((as_utc(row.pin_locked_until) - now).total_seconds()) + 1
        raise TooManyRequests(
            "pin_locked", f"Too many wrong PINs: try again in {wait} s.", retry_after=wait
        )
    if row.pin_hash is None:
        raise Unprocessable("no_pin", "This kiosk has no staff PIN yet: set one.")
    if _pin_matches(pin, row.pin_hash):
        row.pin_failures = 0
        db.commit()
        return
    row.pin_failures += 1
    if row.pin_failures >= MAX_PIN_FAILURES:
        row.pin_failures = 0
        row.pin_locked_until = now + PIN_LOCK
    db.commit()
    raise Forbidden("wrong_pin", "That is not this kiosk's staff PIN.")
