"""A first start, as an operator sees it: ROLLCALL_CACHE_DIR is read from .env like every other
setting, and the slow part (exporting the model to ONNX, loading it) is said in the log rather
than left silent."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.support.helpers import free_port, running_server
from tests.support.settings import REPO

# A first `rollcall serve`.
pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_a_first_start_uses_the_env_files_cache_dir_and_says_what_it_loads(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text(
        "ROLLCALL_DATABASE_URL=sqlite:///./data/rollcall.db\nROLLCALL_CACHE_DIR=./cache\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    env = {**clean, "PYTHONPATH": str(REPO), "ROLLCALL_DEVICE": "cpu"}  # CPU: ONNX Runtime
    serve = [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())]
    with running_server(serve, tmp_path, env, tmp_path / "server.log"):
        manifests = list((tmp_path / "cache" / "onnx").glob("dlib-resnet-*/manifest.json"))
        assert len(manifests) == 1, list(tmp_path.rglob("*"))
    messages = [
        json.loads(line)["message"]
        for line in (tmp_path / "server.log").read_text().splitlines()
        if line.startswith("{")
    ]
    said = [i for i, m in enumerate(messages) if m.startswith("exporting dlib-resnet's networks")]
    loading = messages.index("loading the model (dlib-resnet)")
    [loaded] = [i for i, m in enumerate(messages) if m.startswith("model loaded in ")]
    assert said and loading < said[0] < loaded < messages.index("Application startup complete.")
    assert str(tmp_path / "cache" / "onnx") in messages[said[0]]
