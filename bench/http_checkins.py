"""Check-ins over HTTP: a real uvicorn on loopback, a bounded load client, memory per worker.

Starts the service (`rollcall serve`, SQLite file in a temporary folder, OMP_NUM_THREADS=1:
one inference thread per worker), enrolls the shared photos' five people, then sends 480p
check-ins at concurrency 1, 2 and 4 (each client thread waits for its answer before the next
request: the load is bounded), with how the client's connections split between the workers
and the client's own CPU time (it shares the cores). Beside it, in the same run, the
reference: the same photo through the pipeline in this process, no HTTP. Then each worker's
resident memory idle (VmRSS) and its peak (VmHWM) after a 1080p check-in.

    python bench/http_checkins.py [--workers 1] [--requests 40]

(Not bench/http.py: a script run from bench/ would shadow the standard library's `http`.)
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
FACES = REPO.parent / "shared" / "faces"
KEY = "bench-admin-key-0123456789"
ENROLLED = {  # as tests/support/helpers.py: one reference photo each
    "barack_obama": "obama.jpg",
    "joe_biden": "biden.jpg",
    "kit_harington": "kit1.jpg",
    "rose_leslie": "rose1.jpg",
    "alex_lacamoire": "alex1.png",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(
    folder: Path, workers: int, repo: Path, settings: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`rollcall serve` from `repo`; `settings`: ROLLCALL_* variables beside the environment's."""
    port = free_port()
    env = {
        **os.environ,
        **(settings or {}),
        "OMP_NUM_THREADS": "1",
        "ROLLCALL_DATABASE_URL": f"sqlite:///{folder}/rollcall.db",
        "ROLLCALL_ADMIN_KEY": KEY,
    }
    argv = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [*argv, "--workers", str(workers)], cwd=repo, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((folder / "server.log").read_text())
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.5)
    process.terminate()
    raise SystemExit("the server did not answer /health in 300 s")


def enroll(client: httpx.Client, faces: Path) -> None:
    for person, photo in ENROLLED.items():
        student = client.post("/api/v1/students", json={"external_id": person, "name": person})
        path = faces / "people" / person / photo
        answer = client.post(
            f"/api/v1/students/{student.json()['id']}/photo",
            files={"file": (path.name, path.read_bytes())},
        )
        answer.raise_for_status()


