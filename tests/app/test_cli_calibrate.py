"""`rollcall calibrate` cannot weaken the service by accident: it writes .env only with
--write, refuses a fixed threshold looser than the size-aware one for the students enrolled
(in the database the .env names) without --force, and warns when the pairs are too few.

Run in-process with the session's model (loading another would take most of the test's time),
on real photos and a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.cli import main
from app.services.calibration_facts import gallery_facts
from models import calibration
from models.embedder import FaceEmbedder
from tests.support.helpers import enroll_five

PHOTOS = {"barack_obama": ["obama.jpg", "obama2.jpg"], "joe_biden": ["biden.jpg"]}


@pytest.fixture
def dataset(faces_dir: Path, tmp_path: Path) -> Path:
    """Three real photos (linked, not copied): one genuine pair, two impostor pairs."""
    root = tmp_path / "people"
    for identity, files in PHOTOS.items():
        (root / identity).mkdir(parents=True)
        for file in files:
            (root / identity / file).symlink_to(faces_dir / "people" / identity / file)
    return root


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: FaceEmbedder) -> Path:
    """The operator's folder (its .env), with the session's model standing in for a load."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(calibration, "make_embedder", lambda args: embedder)
    for name in ("ROLLCALL_DATABASE_URL", "ROLLCALL_MAX_FPIR", "ROLLCALL_FAR_CURVE"):
        monkeypatch.delenv(name, raising=False)
    return work


def calibrate(
    dataset: Path, env: Path, capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, str, str]:
    status = main(["calibrate", str(dataset), "--env-file", str(env), *options])
    printed = capsys.readouterr()
    return status, printed.out, printed.err


def test_calibrate_says_what_it_would_write_and_writes_only_when_asked(
    dataset: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = workdir / ".env"
    env.write_text("ROLLCALL_DATABASE_URL=sqlite:///./none.db\nROLLCALL_THRESHOLD=0.3\n")
    status, out, _ = calibrate(dataset, env, capsys)
    assert status == 0
    assert "would set ROLLCALL_THRESHOLD=" in out and "(now 0.3); nothing written" in out
    assert "run again with --write" in out
    assert env.read_text() == "ROLLCALL_DATABASE_URL=sqlite:///./none.db\nROLLCALL_THRESHOLD=0.3\n"
    # Two impostor pairs measure no false-accept rate: said, as evaluate says it.
    assert "warning: only 2 impostor pairs" in out and "not a reliable estimate" in out
    assert not (workdir / "none.db").exists()  # counting students made no database

    status, out, _ = calibrate(dataset, env, capsys, "--write")
    assert status == 0, out
    written = env.read_text().splitlines()[1]
    assert written.startswith("ROLLCALL_THRESHOLD=") and written != "ROLLCALL_THRESHOLD=0.3"
    assert f"wrote {written}" in out


@pytest.mark.slow
def test_a_fixed_threshold_looser_than_the_size_aware_one_needs_force(
    dataset: Path,
    workdir: Path,
    client: TestClient,
    settings_url: str,
    faces_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    enroll_five(client, faces_dir)
    env = workdir / ".env"
    # A strict stranger target makes the size-aware threshold the curve's tightest point,
    # below any threshold that accepts Obama's own pair.
    lines = f"ROLLCALL_DATABASE_URL={settings_url}\nROLLCALL_MAX_FPIR=0.000001\n"
    env.write_text(lines)
    assert gallery_facts(env).students == 5
    assert gallery_facts(env).mirrored  # enrolled mirror-averaged (the session's model)

    status, _, err = calibrate(dataset, env, capsys, "--write")
    assert status == 1
    assert "refused: ROLLCALL_THRESHOLD=" in err
    assert "looser than the size-aware one the service uses now" in err
    assert "for the 5 students enrolled (ROLLCALL_MAX_FPIR=1e-06" in err
    assert "--force to write it anyway" in err
    assert env.read_text() == lines

    status, out, _ = calibrate(dataset, env, capsys)  # the preview says so too
    assert status == 0 and "note: --write would refuse it" in out
    status, out, _ = calibrate(dataset, env, capsys, "--write", "--force")
    assert status == 0, out
    assert "ROLLCALL_THRESHOLD=" in env.read_text()


def test_calibrate_refuses_to_write_for_embeddings_the_service_does_not_compare(
    dataset: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The session's model mirror-averages; a service set to plain embeddings would apply the
    written threshold to other distances."""
    env = workdir / ".env"
    lines = "ROLLCALL_DATABASE_URL=sqlite:///./none.db\nROLLCALL_FLIP_TTA=false\n"
    env.write_text(lines)
    assert not gallery_facts(env).mirrored
    status, _, err = calibrate(dataset, env, capsys, "--write")
    assert status == 2
    assert "compares embeddings with mirror averaging off" in err and "--no-flip-tta" in err
    assert env.read_text() == lines
    status, out, _ = calibrate(dataset, env, capsys)  # a preview says so and goes on
    assert status == 0 and "note: the service of" in out and "would set" in out


def test_calibrate_names_a_database_it_cannot_read(
    dataset: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = workdir / ".env"
    env.write_text("ROLLCALL_DATABASE_URL=nonsense\n")
    status, _, err = calibrate(dataset, env, capsys, "--write")
    assert status == 2
    assert "ROLLCALL_DATABASE_URL is not a database URL" in err
    assert env.read_text() == "ROLLCALL_DATABASE_URL=nonsense\n"


@pytest.fixture
def settings_url(settings) -> str:  # type: ignore[no-untyped-def]
    return settings.database_url
