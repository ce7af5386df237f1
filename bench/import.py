"""Bulk import speed: the real `rollcall import` beside dlib's own pipeline on the same photos.

Builds a roster of N LFW people (the first photo of each, from /work/shared/lfw-devtrain),
then runs `rollcall import` into a fresh SQLite file (made by `rollcall db upgrade`): the
start-up lasts until its progress bar appears (imports, model loading, gallery), the rate is
N over the time from there to the command's exit. Beside it, in the same run, dlib's
`face_recognition` pipeline (HOG upsampled once, 5-point landmarks, ResNet) embeds the same
photos in this process (no database).
`--repo` imports with another checkout (e.g. main before batching), one after the other.

    OMP_NUM_THREADS=1 python bench/import.py [--people 200] [--repo ../main]

(Not a timed test: these machines are shared; the load average is printed with the figures.)
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lfw import DlibModels
from models.image import load_image

REPO = Path(__file__).resolve().parents[1]
LFW = Path(os.environ.get("ROLLCALL_LFW_DIR", REPO.parent / "shared" / "lfw-devtrain"))


def make_roster(folder: Path, people: int) -> tuple[Path, Path, list[Path]]:
    """A roster of `people` LFW identities (first photo each) and its photo folder."""
    photos = folder / "photos"
    photos.mkdir()
    rows: list[tuple[str, str, str]] = [("external_id", "name", "photo")]
    chosen = []
    for number, person in enumerate(sorted((LFW / "people").iterdir())[:people]):
        first = sorted(person.iterdir())[0]
        (photos / first.name).symlink_to(first)
        rows.append((f"L{number:05}", person.name.replace("_", " "), first.name))
        chosen.append(first)
    roster = folder / "roster.csv"
    with roster.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return roster, photos, chosen


def timed_import(repo: Path, roster: Path, photos: Path, database: Path) -> str:
    """Runs `rollcall import`; start-up ends when its progress bar first appears (the loop
    over the rows starts), the rate is the rows over the time from there to its exit."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        "ROLLCALL_DATABASE_URL": f"sqlite:///{database}",
    }
    upgrade = [sys.executable, "-m", "app.cli", "db", "upgrade"]
    subprocess.run(upgrade, cwd=repo, env=env, capture_output=True, check=True, timeout=600)
    argv = [sys.executable, "-m", "app.cli", "import", str(roster), str(photos)]
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    bar_seen: list[float] = []
    errors: list[bytes] = []

    def watch_progress() -> None:
        while chunk := os.read(process.stderr.fileno(), 4096):  # type: ignore[union-attr]
            if not bar_seen and b"enrolling" in chunk:
                bar_seen.append(time.perf_counter())
            errors.append(chunk)

    watcher = threading.Thread(target=watch_progress)
    watcher.start()
    output = process.stdout.read().decode()  # type: ignore[union-attr]
    process.wait(timeout=3600)
    end = time.perf_counter()
    watcher.join()
    rows = sum(1 for _ in roster.open()) - 1
    summary = next((ln for ln in output.splitlines() if ln.startswith("enrolled")), "")
    if not summary or not bar_seen:
        raise SystemExit(f"rollcall import failed:\n{output}\n{b''.join(errors).decode()}")
    startup = bar_seen[0] - start
    return (
        f"rollcall ({repo}): {rows / (end - bar_seen[0]):.2f} photos/s after a start-up of "
        f"{startup:.1f} s ({summary})"
    )


def dlib_rate(chosen: list[Path]) -> str:
    models = DlibModels()
    start = time.perf_counter()
    embedded = 0
    for path in chosen:
        pixels = load_image(path.read_bytes()).pixels
        boxes = models.detector(pixels, 1)
        if boxes:
            shape = models.landmarks(pixels, boxes[0])
            models.encoder.compute_face_descriptor(pixels, shape)
            embedded += 1
    seconds = time.perf_counter() - start
    rate = len(chosen) / seconds
    return f"dlib (in process, no database): {rate:.2f} photos/s ({embedded} faces)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument(
        "--repo", type=Path, action="append", help="checkout(s) to import with (default: this)"
    )
    args = parser.parse_args()
    repos = args.repo or [REPO]
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        roster, photos, chosen = make_roster(folder, args.people)
        print(f"{len(chosen)} LFW photos, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
        for repo in repos:
            database = folder / f"{len(list(folder.glob('*.db')))}.db"
            print(timed_import(repo.resolve(), roster, photos, database), flush=True)
        print(dlib_rate(chosen))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
