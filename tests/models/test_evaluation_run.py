"""`models.evaluation.run`: the whole evaluation on the real photos of ../shared/faces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.embedder import FaceEmbedder
from models.evaluation.reports import format_report
from models.evaluation.run import evaluate


def assert_real_plot(path: Path) -> None:
    assert path.stat().st_size > 20_000
    pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    assert min(pixels.shape) > 300
    assert pixels.std() > 10  # not a blank canvas


@pytest.mark.slow
def test_evaluate_shared_faces_is_perfect_with_the_default_backbone(
    embedder: FaceEmbedder,
    faces_dir: Path,
    tmp_path: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The service's settings do not reach the evaluation: only --threshold does.
    (workdir / ".env").write_text("ROLLCALL_THRESHOLD=0.1\n")
    monkeypatch.setenv("ROLLCALL_THRESHOLD", "0.2")
    out = tmp_path / "report"
    report = evaluate(embedder, faces_dir / "people", out, progress=False, ambiguity_margin=0.05)

    saved = json.loads((out / "report.json").read_text())
    v, o = saved["verification"], saved["open_set"]
    assert saved["threshold"] == embedder.spec.threshold
    assert saved["threshold_source"] == "dlib-resnet default"
    assert o["ambiguity_margin"] == 0.05
    assert saved["photos"]["embedded"] == saved["photos"]["total"] == 19
    assert saved["photos"]["no_face"] == [] and saved["photos"]["unreadable"] == []
    assert (v["genuine_pairs"], v["impostor_pairs"]) == (14, 157)
    assert v["accuracy"] == 1.0
    assert v["best_accuracy"] == 1.0
    assert v["roc_auc"] == 1.0
    assert v["eer"] == 0.0
    assert v["genuine_distances"]["max"] < v["threshold"] < v["impostor_distances"]["min"]
    assert [row["tar"] for row in v["tar_at_far"]] == [1.0, 1.0]
    assert o["known_checkins"] > 0 and o["stranger_checkins"] > 0
    assert o["correct"] == o["known_checkins"]
    assert o["wrong"] == o["rejected"] == o["accepted_strangers"] == 0
    assert o["known_checkins"] + o["stranger_checkins"] == 19 - len(o["enrolled"])
    assert report["verification"]["accuracy"] == v["accuracy"]
    for name in ("roc.png", "distances.png"):
        assert_real_plot(out / name)
    # The terminal table carries the same figures.
    table = format_report(report)
    assert "100.00%" in table and "157 impostor pairs" in table
