"""Files written whole or not at all, and their digests."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_write(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """A handle on a file beside `path` that replaces `path` once the block ends without error.

    A reader (the service reading .env, a weights file or a FAR curve) therefore never sees a
    half-written file, and an interrupted write leaves the old one. A replaced file keeps its
    permissions; a new one gets the usual ones (the umask's).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    encoding = None if "b" in mode else "utf-8"
    try:
        with tmp.open(f"x{mode.replace('w', '')}", encoding=encoding) as handle:
            yield handle
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def cache_directory() -> Path:
    """Where Rollcall keeps what it derives from shipped weights (dlib's ResNet as torch
    weights, the serving networks as ONNX files): $ROLLCALL_CACHE_DIR, else ~/.cache/rollcall."""
    return Path(os.environ.get("ROLLCALL_CACHE_DIR") or Path.home() / ".cache" / "rollcall")
