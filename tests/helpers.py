"""Small helpers shared by the service tests."""

from __future__ import annotations

import json
import logging
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from app.observability import JsonFormatter

Client = TestClient | httpx.Client

# One reference photo each for the enrolled five; every other photo of them must check in.
ENROLLED = {
    "barack_obama": "obama.jpg",
    "joe_biden": "biden.jpg",
    "kit_harington": "kit1.jpg",
    "rose_leslie": "rose1.jpg",
    "alex_lacamoire": "alex1.png",
}
STRANGERS = ["angelina_jolie", "kate_siegel", "paul_rudd", "shea_whigham", "lin_manuel_miranda"]


def post_file(client: Client, url: str, path: Path, **form: Any) -> httpx.Response:
    with path.open("rb") as handle:
        return client.post(url, files={"file": (path.name, handle)}, data=form)


def post_bytes(client: Client, url: str, name: str, data: bytes) -> httpx.Response:
    return client.post(url, files={"file": (name, data)})


def enroll_five(client: Client, faces_dir: Path) -> dict[str, int]:
    """Create and enroll the five students; identity -> student id."""
    ids = {}
    for identity, photo in ENROLLED.items():
        created = client.post(
            "/api/v1/students", json={"external_id": identity, "name": identity.replace("_", " ")}
        )
        assert created.status_code == 201, created.text
        ids[identity] = created.json()["id"]
        enrolled = post_file(
            client,
            f"/api/v1/students/{ids[identity]}/photo",
            faces_dir / "people" / identity / photo,
        )
        assert enrolled.status_code == 200, enrolled.text
        assert enrolled.json()["warnings"] == []
    return ids


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk (length, type, data, CRC): for writing PNGs no encoder would make."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


class CollectLogs(logging.Handler):
    """The log lines a logger writes, as the JSON objects the service prints."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(JsonFormatter().format(record)))
