"""How long the CLI takes to start: commands that load no model must not pay for torch.

    python bench/startup.py [--runs 5]

Runs each command as a fresh process in a temporary folder (with a fresh SQLite database) and
prints the median wall-clock and CPU time of `--runs` runs, beside two references measured in
the same run: a bare Python start-up, and `import torch` (what every command paid when the CLI
imported the model stack up front). CPU time is the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
CASES = {
    "python (reference: bare start-up)": [PYTHON, "-c", "pass"],
    "import torch (reference)": [PYTHON, "-c", "import torch"],
    "rollcall --help": [PYTHON, "-m", "app.cli", "--help"],
    "rollcall keys list": [PYTHON, "-m", "app.cli", "keys", "list"],
    "rollcall export": [PYTHON, "-m", "app.cli", "export"],
}


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `argv`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    env.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        subprocess.run(
            [PYTHON, "-m", "app.cli", "db", "upgrade"],
            cwd=cwd,
            env=env,
            check=True,
            capture_output=True,
        )
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
        for _ in range(args.runs):  # interleaved: every case sees the same machine load
            for name, argv in CASES.items():
                times[name].append(timed(argv, cwd, env))
    print(f"median of {args.runs} runs (load average {os.getloadavg()[0]:.1f}):")
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"  {name:36} wall {wall:5.2f} s   cpu {cpu:5.2f} s")


if __name__ == "__main__":
    main()
