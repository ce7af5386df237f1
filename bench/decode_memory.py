"""What decoding a small file that claims a huge image costs in memory.

    python bench/decode_memory.py

For a 7000x7000 16-bit greyscale PNG (~100 KB) and a 7000x7000 JPEG (~300 KB), one at a time
and six at once, prints the peak resident memory each decode adds (VmHWM, in a fresh process
per case) with `models.image.load_image`, beside the reference: Pillow's plain full-size decode
to an RGB array (what a photo service does without a bound; the 16-bit one as Rollcall did, by
way of float64).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

DECODE = """
import sys, threading
import numpy as np
from PIL import Image
from models.image import load_image

def plain(path):
    with Image.open(path) as image:
        if image.mode.startswith("I"):
            array = np.asarray(image, dtype=np.float64)
            image = Image.fromarray(np.clip(array * 255 / array.max(), 0, 255).astype(np.uint8))
        np.asarray(image.convert("RGB"))

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(field))

decode = load_image if sys.argv[1] == "load_image" else plain
base = status("VmHWM:")
threads = [threading.Thread(target=decode, args=(path,)) for path in sys.argv[2:]]
for thread in threads: thread.start()
for thread in threads: thread.join()
print((status("VmHWM:") - base) // 2**20)
"""


def _growth_mib(decoder: str, paths: list[Path]) -> int:
    command = [sys.executable, "-c", DECODE, decoder, *map(str, paths)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    return int(result.stdout)


def main() -> None:
    sys.path.insert(0, str(REPO))
    from tests.models.test_image_decoder_memory import grey16_png, grey_jpeg

    with tempfile.TemporaryDirectory() as folder:
        files = {"16-bit PNG": Path(folder) / "a.png", "JPEG": Path(folder) / "a.jpg"}
        files["16-bit PNG"].write_bytes(grey16_png())
        files["JPEG"].write_bytes(grey_jpeg())
        print(f"{'7000x7000 file':28} {'size':>8} {'load_image':>11} {'reference':>10}")
        for name, path in files.items():
            for count in (1, 6):
                paths = [path] * count
                label = f"{name}{' x6 at once' if count > 1 else ''}"
                ours, reference = _growth_mib("load_image", paths), _growth_mib("plain", paths)
                size = f"{path.stat().st_size // 1024} KB"
                print(f"{label:28} {size:>8} {ours:>7} MiB {reference:>6} MiB")


if __name__ == "__main__":
    main()
