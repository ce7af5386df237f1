"""The serving networks as .onnx files, exported once from the same weights and cached.

The service runs every network of a check-in (MTCNN's P-Net, R-Net and O-Net, and the
backbone) on ONNX Runtime from these files, so that it never imports torch (torch
and torchvision cost ~670 MB of each worker's memory). Exporting needs torch: it runs in a
child process (`python -m models.onnx_export`), whose memory goes when it ends.

The files live in a directory named by what makes them: the backbone and its pretrained
version, the weights file's sha256, flip TTA, and the versions of the packages that hold the
weights (facenet-pytorch ships MTCNN's) or export them (torch). The embeddings' weights
version (a digest of the weight values, which needs torch to read) is written by the export
into `manifest.json`. A directory is made whole beside its final name and renamed into place,
so a reader, or a second worker exporting at the same time, never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np
import onnxruntime

from models.files import cache_directory, file_sha256

log = logging.getLogger(__name__)

FORMAT = 2  # bump when the files or the manifest change meaning: older directories are unused
MANIFEST = "manifest.json"
NETWORKS = ("pnet", "rnet", "onet", "backbone")


@dataclass(frozen=True)
class ServingFiles:
    """An exported directory: its networks' paths and the weights version they embed with."""

    directory: Path
    version: str
    former_versions: list[str]

    def network(self, name: str) -> Path:
        return self.directory / f"{name}.onnx"


def default_directory() -> Path:
    """Where exports are cached: `onnx/` in Rollcall's cache directory (ROLLCALL_CACHE_DIR)."""
    return cache_directory() / "onnx"


def export_key(backbone: str, pretrained: str, weights_path: Path | None, flip_tta: bool) -> str:
    """Names an export by everything that makes its files, read without torch."""
    made_of = {
        "format": FORMAT,
        "backbone": backbone,
        "pretrained": pretrained,
        "weights_sha256": file_sha256(weights_path) if weights_path is not None else None,
        "flip_tta": flip_tta,
        "facenet-pytorch": package_version("facenet-pytorch"),
        "torch": package_version("torch"),
    }
    digest = hashlib.sha256(json.dumps(made_of, sort_keys=True).encode()).hexdigest()
    return f"{backbone}-{digest[:16]}"


def serving_files(
    backbone: str,
    pretrained: str,
    weights_path: Path | None,
    flip_tta: bool,
    root: Path | None = None,
) -> ServingFiles:
    """The exported networks of these weights, exporting them first when missing."""
    directory = (root or default_directory()) / export_key(
        backbone, pretrained, weights_path, flip_tta
    )
    wanted = [MANIFEST, *(f"{name}.onnx" for name in NETWORKS)]
    if not all((directory / name).is_file() for name in wanted):
        shutil.rmtree(directory, ignore_errors=True)  # a file lost since: export it whole again
        _export(directory, backbone, weights_path, flip_tta)
    manifest = json.loads((directory / MANIFEST).read_text())
    return ServingFiles(directory, manifest["version"], manifest["former_versions"])


def _export(directory: Path, backbone: str, weights_path: Path | None, flip_tta: bool) -> None:
    """Runs the export in a child process into a fresh directory, then renames it into place."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    # The slow part of a first start (half a minute or more on a busy CPU): said, not silent.
    log.info(
        "exporting %s's networks to ONNX in %s (once for these weights; up to a minute)",
        backbone,
        directory.parent.resolve(),
    )
    staging = directory.with_name(f".{directory.name}.{uuid.uuid4().hex}.tmp")
    command = [sys.executable, "-m", "models.onnx_export", str(staging), "--backbone", backbone]
    if weights_path is not None:
        command += ["--weights", str(weights_path)]
    if flip_tta:
        command.append("--flip-tta")
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            raise RuntimeError(f"exporting the networks to ONNX failed: {lines[-1]}")
        try:
            os.replace(staging, directory)
        except OSError:
            if not (directory / MANIFEST).is_file():  # not another process's finished export
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class OnnxNetwork:
    """One exported network on ONNX Runtime's CPU provider: a float32 batch in, its outputs."""

    def __init__(self, path: Path, threads: int) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        inputs = np.ascontiguousarray(batch, dtype=np.float32)
        return list(self._session.run(None, {"input": inputs}))
