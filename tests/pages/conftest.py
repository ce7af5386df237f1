"""The web pages in a real browser: Debian's Chromium driven by Playwright, against README's
uvicorn command on a real SQLite file, with Chromium's fake camera playing a video made here
from the shared photos. One server and one Playwright for all page tests; a browser per camera.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageOps
from playwright.sync_api import Browser, Page, Playwright, Route, sync_playwright

from tests.support.server import serving
from tests.support.settings import ADMIN_KEY

CHROMIUM = os.environ.get("ROLLCALL_CHROMIUM", "/usr/bin/chromium")  # Debian's package
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",  # tests run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
FAKE_CAMERA = "--use-fake-device-for-media-stream"
ALLOW_CAMERA = "--use-fake-ui-for-media-stream"  # grants the page's camera request
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # an iPhone 12-15's CSS viewport
CAMERA_SIZE = (640, 480)


def serve_pages(
    tmp_path_factory: pytest.TempPathFactory, name: str, **settings: str
) -> Iterator[str]:
    """A real server on a fresh SQLite file, with these extra ROLLCALL_* settings: a module
    that needs other settings overrides `server` with it."""
    workdir = tmp_path_factory.mktemp(name)
    database = f"sqlite:///{workdir / 'rollcall.db'}"
    with serving(database, workdir / "server.log", **settings) as url:
        yield url


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_pages(tmp_path_factory, "pages-server")


@pytest.fixture(scope="module")  # module: follows a module's own `server`
def admin(server: str) -> Iterator[httpx.Client]:
    """The REST API with the admin key: the tests' own setup and checks, beside the pages."""
    with httpx.Client(base_url=server, timeout=60, headers={"X-API-Key": ADMIN_KEY}) as client:
        yield client


def new_key(admin: httpx.Client, role: str) -> str:
    created = admin.post("/api/v1/keys", json={"name": f"{role} for the page tests", "role": role})
    assert created.status_code == 201, created.text
    return created.json()["key"]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: `apt-get install chromium` (.ci/chromium does it)"
        )
    with sync_playwright() as driver:
        yield driver


Launch = Callable[..., Browser]


@pytest.fixture(scope="session")
def launch(playwright: Playwright) -> Iterator[Launch]:
    """`launch(camera, allowed=True)` starts Chromium with a fake camera playing `camera` (a .y4m
    video), or with none; `allowed=False`: the page is refused the camera, as a user may.
    `extra` are more Chromium flags (e.g. a host name for 127.0.0.1)."""
    browsers: list[Browser] = []

    def start(camera: Path | None, allowed: bool = True, extra: Sequence[str] = ()) -> Browser:
        args = [*BROWSER_ARGS, *extra]
        if camera is not None:
            args += [FAKE_CAMERA, f"--use-file-for-fake-video-capture={camera}"]
        if allowed:
            args.append(ALLOW_CAMERA)  # else headless Chromium answers the page NotAllowedError
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        browsers.append(browser)
        return browser

    yield start
    for browser in browsers:
        browser.close()


def y4m_from_photo(photo: Path, out: Path) -> Path:
    """A still video (YUV4MPEG2, 4:2:0) of the photo, letterboxed, for Chromium's fake camera."""
    image = ImageOps.pad(ImageOps.exif_transpose(Image.open(photo)).convert("RGB"), CAMERA_SIZE)
    luma, blue, red = image.convert("YCbCr").split()
    half = (CAMERA_SIZE[0] // 2, CAMERA_SIZE[1] // 2)
    frame = b"FRAME\n" + luma.tobytes() + blue.resize(half).tobytes() + red.resize(half).tobytes()
    width, height = CAMERA_SIZE
    header = f"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n".encode()
    out.write_bytes(header + frame * 5)  # Chromium loops the file: a steady face
    return out


@pytest.fixture(scope="session")
def screenshots(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Callable[[Page, str], None]:
    """Saves a page at desktop and phone widths, for a person to look at; fails if it is wider
    than the screen (a phone user would have to scroll sideways)."""
    folder = Path(os.environ.get("ROLLCALL_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"page screenshots: {folder}")

    def save(page: Page, name: str) -> None:
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.screenshot(path=folder / f"{name}-{label}.png", full_page=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= size["width"], f"{name} is {width} px wide on a {label} ({size})"
        page.set_viewport_size(DESKTOP)

    return save


# As strict as a deployment may set (no inline script or style, nothing from elsewhere): the
# pages must work under it. The tests add it to the pages' answers themselves.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PAGES = re.compile(r"/(kiosk|admin)(\?.*)?$")


@dataclass
class PageWatch:
    """What a page did wrong: asked another host for something, threw, or broke the CSP."""

    elsewhere: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.elsewhere == [], f"the page loaded from elsewhere: {self.elsewhere}"
        assert self.errors == [], f"the page had errors: {self.errors}"


def _with_strict_csp(route: Route) -> None:
    response = route.fetch()
    route.fulfill(
        response=response, headers={**response.headers, "content-security-policy": STRICT_CSP}
    )


def watch(page: Page, server: str, strict_csp: bool = True) -> PageWatch:
    """Serves the pages under STRICT_CSP and records what they do wrong. `strict_csp=False`
    for a host name only the browser resolves: Playwright fetches routed pages itself."""
    seen = PageWatch()
    if strict_csp:
        page.route(PAGES, _with_strict_csp)
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((server, "data:", "blob:"))
            else seen.elsewhere.append(request.url)
        ),
    )
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            seen.errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return seen


STAFF_PIN = "482913"


def sign_in_kiosk(page: Page, key: str, pin: str = STAFF_PIN) -> None:
    """Starts the kiosk page (already open) with a key typed in and its staff PIN."""
    page.locator(".key-signin summary").click()
    page.get_by_label("Kiosk key").fill(key)
    page.locator("#kiosk-pin").fill(pin)
    page.get_by_role("button", name="Start").click()


# axe-core, the npm package, installed by .ci/axe (sourced by .ci/run) into tests/pages/.axe:
# served to the page under test from the page's own origin (a routed URL), never from a CDN.
AXE_FILE = Path(__file__).parent / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/__axe-core/axe.min.js"  # answered by the test's route, not by the server
AXE_BLOCKING = ("serious", "critical")


def axe_source() -> str:
    if not AXE_FILE.is_file():
        pytest.fail(f"axe-core is missing at {AXE_FILE}: `source .ci/axe` installs it (npm)")
    return AXE_FILE.read_text()


def axe_violations(page: Page, server: str) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now, each with the
    first few elements it names."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        source = axe_source()
        page.route(
            f"{server}{AXE_PATH}",
            lambda route: route.fulfill(body=source, content_type="text/javascript"),
        )
        page.add_script_tag(url=f"{server}{AXE_PATH}")
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
                count: v.nodes.length,
            }));
        }"""
    )
    return [v for v in found if v["impact"] in AXE_BLOCKING]


def assert_accessible(page: Page, server: str, name: str) -> None:
    violations = axe_violations(page, server)
    assert violations == [], f"axe-core on {name}: {violations}"
