"""The kiosk at the door, timed in Chromium with a fake camera playing real people.

Starts README's uvicorn command on a fresh SQLite file (OMP_NUM_THREADS=1), enrolls Barack Obama
(obama.jpg) and Kit Harington (kit1.jpg), and plays the kiosk a looping video: an empty doorway
(a drawn wall and door, with sensor noise), then Obama (obama2.jpg), the doorway again, then Kit
(kit3.jpg), each for --hold seconds. A small square in a corner of the video, white while a
person is in view, tells the page's probe when a face appeared; the probe notes when the kiosk
shows an answer. Face appearing -> answer shown, over --arrivals arrivals: median and p90, with
each answer (wrong or stranger answers counted), beside the server's own time per check-in in
the same run (its request log). Then an empty doorway for --idle seconds: requests per minute
and the server's CPU (utime+stime from /proc over the window).

    python bench/kiosk.py [--page both|before|after] [--arrivals 10] [--hold 5] [--idle 60]

`before` is the kiosk page of the commit --before names (default: the branch's merge base with
main), served in place of this tree's by the browser (same server); `after` is this tree's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw, ImageOps
from playwright.sync_api import Page, Route, sync_playwright

REPO = Path(__file__).resolve().parents[1]
FACES = Path(os.environ.get("ROLLCALL_FACES_DIR", REPO.parent / "shared" / "faces")) / "people"
CHROMIUM = os.environ.get("ROLLCALL_CHROMIUM", "/usr/bin/chromium")
KEY = "bench-admin-key-0123456789"
PIN = "482913"
SIZE = (640, 480)
FPS = 10
MARK = 12  # the marker square's side, px: under 0.1% of the frame
PEOPLE = [
    ("Barack Obama", "barack_obama/obama.jpg", "barack_obama/obama2.jpg"),
    ("Kit Harington", "kit_harington/kit1.jpg", "kit_harington/kit3.jpg"),
]
ANSWERS = ("present", "already_present", "unknown", "ambiguous", "not_on_roster", "retry")
BEFORE_FILES = {  # what the browser is served in place of this tree's, for `before`
    "/kiosk": "app/api/pages/templates/kiosk.html",
    "/static/js/kiosk.js": "app/api/pages/static/js/kiosk.js",
    "/static/js/kiosk-results.js": "app/api/pages/static/js/kiosk-results.js",
    "/static/css/rollcall.css": "app/api/pages/static/css/rollcall.css",
}

# Runs in the kiosk page before its own scripts: notes when the marker turns white (a person
# appeared) on each video frame the page gets, and when the result box shows an answer.
PROBE = """
window.__arrivals = []; window.__answers = [];
const watchVideo = () => {
  const video = document.querySelector('#kiosk-camera');
  if (!video || !video.requestVideoFrameCallback) return setTimeout(watchVideo, 50);
  const canvas = document.createElement('canvas'); canvas.width = 4; canvas.height = 4;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  let person = false;
  const onFrame = (now) => {
    if (video.videoWidth) {
      context.drawImage(video, 2, 2, 8, 8, 0, 0, 4, 4);
      const lit = context.getImageData(0, 0, 4, 4).data[0] > 128;
      if (lit && !person) window.__arrivals.push(now);
      person = lit;
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
};
const watchResult = () => {
  const box = document.querySelector('#kiosk-result');
  if (!box) return setTimeout(watchResult, 50);
  new MutationObserver(() => {
    window.__answers.push([performance.now(), box.dataset.status,
      (box.querySelector('.result-title') || {}).textContent || '']);
  }).observe(box, { attributes: true, childList: true, subtree: true });
};
document.addEventListener('DOMContentLoaded', () => { watchVideo(); watchResult(); });
"""


def doorway() -> Image.Image:
    """An empty doorway: a wall, a door and its frame, a floor; no face."""
    image = Image.new("RGB", SIZE, (196, 190, 178))
    draw = ImageDraw.Draw(image)
    draw.rectangle((220, 60, 420, 480), fill=(120, 86, 60))
    draw.rectangle((236, 76, 404, 480), fill=(150, 110, 78))
    draw.ellipse((380, 280, 392, 292), fill=(210, 190, 90))
    draw.rectangle((0, 420, 640, 480), fill=(90, 90, 96))
    return image


def person(photo: Path) -> Image.Image:
    return ImageOps.pad(ImageOps.exif_transpose(Image.open(photo)).convert("RGB"), SIZE)


def y4m(out: Path, scenes: list[tuple[Image.Image, bool]], hold_s: float) -> Path:
    """The scenes, each `hold_s` long, with sensor noise (std 2 levels) and the marker."""
    rng = np.random.default_rng(7)
    width, height = SIZE
    frames_each = round(hold_s * FPS)
    with out.open("wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for image, lit in scenes:
            base = np.asarray(image, dtype=np.float32)
            base[:MARK, :MARK] = 255.0 if lit else 0.0
            for _ in range(frames_each):
                noisy = np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)
                luma, blue, red = Image.fromarray(noisy).convert("YCbCr").split()
                half = (width // 2, height // 2)
                video.write(b"FRAME\n" + luma.tobytes())
                video.write(blue.resize(half).tobytes() + red.resize(half).tobytes())
    return out


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    answers: list[tuple[str, str, str]] = field(default_factory=list)  # expected, status, title
    idle_requests: int = 0
    idle_checkins: int = 0
    idle_s: float = 0.0
    idle_cpu: float = 0.0
    server_ms: list[float] = field(default_factory=list)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_requests(log: Path, since: int) -> list[dict]:
    lines = log.read_text().splitlines()[since:]
    out = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") == "request" or "duration_ms" in entry:
            out.append(entry)
    return out


def before_route(commit: str):  # type: ignore[no-untyped-def]
    def serve(route: Route) -> None:
        path = "/" + route.request.url.split("/", 3)[3].split("?")[0]
        source = BEFORE_FILES[path]
        text = subprocess.run(
            ["git", "show", f"{commit}:{source}"], cwd=REPO, capture_output=True, check=True
        ).stdout
        if path == "/kiosk":  # a Jinja template: rendered as the server renders it
            route.fulfill(body=rendered_before(text.decode()), content_type="text/html")
            return
        kind = "text/css" if path.endswith(".css") else "text/javascript"
        route.fulfill(body=text, content_type=kind)

    return serve


def rendered_before(template: str) -> str:
    """The old kiosk template, rendered with the server's own Jinja setup."""
    from jinja2 import Environment, FileSystemLoader

    env = Environment(loader=FileSystemLoader(REPO / "app/api/pages/templates"), autoescape=True)
    base = env.get_template("base.html")
    page = env.from_string(template.replace('{% extends "base.html" %}', "{% extends base %}"))
    return page.render(base=base, title="Kiosk", url_for=lambda _n, path: f"/static/{path}")


def start_kiosk(page: Page, url: str, kiosk_key: str, mode: str) -> None:
    page.goto(f"{url}/kiosk")
    if mode == "after":
        page.locator(".key-signin summary").click()
        page.locator("#kiosk-pin").fill(PIN)
    page.locator("#kiosk-key").fill(kiosk_key)
    page.get_by_role("button", name="Start").click()
    page.wait_for_selector("#kiosk-station:not([hidden])")


def measure(
    mode: str,
    url: str,
    admin: httpx.Client,
    args: argparse.Namespace,
    log: Path,
    pid: int,
    work: Path,
    commit: str,
) -> Run:
    run = Run()
    scenes = []  # door, Obama, door, Kit: looped by Chromium
    for _, _, shown in PEOPLE:
        scenes += [(doorway(), False), (person(FACES / shown), True)]
    video = y4m(work / f"arrivals-{mode}.y4m", scenes, args.hold)
    idle_video = y4m(work / "empty.y4m", [(doorway(), False)], 2.0)
    key = admin.post("/api/v1/keys", json={"name": f"bench {mode}", "role": "kiosk"}).json()["key"]
    expected_in_order = [name for name, _, _ in PEOPLE]
    with sync_playwright() as driver:
        for camera, phase in ((video, "arrivals"), (idle_video, "idle")):
            browser = driver.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    f"--use-file-for-fake-video-capture={camera}",
                ],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.add_init_script(PROBE)
            if mode == "before":
                page.route(
                    lambda u: any(u.endswith(p) or f"{p}?" in u for p in BEFORE_FILES),
                    before_route(commit),
                )
            start_kiosk(page, url, key, mode)
            if phase == "arrivals":
                arrivals(page, run, args, expected_in_order)
            else:
                idle(page, run, args, log, pid)
            browser.close()
    return run


def arrivals(page: Page, run: Run, args: argparse.Namespace, names: list[str]) -> None:
    cycle = 2 * len(names) * args.hold
    deadline = time.monotonic() + (args.arrivals + 2) * cycle / len(names) + 60
    while time.monotonic() < deadline:
        if len(page.evaluate("window.__arrivals")) > args.arrivals + 1:
            break
        page.wait_for_timeout(1000)
    arrived = page.evaluate("window.__arrivals")
    answers = page.evaluate("window.__answers")
    # The first arrival may come while the camera starts: count from the second on.
    for i, at in enumerate(arrived[1 : args.arrivals + 1], start=1):
        until = at + args.hold * 1000
        shown = [a for a in answers if at <= a[0] < until and a[1] in ANSWERS and a[1] != "retry"]
        expected = names[i % len(names)]
        if shown:
            run.latencies.append(shown[0][0] - at)
            run.answers.append((expected, shown[0][1], shown[0][2]))
        else:
            run.answers.append((expected, "none", ""))


def idle(page: Page, run: Run, args: argparse.Namespace, log: Path, pid: int) -> None:
    page.wait_for_timeout(5000)  # the kiosk learns the empty doorway
    since = len(log.read_text().splitlines())
    cpu, start = cpu_seconds(pid), time.monotonic()
    page.wait_for_timeout(args.idle * 1000)
    run.idle_s = time.monotonic() - start
    run.idle_cpu = (cpu_seconds(pid) - cpu) / run.idle_s
    seen = log_requests(log, since)
    run.idle_requests = len(seen)
    run.idle_checkins = sum(1 for e in seen if e.get("path") == "/api/v1/checkins")


def server_checkin_ms(log: Path) -> list[float]:
    return [
        float(e["duration_ms"])
        for e in log_requests(log, 0)
        if e.get("path") == "/api/v1/checkins" and e.get("status") == 200
    ]


def report(mode: str, run: Run, server_ms: list[float]) -> None:
    lat = sorted(run.latencies)
    wrong = sum(
        1
        for exp, status, title in run.answers
        if status in ("present", "already_present") and title != exp
    )
    strangers = sum(1 for _, status, _ in run.answers if status in ("unknown", "ambiguous"))
    missing = sum(1 for _, status, _ in run.answers if status == "none")
    shown = ", ".join(f"{status}:{title or '-'}" for _, status, title in run.answers)
    print(f"\n== {mode} ==")
    if lat:
        p90 = lat[min(len(lat) - 1, round(0.9 * (len(lat) - 1)))]
        print(
            f"face -> answer shown: median {statistics.median(lat) / 1000:.2f} s, "
            f"p90 {p90 / 1000:.2f} s, min {lat[0] / 1000:.2f} s, max {lat[-1] / 1000:.2f} s "
            f"over {len(lat)} arrivals"
        )
    print(
        f"answers: {len(run.answers)}, wrong person {wrong}, stranger/ambiguous {strangers}, "
        f"no answer within the hold {missing}"
    )
    print(f"  first answer per arrival: {shown}")
    if server_ms:
        print(
            "server time per check-in (its log, 200s): "
            f"median {statistics.median(server_ms):.0f} ms over {len(server_ms)}"
        )
    print(
        f"empty doorway: {run.idle_requests} requests ({run.idle_checkins} check-ins) in "
        f"{run.idle_s:.0f} s = {60 * run.idle_requests / run.idle_s:.1f}/min; server CPU "
        f"{100 * run.idle_cpu:.1f}% of a core"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", choices=("both", "before", "after"), default="both")
    parser.add_argument("--arrivals", type=int, default=10)
    parser.add_argument("--hold", type=float, default=5.0)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--before", default="")
    args = parser.parse_args()
    commit = (
        args.before
        or subprocess.run(
            ["git", "merge-base", "HEAD", "main"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    modes = ["before", "after"] if args.page == "both" else [args.page]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        log = work / "server.log"
        env = {
            **os.environ,
            "ROLLCALL_DATABASE_URL": f"sqlite:///{work / 'rollcall.db'}",
            "ROLLCALL_ADMIN_KEY": KEY,
            "OMP_NUM_THREADS": "1",
        }
        port = 8731
        with log.open("w") as out:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "app.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(url, server)
            with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=120) as admin:
                enroll(admin)
                for mode in modes:
                    done = len(server_checkin_ms(log))
                    run = measure(mode, url, admin, args, log, server.pid, work, commit)
                    report(mode, run, server_checkin_ms(log)[done:])
        finally:
            server.terminate()
            server.wait(timeout=30)


def wait_for(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("the server exited")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.5)
    sys.exit("the server did not answer /health")


def enroll(admin: httpx.Client) -> None:
    for i, (name, enrolled, _) in enumerate(PEOPLE):
        student = admin.post("/api/v1/students", json={"external_id": f"B{i}", "name": name})
        photo = (FACES / enrolled).read_bytes()
        answer = admin.post(
            f"/api/v1/students/{student.json()['id']}/photo",
            files={"file": ("p.jpg", photo, "image/jpeg")},
        )
        answer.raise_for_status()


if __name__ == "__main__":
    main()
