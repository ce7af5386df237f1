"""`app.core.config` and Alembic's migrations import no model code: no torch, no `models` package.

Settings are read by every command, and migrations run before a model is needed (`rollcall db
upgrade`, a container's start-up): loading torch there would cost seconds for nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.settings import REPO

HEAVY = ("torch", "torchvision", "facenet_pytorch", "dlib", "models")


# What a fresh interpreter imports.
pytestmark = [pytest.mark.subprocess]


def imported_heavy_modules(code: str, cwd: Path) -> list[str]:
    """Run `code` in a fresh interpreter; the heavy top-level packages it left imported."""
    probe = (
        "import json, sys\n"
        f"{code}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    root = REPO
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_settings_import_no_model_code(tmp_path: Path) -> None:
    code = "from app.core.config import get_settings\nprint(get_settings().backbone)"
    assert imported_heavy_modules(code, tmp_path) == []


@pytest.mark.slow
def test_migrations_import_no_model_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rollcall.db'}"
    code = f"from app.core.migrate import upgrade\nupgrade({url!r}, 'head')"
    assert imported_heavy_modules(code, tmp_path) == []
    assert (tmp_path / "rollcall.db").stat().st_size > 0  # the migrations did run