def load(
    url: str, photo: bytes, concurrency: int, requests: int, workers: Sequence[int] = ()
) -> tuple[list[float], float, list[int]]:
    """Latencies of `requests` check-ins sent by `concurrency` threads, the wall time, and how
    many of the threads' connections each of the `workers` held."""
    latencies: list[float] = []
    remaining = iter(range(requests))
    lock = threading.Lock()
    done = threading.Barrier(concurrency + 1)

    body, content_type = checkin_form(photo)
    headers = {"X-API-Key": KEY, "Content-Type": content_type}
    address = urlsplit(url)

    def client_thread() -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        try:
            while True:
                with lock:
                    if next(remaining, None) is None:
                        break
                start = time.perf_counter()
                connection.request("POST", "/api/v1/checkins", body, headers)
                answer = connection.getresponse()
                answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"check-in answered {answer.status}")
                with lock:
                    latencies.append(time.perf_counter() - start)
        finally:
            done.wait()  # the connection stays open until it has been counted
            done.wait()
            connection.close()

    threads = [threading.Thread(target=client_thread) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    done.wait()
    wall = time.perf_counter() - start
    split = connections_per_worker(workers, int(url.rsplit(":", 1)[1]))
    done.wait()
    for thread in threads:
        thread.join()
    return latencies, wall, split


def checkin_form(photo: bytes) -> tuple[bytes, str]:
    """A check-in's multipart body, built once: the client sends the same bytes each time
    over the standard library's http.client. httpx built each request anew at 2.6-5.9 ms of
    CPU a check-in, on the 2 cores the service measured here runs on (http.client: 0.7-0.9)."""
    boundary = "rollcall-bench-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def connections_per_worker(pids: Sequence[int], port: int) -> list[int]:
    """How many established connections to `port` each worker holds (Linux /proc).

    A client's keep-alive connection stays with the worker that accepted it, and uvicorn's
    workers take new connections from one shared socket: connections opened at the same
    moment split between idle workers by chance (4 may split 2+2, 3+1 or 4+0). Printed so
    that runs can be compared: on a machine other processes load, a worker holding 3 of 4
    connections got 9.6 check-ins/s where a 2+2 split got 16.3.
    """
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                established.add(fields[9])
    counts = []
    for pid in pids:
        links = (os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir())
        counts.append(
            sum(link[8:-1] in established for link in links if link.startswith("socket:["))
        )
    return counts


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def workers_of(process: subprocess.Popen[bytes], workers: int) -> list[int]:
    """The processes that serve: the server itself, or its worker children."""
    if workers == 1:
        return [process.pid]
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    # multiprocessing's resource tracker is a child too, and serves nothing.
    return [
        int(pid)
        for pid in children
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def reference_ms(photo: bytes, repeat: int) -> float:
    """The service's pipeline in this process (ONNX Runtime, one thread unless
    OMP_NUM_THREADS says more), no HTTP."""
    from models.embedder import EmbedderConfig
    from models.serving import ServingEmbedder

    embedder = ServingEmbedder(EmbedderConfig())
    embedder.faces(photo)
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        embedder.faces(photo)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument(
        "--repo", type=Path, default=REPO, help="the checkout to serve (e.g. an older one)"
    )
    args = parser.parse_args()
    photo = (args.faces / "variants" / "obama-480p.jpg").read_bytes()
    big = (args.faces / "variants" / "obama-1080p.jpg").read_bytes()
    with tempfile.TemporaryDirectory() as name:
        process, url = start(Path(name), args.workers, args.repo)
        try:
            with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=60) as client:
                enroll(client, args.faces)
            # Warm-up on 4 connections a worker, so every worker (most likely: connections go
            # to whichever accepts first) has made its first check-in, which loads the gallery
            # and has ONNX Runtime plan its buffers: ~40 ms more, once per worker.
            load(url, photo, 4 * args.workers, 8 * args.workers)
            print(
                f"{args.workers} worker(s), OMP_NUM_THREADS=1; load average "
                f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
            )
            pids = workers_of(process, args.workers)
            for concurrency in (1, 2, 4):
                client_cpu = time.process_time()
                latencies, wall, split = load(url, photo, concurrency, args.requests, pids)
                # The client runs on the same cores as the service: its share, shown.
                client_cpu = (time.process_time() - client_cpu) / len(latencies)
                cuts = statistics.quantiles(latencies, n=20)
                print(
                    f"  concurrency {concurrency}: p50 {statistics.median(latencies) * 1e3:6.1f} ms"
                    f"  p95 {cuts[18] * 1e3:6.1f} ms  {len(latencies) / wall:5.1f} check-ins/s"
                    f"  (connections per worker {'+'.join(map(str, split))}; "
                    f"client CPU {client_cpu * 1e3:.1f} ms a check-in)"
                )
            idle = [memory_mb(pid, "VmRSS") for pid in pids]
            load(url, big, args.workers, args.workers * 2)  # a 1080p check-in on each worker
            peak = [memory_mb(pid, "VmHWM") for pid in pids]
            print(
                "  memory per worker: idle RSS "
                + ", ".join(f"{m:.0f}" for m in idle)
                + " MB; peak after 1080p check-ins "
                + ", ".join(f"{m:.0f}" for m in peak)
                + " MB"
            )
        finally:
            process.terminate()
            process.wait(timeout=60)
    print(f"  reference: the same 480p photo in-process, no HTTP: {reference_ms(photo, 9):.1f} ms")


if __name__ == "__main__":
    main()
