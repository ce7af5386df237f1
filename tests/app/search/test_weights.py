"""`rollcall serve` refuses weights that would strand students, unless forced; `reembed` says
which weights it embeds for, and when the environment overrides the service's .env."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.support.cli import RunCli
from tests.support.helpers import (
    fine_tuned_weights,
    free_port,
    post_file,
    run_rollcall,
    running_server,
)
from tests.support.settings import ADMIN_KEY, make_settings

DLIB = "dlib_face_recognition_resnet_model_v1"
PRETRAINED = f"{DLIB}+flip"  # mirror-averaged: dlib-resnet's default


# `rollcall serve` refusing, then serving.
pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_serve_refuses_to_strand_students_unless_forced(tmp_path: Path, faces_dir: Path) -> None:
    tuned = fine_tuned_weights(tmp_path / "backbone.pt")
    database = tmp_path / "rollcall.db"
    (tmp_path / ".env").write_text(
        f"ROLLCALL_DATABASE_URL=sqlite:///{database}\nROLLCALL_ADMIN_KEY={ADMIN_KEY}\n"
    )
    # Rose is enrolled under the fine-tuned weights; her photo is not kept (the default).
    settings = make_settings(tmp_path, database_url=f"sqlite:///{database}", weights_path=tuned)
    with TestClient(create_app(settings), headers={"X-API-Key": ADMIN_KEY}) as client:
        rose = client.post("/api/v1/students", json={"external_id": "R7", "name": "Rose"}).json()
        photo = faces_dir / "people" / "rose_leslie" / "rose1.jpg"
        assert post_file(client, f"/api/v1/students/{rose['id']}/photo", photo).status_code == 200

    # The .env serves the pretrained weights: Rose could never be recognised again.
    refused = run_rollcall("serve", "--port", str(free_port()), cwd=tmp_path, timeout=300)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    assert f"Rollcall cannot start: refusing to serve weights {PRETRAINED}: 1 student(s)" in (
        refused.stderr
    )
    assert "(R7)" in refused.stderr and "rollcall serve --force" in refused.stderr

    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    argv = [sys.executable, "-m", "app.cli", "serve", "--port", port, "--force"]
    with running_server(argv, tmp_path, env, tmp_path / "forced.log") as url:
        health = httpx.get(f"{url}/health", headers={"X-API-Key": ADMIN_KEY}).json()
    assert health["weights_version"] == PRETRAINED and health["stale_templates"] == 1

    # Re-embedding with weights from the environment, not the .env the service reads.
    reembedded = run_rollcall(
        "reembed", cwd=tmp_path, env={"ROLLCALL_WEIGHTS_PATH": str(tuned)}, timeout=300
    )
    assert reembedded.returncode == 0, reembedded.stderr
    # the tuned weights' version (a digest of their values), mirror-averaged as by default
    assert re.search(rf"re-embedding for weights {DLIB}\+[0-9a-f]{{12}}\+flip ", reembedded.stderr)
    assert f"ROLLCALL_WEIGHTS_PATH={tuned}" in reembedded.stderr
    assert "note: ROLLCALL_WEIGHTS_PATH comes from the environment and differs from .env" in (
        reembedded.stderr
    )


def test_moving_a_plain_gallery_to_mirror_averaging_leaves_the_env_file_as_it_is(
    tmp_path: Path, faces_dir: Path, rollcall: RunCli
) -> None:
    """docs/operations.md, Upgrading: `ROLLCALL_FLIP_TTA=true rollcall reembed` over a gallery
    enrolled plain, .env leaving the setting unset: the service started from .env alone then
    serves the mirrored templates, so no note says it would serve other weights."""
    database = tmp_path / "rollcall.db"
    (tmp_path / ".env").write_text(
        f"ROLLCALL_DATABASE_URL=sqlite:///{database}\nROLLCALL_ADMIN_KEY={ADMIN_KEY}\n"
        "ROLLCALL_KEEP_PHOTOS=true\n"
    )
    url = f"sqlite:///{database}"
    plain = make_settings(tmp_path, database_url=url, keep_photos=True, flip_tta=False)
    with TestClient(create_app(plain), headers={"X-API-Key": ADMIN_KEY}) as client:
        rose = client.post("/api/v1/students", json={"external_id": "R7", "name": "Rose"}).json()
        photo = faces_dir / "people" / "rose_leslie" / "rose1.jpg"
        assert post_file(client, f"/api/v1/students/{rose['id']}/photo", photo).status_code == 200

    moved = rollcall("reembed", cwd=tmp_path, env={"ROLLCALL_FLIP_TTA": "true"})
    assert moved.returncode == 0, moved.stderr
    assert f"re-embedding for weights {PRETRAINED} " in moved.stderr
    assert "note: ROLLCALL_FLIP_TTA" not in moved.stderr
    unset = make_settings(tmp_path, database_url=url, keep_photos=True)  # as .env says
    with TestClient(create_app(unset), headers={"X-API-Key": ADMIN_KEY}) as client:
        health = client.get("/health").json()
    assert (health["weights_version"], health["stale_templates"]) == (PRETRAINED, 0)
