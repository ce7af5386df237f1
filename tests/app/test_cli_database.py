"""The CLI says which database it works on, never makes one by accident, and reports bad
settings in one line; the commands that load no model import no torch.

The commands run in this process (`rollcall` fixture), but for `serve` and what a fresh
interpreter imports, which are about a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.core.config import Settings
from models.identification import DEFAULT_AMBIGUITY_MARGIN, DEFAULT_MAX_FPIR
from tests.support.cli import CliResult, RunCli
from tests.support.helpers import free_port, run_rollcall
from tests.support.postgres import postgres_server_url

DEFAULT_DATABASE = "database: sqlite:///./data/rollcall.db"


def one_line_error(result: CliResult | subprocess.CompletedProcess[str]) -> str:
    """The command failed with exit 2 and one line of explanation (no traceback)."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("rollcall: ")]
    return line


@pytest.mark.parametrize(
    "command",
    [
        ("keys", "create", "--role", "admin", "--name", "ops"),
        ("keys", "list"),
        ("keys", "revoke", "1"),
        ("export",),
        ("reembed",),
    ],
)
def test_commands_refuse_a_missing_sqlite_database(
    rollcall: RunCli, tmp_path: Path, command: tuple[str]
) -> None:
    result = rollcall(*command, cwd=tmp_path)
    assert DEFAULT_DATABASE in result.stderr  # which database, on stderr
    line = one_line_error(result)
    assert f"no database at {tmp_path / 'data' / 'rollcall.db'}" in line
    assert "ROLLCALL_DATABASE_URL" in line and "rollcall db upgrade" in line
    assert not (tmp_path / "data").exists()  # nothing was made


def test_db_upgrade_makes_the_database_then_commands_use_it(
    rollcall: RunCli, tmp_path: Path
) -> None:
    made = rollcall("db", "upgrade", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert DEFAULT_DATABASE in made.stderr
    assert (tmp_path / "data" / "rollcall.db").is_file()
    created = rollcall("keys", "create", "--role", "kiosk", "--name", "desk", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stderr.strip() == DEFAULT_DATABASE
    assert created.stdout.splitlines()[-1].startswith("rc_")

    # A .env in the working directory names another database: the commands say so.
    other = tmp_path / "elsewhere.db"
    (tmp_path / ".env").write_text(f"ROLLCALL_DATABASE_URL=sqlite:///{other}\n")
    listed = rollcall("keys", "list", cwd=tmp_path)
    assert f"database: sqlite:///{other}" in listed.stderr
    assert f"no database at {other}" in one_line_error(listed)


def test_a_database_behind_the_schema_is_not_migrated_by_other_commands(
    rollcall: RunCli, tmp_path: Path
) -> None:
    assert rollcall("db", "upgrade", "0002", cwd=tmp_path).returncode == 0
    line = one_line_error(rollcall("keys", "list", cwd=tmp_path))
    assert "schema revision 0002" in line and "run `rollcall db upgrade`" in line
    assert rollcall("db", "upgrade", cwd=tmp_path).returncode == 0
    assert rollcall("keys", "list", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ROLLCALL_ADMIN_KEY", "short", "ROLLCALL_ADMIN_KEY: must be at least 16 characters"),
        (
            "ROLLCALL_TIMEZONE",
            "Mars/Olympus",
            "ROLLCALL_TIMEZONE: unknown time zone 'Mars/Olympus'",
        ),
        ("ROLLCALL_MAX_UPLOAD_BYTES", "lots", "ROLLCALL_MAX_UPLOAD_BYTES: Input should be"),
        ("ROLLCALL_DATABASE_URL", "not a url", "ROLLCALL_DATABASE_URL is not a database URL"),
        (
            "ROLLCALL_DATABASE_URL",
            "mysql://u:secret@localhost/db",
            "runs on SQLite or PostgreSQL only (its migrations are tested on those), e.g.",
        ),
        (
            "ROLLCALL_DATABASE_URL",
            "postgresql+pg8000://u:secret@localhost/db",
            "its driver is not installed (pg8000); use postgresql+psycopg://",
        ),
    ],
)
def test_an_invalid_setting_is_one_line_naming_it(
    rollcall: RunCli, tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    line = one_line_error(rollcall("keys", "list", cwd=tmp_path, env={variable: value}))
    assert expected in line
    if variable == "ROLLCALL_ADMIN_KEY":
        assert "'short'" not in line  # a key (even a bad one) is never echoed


@pytest.mark.postgres
def test_a_wrong_postgresql_password_is_one_line_without_the_password(
    rollcall: RunCli, tmp_path: Path
) -> None:
    server = postgres_server_url()
    wrong = server.set(password="not-the-password").render_as_string(hide_password=False)
    line = one_line_error(
        rollcall("keys", "list", cwd=tmp_path, env={"ROLLCALL_DATABASE_URL": wrong})
    )
    assert "cannot connect to the database" in line and "(ROLLCALL_DATABASE_URL)" in line
    assert "password authentication failed" in line
    assert "not-the-password" not in line
    assert make_url(wrong).render_as_string(hide_password=True) in line


@pytest.mark.postgres
@pytest.mark.subprocess
def test_serve_with_a_wrong_password_exits_with_one_line(tmp_path: Path) -> None:
    server = postgres_server_url()
    wrong = server.set(password="not-the-password").render_as_string(hide_password=False)
    result = run_rollcall(
        "serve",
        "--port",
        str(free_port()),
        cwd=tmp_path,
        env={"ROLLCALL_DATABASE_URL": wrong},
        timeout=300,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Rollcall cannot start: cannot connect to the database" in result.stderr
    assert "password authentication failed" in result.stderr
    assert "not-the-password" not in result.stderr


@pytest.mark.subprocess
@pytest.mark.slow
def test_commands_without_a_model_import_no_torch(rollcall: RunCli, tmp_path: Path) -> None:
    assert rollcall("db", "upgrade", cwd=tmp_path).returncode == 0
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        "for argv in (['keys', 'list'], ['export'], ['keys', 'create', '--role', 'viewer', "
        "'--name', 'v']):\n"
        "    assert main(argv) == 0, argv\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'facenet_pytorch', 'cv2', 'matplotlib'))\n"
        "print('heavy:', heavy)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "heavy: []" in result.stdout


@pytest.mark.subprocess
def test_help_imports_no_torch() -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from app.cli import main\n"
        "for argv in (['--help'], ['train', '--help'], ['keys']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        main(argv)\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_settings_default_margin_and_max_fpir_are_the_models() -> None:
    # app.core.config does not import models (torch); its defaults must still be the same numbers.
    settings = Settings(_env_file=None)
    assert settings.ambiguity_margin == DEFAULT_AMBIGUITY_MARGIN
    assert settings.max_fpir == DEFAULT_MAX_FPIR
