"""`rollcall ARGS` in this process: `app.cli.main`, as the console script calls it, in a
working directory and with no ROLLCALL_* setting but those given (never the developer's own).

For the tests of what a command prints and returns. A test about a process (serve, workers,
signals, what a fresh interpreter imports) runs `tests.support.helpers.run_rollcall` instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from app.cli import main
from app.core.config import get_settings


@dataclass(frozen=True)
class CliResult:
    """What `subprocess.run(..., capture_output=True, text=True)` would have given."""

    returncode: int
    stdout: str
    stderr: str


class RunCli(Protocol):
    def __call__(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> CliResult: ...


def _exit_status(exc: SystemExit) -> int:
    """The status the interpreter would exit with (argparse's errors: 2, --help: 0)."""
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


def run_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
) -> CliResult:
    with monkeypatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("ROLLCALL_")]:
            patch.delenv(name)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        patch.chdir(cwd)  # where the command's ./.env and ./data are
        environment = dict(os.environ)  # a command may set variables for its own run (serve)
        capsys.readouterr()  # what the test printed before is not the command's
        get_settings.cache_clear()  # the settings are read once per process: once per command
        try:
            status = main(list(args))
        except SystemExit as exc:
            status = _exit_status(exc)
        finally:
            get_settings.cache_clear()
            os.environ.clear()
            os.environ.update(environment)
        out, err = capsys.readouterr()
    return CliResult(status, out, err)
