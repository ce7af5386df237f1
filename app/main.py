"""The Rollcall web service: `uvicorn app.main:app`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.guard import RequestGuard, SecurityHeaders
from app.api.pages import router as pages
from app.api.routes import (
    attendance,
    checkins,
    courses,
    health,
    keys,
    kiosk,
    marks,
    me,
    metrics,
    register,
    reports,
    sessions,
    students,
    timetable,
)
from app.context import ServiceContext
from app.core.config import ConfigurationError, Settings, get_settings
from app.core.errors import install_error_handlers
from app.core.observability import Metrics, OneLineStartupFailure, configure_logging, install
from models.embedder import FacePipeline

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, embedder: FacePipeline | None = None) -> FastAPI:
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
    # uvicorn's access log would repeat each request in plain text with its query string, and
    # search terms are names; the JSON request log (app.core.observability) logs the path only.
    logging.getLogger("uvicorn.access").disabled = True
    observed = Metrics()
    app = FastAPI(
        title="Rollcall",
        description="Face-verification attendance: enroll one photo, check in by face.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by app.api.pages from local files: FastAPI's own loads a CDN
        redoc_url=None,
    )
    for router in (
        students.router,
        checkins.router,
        courses.router,
        sessions.router,
        timetable.router,
        marks.router,
        attendance.router,
        reports.router,
        register.router,
        keys.router,
        kiosk.router,
        me.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(metrics.router)
    pages.install(app)

    # Added before `install`, so refusals are inside it: logged, counted, given an id.
    app.add_middleware(RequestGuard)
    install(app, observed)
    app.add_middleware(OneLineStartupFailure)
    app.add_middleware(SecurityHeaders)  # outermost: every answer gets them, refusals too

    install_error_handlers(app)
    return app


app = create_app()
