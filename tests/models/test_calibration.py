"""`models.calibration` and `rollcall calibrate`: the threshold rule, the .env line, and a run
on real photos."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from models import calibration
from models.calibration import choose_threshold, write_env_value, write_threshold
from models.embedder import FaceEmbedder


def test_calibration_puts_the_threshold_midway_in_the_gap() -> None:
    genuine = np.array([0.30, 0.41, 0.55])
    impostor = np.array([0.64, 0.70, 0.90])
    choice = choose_threshold(genuine, impostor, max_rate=0.0)
    assert choice.threshold == pytest.approx(0.595)  # (0.55 + 0.64) / 2, not 0.64 - epsilon
    assert (choice.lower, choice.upper) == (0.55, 0.64)
    assert choice.false_accepts == 0 and choice.accepted_positives == 3


def test_calibration_spends_false_accepts_only_for_genuine_accepts() -> None:
    genuine = np.array([0.3, 0.5, 0.75])
    impostor = np.array([0.45, 0.6, 0.8, 0.85, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4])
    # FAR 0: below 0.45, one genuine accepted.
    strict = choose_threshold(genuine, impostor, 0.0)
    assert strict.accepted_positives == 1 and strict.false_accepts == 0
    assert strict.threshold == pytest.approx(0.375)
    # FAR <= 0.2 allows 2 false accepts; both buy genuine accepts (0.5, then 0.75).
    loose = choose_threshold(genuine, impostor, 0.2)
    assert (loose.accepted_positives, loose.false_accepts) == (3, 2)
    assert loose.threshold == pytest.approx((0.75 + 0.8) / 2)
    # FAR <= 0.3 would allow 3, but a third buys nothing: the same threshold.
    assert choose_threshold(genuine, impostor, 0.3).threshold == loose.threshold


def test_env_file_line_is_replaced_and_other_lines_kept(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# settings\nROLLCALL_BACKBONE=dlib-resnet\nROLLCALL_THRESHOLD=0.7\nA=1\n")
    write_env_value(env, "ROLLCALL_THRESHOLD", "0.596")
    assert env.read_text() == (
        "# settings\nROLLCALL_BACKBONE=dlib-resnet\nROLLCALL_THRESHOLD=0.596\nA=1\n"
    )
    # The service reads keys case-insensitively: a lower-case line is ours to replace too.
    env.write_text("rollcall_threshold=0.7\nA=1\n# ROLLCALL_THRESHOLD=0.1\n")
    write_env_value(env, "ROLLCALL_THRESHOLD", "0.596")
    assert env.read_text() == "ROLLCALL_THRESHOLD=0.596\nA=1\n# ROLLCALL_THRESHOLD=0.1\n"
    fresh = tmp_path / "new.env"
    write_env_value(fresh, "ROLLCALL_THRESHOLD", "0.5")
    assert fresh.read_text() == "ROLLCALL_THRESHOLD=0.5\n"


def test_the_written_threshold_reads_back_exactly_inside_a_narrow_gap(tmp_path: Path) -> None:
    choice = choose_threshold(np.array([0.3, 0.5000001]), np.array([0.5000003, 0.9]), 0.0)
    assert choice.lower < choice.threshold < choice.upper  # 0.5000002: 7 decimals needed
    env = tmp_path / ".env"
    write_threshold(env, choice.threshold)
    key, value = env.read_text().strip().split("=")
    assert key == "ROLLCALL_THRESHOLD"
    assert float(value) == choice.threshold  # `:g` would have written 0.5, outside the gap


def test_cli_calibrate_writes_the_threshold_into_the_env_file(
    embedder: FaceEmbedder,
    small_dataset: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # calibrate_command looks make_embedder up in its own module: patch it there, and check
    # that the session's embedder is the one used (loading another model would be slow).
    loaded: list[object] = []
    monkeypatch.setattr(calibration, "make_embedder", lambda args: loaded.append(args) or embedder)
    results: list[calibration.Calibration] = []

    def spy(*args: object) -> calibration.Calibration:
        results.append(real_calibrate(*args))
        return results[-1]

    real_calibrate = calibration.calibrate
    monkeypatch.setattr(calibration, "calibrate", spy)
    env = workdir / ".env"
    env.write_text("ROLLCALL_DATABASE_URL=sqlite:///x.db\nROLLCALL_THRESHOLD=0.9\n")
    command = ["calibrate", str(small_dataset), "--env-file", str(env), "--write"]
    assert main([*command, "--ambiguity-margin", "0.05"]) == 0
    assert len(loaded) == 1
    [result] = results
    assert result.open_set is not None and result.open_set["ambiguity_margin"] == 0.05
    first, second = env.read_text().splitlines()
    assert first == "ROLLCALL_DATABASE_URL=sqlite:///x.db"
    key, value = second.split("=")
    assert key == "ROLLCALL_THRESHOLD"
    threshold = float(value)
    assert threshold == result.choice.threshold  # exactly the chosen value, not a rounding
    # One genuine pair (obama) and two impostor pairs: the threshold lies midway between them.
    printed = capsys.readouterr().out
    assert "false accepts 0/2" in printed and "rejected genuine 0/1" in printed
    assert "no face:    nobody/wall.png" in printed  # never silently dropped
    assert 0.3 < threshold < 0.9 and not math.isclose(threshold, 0.9)
