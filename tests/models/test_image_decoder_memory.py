"""The decoder's memory is bounded: tiny files that claim huge images, one or several at once.

Each case decodes in a fresh subprocess under an address-space limit (so a regression fails
rather than swapping the machine) and reports its peak resident memory (VmHWM) above what the
process held once its imports were done.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.support.helpers import uniform_grey_png
from tests.support.settings import REPO

SIDE = 7000
MIB = 2**20

# Runs in the subprocess: imports first, then a cap on further address space, then the decodes.
MEASURE = """
import io, json, resource, sys, threading
from PIL import Image
from models.image import load_image
paths = sys.argv[1:]
for kind in ("PNG", "JPEG"):  # load the decoders' plugins before measuring
    sample = io.BytesIO()
    Image.new("L", (16, 16)).save(sample, format=kind)
    load_image(sample.getvalue())
def status(field):  # VmHWM, not ru_maxrss: ru_maxrss carries the parent's peak across exec
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field))
vm = status("VmSize:")
resource.setrlimit(resource.RLIMIT_AS, (vm + 2 * 2**30, vm + 2 * 2**30))
base = status("VmHWM:")
shapes = []
def decode(path):
    shapes.append(load_image(path).pixels.shape)
threads = [threading.Thread(target=decode, args=(path,)) for path in paths]
for thread in threads: thread.start()
for thread in threads: thread.join()
peak = status("VmHWM:")
print(json.dumps({"growth": peak - base, "shapes": shapes}))
"""


def grey16_png(side: int = SIDE) -> bytes:
    """A valid side x side 16-bit greyscale PNG of about 100 KB (every pixel 4096)."""
    return uniform_grey_png(side, b"\x10\x00")


def grey_jpeg(side: int = SIDE) -> bytes:
    out = io.BytesIO()
    Image.new("L", (side, side), 128).save(out, format="JPEG", quality=50)
    return out.getvalue()


def _peak_growth(paths: list[Path]) -> tuple[int, list[list[int]]]:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *map(str, paths)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout)
    return measured["growth"], measured["shapes"]


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    files = {"png16": grey16_png(), "jpeg": grey_jpeg()}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    assert len(files["png16"]) < 200_000 and len(files["jpeg"]) < 1_000_000
    return {name: folder / name for name in files}


@pytest.mark.parametrize(("name", "bound_mib"), [("png16", 300), ("jpeg", 250)])
def test_one_small_file_claiming_7000x7000(
    bombs: dict[str, Path], name: str, bound_mib: int
) -> None:
    growth, shapes = _peak_growth([bombs[name]])
    print(f"{name}: peak RSS growth {growth / MIB:.0f} MiB")
    assert growth < bound_mib * MIB, f"{name} took {growth / MIB:.0f} MiB to decode"
    assert shapes == [[3500, 3500, 3]]  # scaled down to at most 4096 a side, in RGB


def test_six_at_once_take_no_more_than_two(bombs: dict[str, Path]) -> None:
    growth, shapes = _peak_growth([bombs["png16"]] * 6)
    print(f"6 x png16 at once: peak RSS growth {growth / MIB:.0f} MiB")
    assert growth < 2 * 300 * MIB, f"six decodes took {growth / MIB:.0f} MiB"
    assert len(shapes) == 6
