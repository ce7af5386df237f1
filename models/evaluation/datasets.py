"""The two kinds of labelled dataset `rollcall evaluate`, `calibrate` and `train` read.

* a folder per identity, ``<root>/<identity>/<photo>``. ``DATASET_DIR`` is that root; if it has
  a ``people/`` subfolder that itself holds identity folders (the layout of ``../shared/faces``,
  whose ``group/`` and ``variants/`` folders are not identities), ``people/`` is used instead.
* a CSV of labelled pairs, ``file_a,file_b,same`` (``same`` is yes/no, 1/0 or true/false; an
  optional header row), with paths relative to ``DATASET_DIR``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"})
TRUE_WORDS = frozenset({"1", "yes", "y", "true"})
FALSE_WORDS = frozenset({"0", "no", "n", "false"})


@dataclass(frozen=True)
class LabelledPair:
    file_a: str
    file_b: str
    same: bool


def is_photo(path: Path) -> bool:
    return (
        path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES and not path.name.startswith(".")
    )


def _identity_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and any(is_photo(f) for f in p.iterdir()))


def identity_root(dataset_dir: Path) -> Path:
    """The folder whose subfolders are the identities (see the module docstring)."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise FileNotFoundError(f"No such dataset folder: {dataset_dir}")
    people = dataset_dir / "people"
    if people.is_dir() and _identity_folders(people):
        return people
    if not _identity_folders(dataset_dir):
        raise ValueError(
            f"{dataset_dir} holds no identity folders (<identity>/<photo>); "
            "pass a folder-per-identity dataset or --pairs"
        )
    return dataset_dir


def list_identity_photos(root: Path) -> tuple[list[str], list[str]]:
    """(photo paths relative to `root`, identity of each photo), sorted."""
    paths: list[str] = []
    labels: list[str] = []
    for folder in _identity_folders(root):
        for photo in sorted(folder.iterdir()):
            if is_photo(photo):
                paths.append(photo.relative_to(root).as_posix())
                labels.append(folder.name)
    return paths, labels


def parse_same(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"not a same/different label: {value!r} (use yes/no or 1/0)")


def read_pairs_csv(path: Path) -> list[LabelledPair]:
    """`file_a,file_b,same` rows; a first row whose label does not parse is taken as a header."""
    pairs: list[LabelledPair] = []
    with Path(path).open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or all(not cell.strip() for cell in row) or row[0].startswith("#"):
                continue
            if len(row) < 3:
                raise ValueError(f"{path}:{number}: expected file_a,file_b,same, got {row}")
            try:
                same = parse_same(row[2])
            except ValueError:
                if number == 1:
                    continue  # header
                raise ValueError(
                    f"{path}:{number}: bad label {row[2]!r} (use yes/no or 1/0)"
                ) from None
            pairs.append(LabelledPair(row[0].strip(), row[1].strip(), same))
    if not pairs:
        raise ValueError(f"{path} holds no labelled pairs")
    return pairs


def all_pairs(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices (i, j), i < j, of every pair, and whether each is genuine."""
    first, second = np.triu_indices(len(labels), k=1)
    names = np.asarray(labels, dtype=object)
    return first, second, names[first] == names[second]
