"""The office's pages at a school's size, timed in headless Chromium against a real server.

Starts README's uvicorn command on a fresh SQLite file, fills it over the REST API with
bench/office_school.py's school (the data of tests/pages/test_office_scale.py: 500 students,
six courses, 720 sessions, course 0 meeting now), and opens each page --loads times in a fresh
tab of one browser: the median time from navigation to the page's content shown, as the tests
define it (Today: its ready mark; sessions: the first row with the panel ready; the grid: the
first course's register drawn; the student page: the history's first row). Beside each, in the
same run: the office's Health tab (the same page and scripts, a trivial API call), /health
itself in the browser, the API requests the page made (count, and the same requests replayed
one after another over httpx: the server's share). `--shape year` adds the grid of a year
group: one course of 500 students (40 a page) and its 720 sessions, on a second server.

    python bench/office_pages.py [--loads 7] [--shape scale|year|both]

The load average is printed before and after: on the 2 shared cores of the development machine
figures from a loaded run are not comparable with a quiet one's.

Reference (2 shared cores at a load average of 7-12, never quiet; medians of 7 loads, the tree
before and after Today became one request, run one after the other): Today 848-905 ms with 8
API requests (101-159 ms replayed) -> 570-606 ms with 2 (22-41 ms), beside a Health tab of
400-520 ms; sessions 508-721 ms, grid 558-748 ms, a year group's grid 518-837 ms, student
page 397-688 ms, all within the Health tab's own spread.
On a quiet machine (load 0.3-3.5, one run each, medians of 7): before -> after, Today 405 -> 347
ms (8 -> 2 requests), sessions 293 -> 351, grid 349 -> 428, a year group's grid 454 -> 359,
student page 303 -> 235, beside a Health tab of 221-245 ms: every page under half a second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.sync_api import Browser, BrowserContext, Request, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script

from bench.office_school import School, scale_school, year_group

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("ROLLCALL_CHROMIUM", "/usr/bin/chromium")
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
KEY = "bench-admin-key-0123456789"
DESKTOP = {"width": 1280, "height": 900}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


@contextmanager
def serving(workdir: Path) -> Iterator[str]:
    port = 8700 + os.getpid() % 200
    env = {
        **os.environ,
        "ROLLCALL_DATABASE_URL": f"sqlite:///{workdir / 'rollcall.db'}",
        "ROLLCALL_ADMIN_KEY": KEY,
        "ROLLCALL_TIMEZONE": "UTC",
        "PYTHONPATH": str(REPO),
    }
    argv = [sys.executable, "-m", "uvicorn", "app.main:app"]
    argv += ["--http", "app.api.protocols:JsonErrorsProtocol", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--log-level", "warning"]
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"the server did not start:\n{(workdir / 'server.log').read_text()}"
                )
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


# A page's content is shown: a JavaScript condition, polled each frame; the time is the page's
# performance.now() then (milliseconds since its navigation started).
def _rows(panel: str, table: str) -> str:
    return f"document.querySelector('#panel-{panel}[data-state=\"ready\"] #{table} tbody tr')"


READY = {
    "today": "document.querySelector('#panel-today[data-ready=\"true\"]')",
    "sessions": _rows("sessions", "sessions-table"),
    "grid": _rows("register", "grid-table"),
    "student": "document.querySelector('#student-history tbody tr')",
    "health tab": "document.querySelector('#health-facts dd')",
}


@dataclass
class Loads:
    shown_ms: list[float] = field(default_factory=list)
    api_requests: list[int] = field(default_factory=list)
    api_urls: list[str] = field(default_factory=list)  # the last load's


def open_page(context: BrowserContext, url: str, ready: str, loads: Loads) -> None:
    page = context.new_page()
    asked: list[str] = []

    def note(request: Request) -> None:
        if "/api/v1/" in request.url:
            asked.append(request.url)

    page.on("request", note)
    page.goto(url, wait_until="commit")
    shown = page.wait_for_function(
        f"() => ({ready}) ? performance.now() : false", polling="raf", timeout=60_000
    )
    loads.shown_ms.append(float(shown.json_value()))
    loads.api_requests.append(len(asked))
    loads.api_urls = asked
    page.close()


def replay_ms(urls: list[str], repeat: int) -> float:
    """The page's API requests again, one after another, over httpx: median of `repeat`."""
    took = []
    with httpx.Client(headers={"X-API-Key": KEY}, timeout=60) as client:
        for _ in range(repeat):
            started = time.perf_counter()
            for url in urls:
                client.get(url).raise_for_status()
            took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


def health_ms(browser: Browser, url: str, repeat: int) -> float:
    """/health, a JSON answer, shown in the same browser: navigation to load event."""
    took = []
    for _ in range(repeat):
        page = browser.new_page()
        page.goto(f"{url}/health")
        took.append(float(page.evaluate("performance.getEntriesByType('navigation')[0].duration")))
        page.close()
    return statistics.median(took)


def office(browser: Browser) -> BrowserContext:
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(f"localStorage.setItem('rollcall.office.key', '{KEY}')")
    return context


def measure(browser: Browser, url: str, pages: dict[str, tuple[str, str]], repeat: int) -> None:
    context = office(browser)
    for name, (fragment, ready) in pages.items():
        loads = Loads()
        open_page(context, f"{url}/admin#{fragment}", ready, Loads())  # warm: the cache, the ORM
        for _ in range(repeat):
            open_page(context, f"{url}/admin#{fragment}", ready, loads)
        shown = statistics.median(loads.shown_ms)
        spread = f"{min(loads.shown_ms):.0f}-{max(loads.shown_ms):.0f}"
        api = replay_ms(loads.api_urls, repeat)
        print(
            f"  {name:<12} shown {shown:6.0f} ms (median; {spread})   "
            f"API: {statistics.median(loads.api_requests):.0f} requests, {api:5.0f} ms replayed"
        )
    context.close()
    print(f"  /health shown in the browser {health_ms(browser, url, repeat):.0f} ms")


def scale(browser: Browser, url: str, repeat: int) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=60) as admin:
        started = time.perf_counter()
        school: School = scale_school(admin)
        took = time.perf_counter() - started
        print(f"scale school (500 students, 720 sessions) made in {took:.0f} s")
    student = school.rtl["id"]
    measure(
        browser,
        url,
        {
            "today": ("today", READY["today"]),
            "sessions": ("sessions", READY["sessions"]),
            "grid": ("register", READY["grid"]),
            "student": (f"student/{student}", READY["student"]),
            "health tab": ("health", READY["health tab"]),
        },
        repeat,
    )


def year(browser: Browser, url: str, repeat: int) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=60) as admin:
        year_group(admin)
    print("year group (one course of 500 students, 720 sessions; 40 students a page):")
    measure(
        browser,
        url,
        {"grid": ("register", READY["grid"]), "health tab": ("health", READY["health tab"])},
        repeat,
    )


SHAPES: dict[str, list[Callable[[Browser, str, int], None]]] = {
    "scale": [scale],
    "year": [year],
    "both": [scale, year],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=7, help="loads of each page (median)")
    parser.add_argument("--shape", choices=list(SHAPES), default="both")
    args = parser.parse_args()
    print(f"before: {load()}")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        for shape in SHAPES[args.shape]:
            with tempfile.TemporaryDirectory() as folder, serving(Path(folder)) as url:
                shape(browser, url, args.loads)
        browser.close()
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
