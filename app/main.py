"""The Rollcall web service: `uvicorn app.main:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.config import ConfigurationError, Settings, get_settings
from app.context import ServiceContext
from app.errors import ServiceError
from app.observability import Metrics, OneLineStartupFailure, configure_logging, install
from app.pages import router as pages
from app.routes import attendance, checkins, health, keys, me, metrics, sessions, students
from models.embedder import FaceEmbedder

API_PREFIX = "/api/v1"
MULTIPART_OVERHEAD = 64 * 1024  # form boundaries and fields around the file


def _error(status: int, code: str, message: str, details: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status_code=status,
    )


def create_app(settings: Settings | None = None, embedder: FaceEmbedder | None = None) -> FastAPI:
    """The app; `embedder` lets several apps in one process (tests) share one loaded model."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The model is loaded once per process, here, not per request.
        try:
            app.state.context = ServiceContext.start(
                settings or get_settings(), observed, embedder, serving=True
            )
        except ConfigurationError as exc:
            app.state.startup_failure = f"Rollcall cannot start: {exc}"
            raise
        yield
        app.state.context.close()

    configure_logging()
    observed = Metrics()
    app = FastAPI(
        title="Rollcall",
        description="Face-verification attendance: enroll one photo, check in by face.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by app.pages from local files: FastAPI's own loads a CDN
        redoc_url=None,
    )
    for router in (
        students.router,
        checkins.router,
        sessions.router,
        attendance.router,
        keys.router,
        me.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(metrics.router)
    pages.install(app)

    # Registered before `install`, so refusals are inside it: logged, counted, given an id.
    @app.middleware("http")
    async def refuse_oversized_uploads(request: Request, call_next):  # type: ignore[no-untyped-def]
        # Refused from the Content-Length header, before the body is received and spooled.
        limit = (settings or get_settings()).max_upload_bytes + MULTIPART_OVERHEAD
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            return _error(
                413, "upload_too_large", f"The upload is larger than {limit // 1024} KiB."
            )
        return await call_next(request)

    install(app, observed)
    app.add_middleware(OneLineStartupFailure)

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return _error(exc.status_code, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "problem": e["msg"]}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{p['field'] or 'body'}: {p['problem']}" for p in problems)
        return _error(422, "invalid_request", summary, {"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "upload_too_large"}.get(
            exc.status_code, "http_error"
        )
        return _error(exc.status_code, code, str(exc.detail))

    return app


app = create_app()
