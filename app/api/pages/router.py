"""Routes of the web pages. The pages hold no data of their own: their JavaScript calls the REST
API with the access key the user signed in with, so every rule stays in the API.

Every asset is served from here (no CDN): the pages' own files under /static, Swagger UI's from
the `swagger-ui-bundle-v2` package under /static/swagger-ui.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/admin")


@router.get("/kiosk", response_class=HTMLResponse)
def kiosk(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "kiosk.html", {"title": "Kiosk"})


def _office_modules() -> list[str]:
    """Every script module the office imports, for `<link rel="modulepreload">`: the browser
    asks for them all at once instead of one level of imports after another."""
    scripts = HERE / "static" / "js"
    office = sorted(f"js/office/{path.name}" for path in (scripts / "office").glob("*.js"))
    return [*office, "js/api.js", "js/dom.js", "js/words.js"]


OFFICE_MODULES = _office_modules()


@router.get("/admin", response_class=HTMLResponse)
def office(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "admin.html", {"title": "Office", "modules": OFFICE_MODULES}
    )


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI from local files, started by a script file (no inline script: strict CSP)."""
    return templates.TemplateResponse(request, "docs.html", {"title": "API docs"})


def install(app: FastAPI) -> None:
    """The pages' routes and static files; the app must be made with `docs_url=None`."""
    app.include_router(router)
    # The more specific mount first: Starlette matches mounts in order.
    app.mount(
        "/static/swagger-ui",
        StaticFiles(directory=Path(str(swagger_ui_bundle.swagger_ui_path))),
        name="swagger-ui",
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
