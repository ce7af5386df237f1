"""Where the opt-in faceres backbone's files are installed, and whether they are: without
torch, so that a service on ONNX Runtime can ask (models/backbones/faceres.py reads them)."""

from __future__ import annotations

from pathlib import Path

from models.files import cache_directory

GRAPH_FILE = "faceres.json"
WEIGHTS_FILE = "faceres.bin"


def installed_directory() -> Path:
    """Where `rollcall models install faceres` puts the graph and its weights."""
    return cache_directory() / "models" / "faceres"


def is_installed(directory: Path | None = None) -> bool:
    directory = directory or installed_directory()
    return (directory / GRAPH_FILE).is_file() and (directory / WEIGHTS_FILE).is_file()
