"""`rollcall evaluate` (`models.evaluation.cli`): a pairs file with unusable photos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from models.embedder import FaceEmbedder
from models.evaluation import cli as evaluation_cli


@pytest.mark.slow
def test_cli_evaluate_with_pairs_lists_photos_without_a_face(
    embedder: FaceEmbedder,
    small_dataset: Path,
    tmp_path: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(evaluation_cli, "make_embedder", lambda args: embedder)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "file_a,file_b,same\n"
        "obama/obama.jpg,obama/obama2.jpg,yes\n"
        "obama/obama.jpg,biden/biden.jpg,no\n"
        "obama/obama2.jpg,biden/biden.jpg,0\n"
        "obama/obama.jpg,nobody/wall.png,0\n"
        "nobody/broken.jpg,biden/biden.jpg,0\n"
    )
    out = tmp_path / "out"
    command = ["evaluate", str(small_dataset), "--pairs", str(pairs), "--out", str(out)]
    assert main([*command, "--threshold", "0.59"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert (report["threshold"], report["threshold_source"]) == (0.59, "--threshold")
    assert report["photos"]["no_face"] == ["nobody/wall.png"]
    assert [e["path"] for e in report["photos"]["unreadable"]] == ["nobody/broken.jpg"]
    v = report["verification"]
    assert (v["genuine_pairs"], v["impostor_pairs"]) == (1, 2)  # 2 pairs could not be scored
    assert len(v["unscored_pairs"]) == 2
    assert v["accuracy"] == 1.0
    assert report["open_set"] is None  # labels of a pairs file say nothing about identities
    printed = capsys.readouterr().out
    assert "no face:    nobody/wall.png" in printed
    assert "unreadable: nobody/broken.jpg" in printed
    assert "threshold 0.5900 (--threshold)" in printed
