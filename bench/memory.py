"""A serving worker's memory: idle after start, and its peak during a 1080p check-in.

Starts `rollcall serve` (SQLite in a temporary folder, OMP_NUM_THREADS=1) from this checkout
and, as the reference measured in the same run, from another one (`--before`, e.g. main as it
was before the ONNX Runtime serving path: `git archive 02983db | tar -x -C /tmp/before`).
For each worker it prints VmRSS once /health answers, VmRSS after enrolling five people, VmHWM
(the peak) after a 1080p check-in, and whether the process has torch loaded (libtorch mapped).

    python bench/memory.py [--before /tmp/before] [--workers 1 2] [--backbone dlib+faceres]

--backbone NAME also measures this checkout serving ROLLCALL_BACKBONE=NAME (an opt-in one
installed first), beside its default backbone in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_checkins import FACES, KEY, REPO, enroll, load, memory_mb, start, workers_of


def torch_loaded(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def measure(repo: Path, workers: int, faces: Path, backbone: str | None = None) -> list[str]:
    """One line per worker of the service served from `repo` (on `backbone`: its default)."""
    big = (faces / "variants" / "obama-1080p.jpg").read_bytes()
    with tempfile.TemporaryDirectory() as name:
        settings = {"ROLLCALL_BACKBONE": backbone} if backbone else {}
        process, url = start(Path(name), workers, repo, settings)
        try:
            pids = workers_of(process, workers)
            started = [memory_mb(pid, "VmRSS") for pid in pids]
            with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=60) as client:
                enroll(client, faces)
            idle = [memory_mb(pid, "VmRSS") for pid in pids]
            load(url, big, workers, workers * 2)  # 1080p check-ins on every worker
            peak = [memory_mb(pid, "VmHWM") for pid in pids]
            loaded = [torch_loaded(pid) for pid in pids]
        finally:
            process.terminate()
            process.wait(timeout=60)
    return [
        f"    worker {i + 1}: started {s:5.0f} MB  idle after enrolling {d:5.0f} MB  "
        f"peak after a 1080p check-in {p:5.0f} MB  torch loaded: {'yes' if t else 'no'}"
        for i, (s, d, p, t) in enumerate(zip(started, idle, peak, loaded, strict=True))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="another checkout, measured as reference")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--backbone", help="also serve this ROLLCALL_BACKBONE from this checkout")
    args = parser.parse_args()
    runs = [("this checkout", REPO, None)]
    runs += [("before", args.before, None)] if args.before else []
    runs += [(f"this checkout, {args.backbone}", REPO, args.backbone)] if args.backbone else []
    for workers in args.workers:
        for label, repo, backbone in runs:
            print(f"{label} ({repo}), --workers {workers}:")
            print("\n".join(measure(repo, workers, args.faces, backbone)), flush=True)


if __name__ == "__main__":
    main()
