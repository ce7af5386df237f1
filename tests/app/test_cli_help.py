"""`rollcall --help` teaches: every command has a description, its defaults and examples."""

from __future__ import annotations

import pytest

from app.cli import build_parser, main
from models.cli import shorten

COMMANDS = [
    ["embed"],
    ["evaluate"],
    ["calibrate"],
    ["train"],
    ["serve"],
    ["db"],
    ["db", "upgrade"],
    ["db", "backup"],
    ["db", "restore"],
    ["tls"],
    ["tls", "make-cert"],
    ["purge"],
    ["students"],
    ["students", "delete"],
    ["keys"],
    ["keys", "create"],
    ["keys", "list"],
    ["keys", "revoke"],
    ["import"],
    ["export"],
    ["reembed"],
    ["courses"],
    ["courses", "list"],
    ["courses", "create"],
    ["courses", "roster"],
    ["courses", "delete"],
    ["timetable"],
    ["timetable", "import"],
]


def help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_explains_itself_with_an_example(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_of(command, capsys)
    description = text.split("\n\n")[1]
    assert len(description) > 40  # a sentence, not a repeat of the one-line summary
    examples = text.split("examples:\n")[1]
    assert f"rollcall {' '.join(command)}" in examples


def test_train_help_gives_its_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(help_of(["train"], capsys).split())
    for default in (
        "metric loss (default: triplet)",
        "(default: batch-hard)",
        "passes over the set (default: 10)",
        "identities per batch (default: 8)",
        "photos per identity in a batch (default: 4)",
        "Adam learning rate (default: 0.0001)",
    ):
        assert default in text


def test_import_and_export_help_give_columns_and_date_formats(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "external_id,name,photo" in help_of(["import"], capsys)
    export = help_of(["export"], capsys)
    assert "--from YYYY-MM-DD" in export and "--day 2026-11-23" in export


def test_version_and_a_group_alone(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.strip() == "rollcall 0.1.0"
    assert main(["keys"]) == 0
    assert "rollcall keys create --role" in capsys.readouterr().out


def test_a_bad_date_names_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["export", "--day", "23/11/2026"])
    assert exited.value.code == 2
    assert "'23/11/2026' is not a date YYYY-MM-DD" in capsys.readouterr().err


def test_long_paths_are_shortened_with_an_ellipsis() -> None:
    assert shorten("photos/ada.jpg", 40) == "photos/ada.jpg"
    cut = shorten("/very/long/folder/" * 5 + "ada.jpg", 20)
    assert len(cut) == 20 and cut == "…" + ("/very/long/folder/" * 5 + "ada.jpg")[-19:]
