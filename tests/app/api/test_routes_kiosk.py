"""Pairing a kiosk and its staff PIN, through the API on SQLite and PostgreSQL: a code is used
once, expires, and wrong ones void the live codes; the PIN is checked and locks after wrong
tries; only a kiosk's own key has one."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import update

from app.core.tables import KioskPairing
from app.services.kiosk import MAX_FAILED_GUESSES, MAX_PIN_FAILURES

PAIRINGS = "/api/v1/kiosk/pairings"
PAIR = "/api/v1/kiosk/pair"
NO_KEY = {"X-API-Key": ""}


def _pairing(client: TestClient) -> dict:
    created = client.post(PAIRINGS)
    assert created.status_code == 201, created.text
    return created.json()


def _pair(client: TestClient, code: str, name: str = "Front door", pin: str = "482913"):  # type: ignore[no-untyped-def]
    body = {"code": code, "device_name": name, "pin": pin}
    return client.post(PAIR, json=body, headers=NO_KEY)


def test_a_code_pairs_one_kiosk_once(client: TestClient) -> None:
    pairing = _pairing(client)
    code = pairing["code"]
    assert len(code) == 9 and code[4] == "-"
    assert pairing["kiosk_url"].endswith(f"/kiosk?pair={code}")
    assert pairing["qr_svg"].startswith("<svg")
    assert dt.datetime.fromisoformat(pairing["expires_at"]) > dt.datetime.now(dt.UTC)

    paired = _pair(client, code.lower().replace("-", " "))  # as a person may type it
    assert paired.status_code == 201, paired.text
    key = paired.json()
    assert (key["name"], key["role"]) == ("Front door", "kiosk")
    me = client.get("/api/v1/me", headers={"X-API-Key": key["key"]})
    assert me.json()["role"] == "kiosk"
    listed = {k["name"]: k for k in client.get("/api/v1/keys").json()}
    assert listed["Front door"]["role"] == "kiosk"

    again = _pair(client, code, name="Second tablet")
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "invalid_pairing_code"
    client.delete(f"/api/v1/keys/{key['id']}")  # revocable in Keys, like any key
    assert client.get("/api/v1/me", headers={"X-API-Key": key["key"]}).status_code == 401


def test_an_expired_code_is_refused(client: TestClient) -> None:
    code = _pairing(client)["code"]
    with client.app.state.context.db.session() as db:  # type: ignore[attr-defined]
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.execute(update(KioskPairing).values(expires_at=past))
        db.commit()
    assert _pair(client, code).status_code == 403


def test_wrong_codes_void_the_live_ones(client: TestClient) -> None:
    code = _pairing(client)["code"]
    for _ in range(MAX_FAILED_GUESSES):
        assert _pair(client, "ZZZZ-ZZZZ").status_code == 403
    refused = _pair(client, code)  # the right code, after the guesses: void
    assert refused.status_code == 403
    assert _pair(client, _pairing(client)["code"]).status_code == 201  # a new one works


def test_bad_pairing_bodies_are_refused(client: TestClient) -> None:
    code = _pairing(client)["code"]
    for pin in ("12", "12ab56", "1234567890123"):
        assert _pair(client, code, pin=pin).status_code == 422
    assert _pair(client, code, name=" ").status_code == 422
    assert _pair(client, code).status_code == 201  # the refusals did not use the code


def test_the_pin_unlocks_and_locks_after_wrong_tries(client: TestClient) -> None:
    key = _pair(client, _pairing(client)["code"], pin="482913").json()["key"]
    as_kiosk = {"X-API-Key": key}
    unlock = "/api/v1/kiosk/unlock"
    assert client.post(unlock, json={"pin": "482913"}, headers=as_kiosk).status_code == 204
    for _ in range(MAX_PIN_FAILURES):
        wrong = client.post(unlock, json={"pin": "000000"}, headers=as_kiosk)
        assert wrong.status_code == 403
        assert wrong.json()["error"]["code"] == "wrong_pin"
    locked = client.post(unlock, json={"pin": "482913"}, headers=as_kiosk)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    already = client.put("/api/v1/kiosk/pin", json={"pin": "111111"}, headers=as_kiosk)
    assert already.status_code == 409


def test_a_kiosk_key_from_the_keys_tab_sets_its_pin_once(client: TestClient) -> None:
    made = client.post("/api/v1/keys", json={"name": "typed", "role": "kiosk"}).json()
    as_kiosk = {"X-API-Key": made["key"]}
    unlock = client.post("/api/v1/kiosk/unlock", json={"pin": "1234"}, headers=as_kiosk)
    assert unlock.status_code == 422
    assert unlock.json()["error"]["code"] == "no_pin"
    assert (
        client.put("/api/v1/kiosk/pin", json={"pin": "1234"}, headers=as_kiosk).status_code == 204
    )
    assert (
        client.post("/api/v1/kiosk/unlock", json={"pin": "1234"}, headers=as_kiosk).status_code
        == 204
    )


def test_only_a_kiosk_key_has_a_pin(client: TestClient) -> None:
    viewer = client.post("/api/v1/keys", json={"name": "v", "role": "viewer"}).json()["key"]
    for key in (viewer, None):  # None: the client's admin key
        headers = {"X-API-Key": key} if key else {}
        answer = client.post("/api/v1/kiosk/unlock", json={"pin": "1234"}, headers=headers)
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "kiosk_key_needed"
    as_viewer = client.post(PAIRINGS, headers={"X-API-Key": viewer})
    assert as_viewer.status_code == 403  # only the office's admin makes codes
