"""`rollcall evaluate` and `rollcall calibrate`: metrics on hand-made distances, then the real
photos of ../shared/faces with the default backbone."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from models import calibration
from models.calibration import choose_threshold, write_env_value, write_threshold
from models.embedder import FaceEmbedder
from models.evaluation import cli as evaluation_cli
from models.evaluation.datasets import read_pairs_csv
from models.evaluation.metrics import roc_auc, verification_metrics
from models.evaluation.open_set import (
    OpenSetSplit,
    open_set_metrics,
    open_set_probes,
    open_set_split,
)
from models.evaluation.reports import format_report
from models.evaluation.run import evaluate
from models.identification import decide

# --------------------------------------------------------------------------- metrics by hand


def test_verification_metrics_on_hand_made_distances() -> None:
    distances = np.array([0.2, 0.4, 0.7, 0.5, 0.8, 0.9, 1.0])
    same = np.array([True, True, True, False, False, False, False])
    m = verification_metrics(distances, same, threshold=0.6)
    # At 0.6: genuine 0.2, 0.4 accepted, 0.7 rejected; impostor 0.5 accepted, rest rejected.
    assert (m["true_accepts"], m["false_rejects"]) == (2, 1)
    assert (m["false_accepts"], m["true_rejects"]) == (1, 3)
    assert m["accuracy"] == pytest.approx(5 / 7)
    # Best: between 0.4 and 0.5 (6/7: only genuine 0.7 wrong); placed midway at 0.45.
    assert m["best_accuracy"] == pytest.approx(6 / 7)
    assert m["best_threshold"] == pytest.approx(0.45)
    # AUC: of the 3 x 4 (genuine, impostor) pairs, only 0.7 > 0.5 is mis-ordered -> 11/12.
    assert m["roc_auc"] == pytest.approx(11 / 12)
    # Accepting <= 0.5: FAR 1/4 < FRR 1/3; accepting <= 0.7: FAR 1/4 >= FRR 0. Between these
    # points FAR stays 1/4 while FRR falls from 1/3 to 0: they meet at 1/4.
    assert m["eer"] == pytest.approx(0.25)
    far_1e2 = m["tar_at_far"][0]
    assert far_1e2["far_target"] == 0.01
    assert far_1e2["tar"] == pytest.approx(2 / 3)  # FAR 0 allows accepting up to 0.4
    assert far_1e2["impostor_pairs"] == 4
    assert far_1e2["false_accepts_allowed"] == 0
    assert far_1e2["reliable"] is False
    assert m["genuine_distances"]["max"] == pytest.approx(0.7)
    assert m["impostor_distances"]["min"] == pytest.approx(0.5)


def test_a_distance_equal_to_the_threshold_is_rejected_as_the_service_does() -> None:
    m = verification_metrics(np.array([0.6, 0.3, 0.9]), np.array([True, True, False]), 0.6)
    assert m["true_accepts"] == 1


def test_the_tar_at_far_distance_is_a_threshold_under_the_services_strict_rule() -> None:
    genuine, impostor = np.array([0.2, 0.4]), np.array([0.5, 0.9])
    distances, same = np.concatenate([genuine, impostor]), np.array([1, 1, 0, 0], bool)
    [row, _] = verification_metrics(distances, same, threshold=0.6)["tar_at_far"]
    assert row["tar"] == 1.0
    # Used as the service's threshold (accept when distance < threshold) it gives that TAR.
    assert np.mean(genuine < row["distance"]) == row["tar"]
    assert np.mean(impostor < row["distance"]) <= row["far_target"]


def test_auc_counts_ties_as_half() -> None:
    assert roc_auc(np.array([0.5]), np.array([0.5])) == pytest.approx(0.5)
    assert roc_auc(np.array([0.1, 0.5]), np.array([0.5, 0.9])) == pytest.approx((2 + 1.5) / 4)


def test_perfect_separation_gives_zero_eer_and_full_tar() -> None:
    m = verification_metrics(np.array([0.1, 0.2, 0.8, 0.9]), np.array([1, 1, 0, 0], bool), 0.5)
    assert (m["accuracy"], m["best_accuracy"], m["roc_auc"], m["eer"]) == (1.0, 1.0, 1.0, 0.0)
    assert all(row["tar"] == 1.0 for row in m["tar_at_far"])


def test_open_set_split_enrolls_one_photo_of_some_multi_photo_identities() -> None:
    labels = ["a", "a", "a", "b", "b", "c", "c", "d", "d", "e", "f"]
    split = open_set_split(labels, seed=3)
    assert split == open_set_split(labels, seed=3)  # deterministic
    assert {"e", "f"} <= set(split.strangers)  # singletons can only be strangers
    assert len(split.enrolled) == 2  # 4 candidates, 40% (rounded) held out
    assert set(split.enrolled) | set(split.strangers) == set(labels)
    for name, index in split.enrolled.items():
        assert labels[index] == name
    splits = {tuple(sorted(open_set_split(labels, seed=s).enrolled)) for s in range(20)}
    assert len(splits) > 1  # the seed matters


def test_the_decision_rule_at_its_edges() -> None:
    assert decide(0.5, 0.9, threshold=0.6, margin=0.25) == "present"
    assert decide(0.6, 0.9, threshold=0.6, margin=0.25) == "unknown"  # at the threshold: no
    assert decide(math.inf, math.inf, threshold=0.6, margin=0.25) == "unknown"  # empty gallery
    assert decide(0.5, 0.74, threshold=0.6, margin=0.25) == "ambiguous"
    assert decide(0.5, 0.75, threshold=0.6, margin=0.25) == "present"  # exactly the margin apart
    assert decide(0.5, math.inf, threshold=0.6, margin=0.25) == "present"  # a single student


def test_open_set_outcomes_follow_the_service_decision() -> None:
    labels = ["ann", "ann", "bob", "bob", "cat", "dan"]
    # Gallery: ann = photo 0, bob = photo 2. Distances from each photo to photos 0 and 2:
    to_gallery = {
        1: (0.30, 0.90),  # ann: correct
        3: (0.55, 0.58),  # bob: nearest ann at 0.55, runner-up 0.03 behind -> ambiguous
        4: (0.20, 0.95),  # cat (stranger): accepted as ann
        5: (0.80, 0.70),  # dan (stranger): rejected
    }
    distances = np.full((6, 6), 9.0)
    for index, (d_ann, d_bob) in to_gallery.items():
        distances[index, 0], distances[index, 2] = d_ann, d_bob
    split = OpenSetSplit(enrolled={"ann": 0, "bob": 2}, strangers=["cat", "dan"])
    probes = open_set_probes(distances, labels, split)
    result = open_set_metrics(probes, threshold=0.6, ambiguity_margin=0.04)
    assert (result["correct"], result["wrong"], result["rejected"]) == (1, 0, 1)
    assert (result["accepted_strangers"], result["rejected_strangers"]) == (1, 1)
    assert result["ambiguous"] == 1
    # Without the ambiguity rule bob's photo would be checked in as ann: a wrong person.
    assert open_set_metrics(probes, 0.6, ambiguity_margin=0.0)["wrong"] == 1


def test_pairs_csv_accepts_yes_no_and_1_0_with_a_header(tmp_path: Path) -> None:
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text("file_a,file_b,same\na.jpg,b.jpg,yes\na.jpg,c.jpg,0\nb.jpg, c.jpg ,No\n")
    pairs = read_pairs_csv(csv_file)
    assert [(p.file_a, p.file_b, p.same) for p in pairs] == [
        ("a.jpg", "b.jpg", True),
        ("a.jpg", "c.jpg", False),
        ("b.jpg", "c.jpg", False),
    ]
    csv_file.write_text("a.jpg,b.jpg,1\na.jpg,c.jpg,maybe\n")
    with pytest.raises(ValueError, match="maybe"):
        read_pairs_csv(csv_file)


# --------------------------------------------------------------------------- calibration rule


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


# --------------------------------------------------------------------------- real photos


def assert_real_plot(path: Path) -> None:
    assert path.stat().st_size > 20_000
    pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    assert min(pixels.shape) > 300
    assert pixels.std() > 10  # not a blank canvas


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch working directory: nothing is read from or written to the developer's."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


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


@pytest.fixture
def small_dataset(faces_dir: Path, tmp_path: Path) -> Path:
    """A few real photos (linked, not copied), a photo without a face and a corrupt file."""
    root = tmp_path / "small"
    for identity, files in {"obama": ["obama.jpg", "obama2.jpg"], "biden": ["biden.jpg"]}.items():
        (root / identity).mkdir(parents=True)
        folder = "barack_obama" if identity == "obama" else "joe_biden"
        for file in files:
            (root / identity / file).symlink_to(faces_dir / "people" / folder / file)
    (root / "nobody").mkdir()
    Image.new("RGB", (200, 200), (120, 160, 200)).save(root / "nobody" / "wall.png")
    (root / "nobody" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


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
    command = ["calibrate", str(small_dataset), "--env-file", str(env)]
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
