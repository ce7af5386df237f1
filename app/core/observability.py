"""Structured JSON logs with a request id, per-stage timings, and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import time
import uuid
from contextvars import ContextVar

from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.datastructures import MutableHeaders
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import database_unavailable, error_response, unavailable_response
from models.timing import StageTimer

request_id: ContextVar[str] = ContextVar("request_id", default="-")
stage_timer: ContextVar[StageTimer | None] = ContextVar("stage_timer", default=None)
log = logging.getLogger("rollcall")

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Every log line as JSON on stderr: ours, uvicorn's, and warnings (PIL's among them).

    uvicorn's access log is switched off, however uvicorn was started: `observe` already logs
    each request once, with its request id and stage timings.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.captureWarnings(True)  # warnings.warn (e.g. PIL's DecompressionBombWarning) -> log
    for name in ("rollcall", "app", "models", "uvicorn", "uvicorn.error", "py.warnings", "PIL"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel("WARNING" if name == "PIL" else level)  # PIL's info is chatter
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True


class OneLineStartupFailure:
    """ASGI wrapper: a start-up refused for a setting to change (the app's lifespan leaves
    its one-line reason in `app.state.startup_failure`) is reported to the server as that
    line, not as a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_one_line(message: Message) -> None:
            failure = getattr(scope["app"].state, "startup_failure", None)
            if message["type"] == "lifespan.startup.failed" and failure:
                message = {**message, "message": failure}
            await send(message)

        # The error still propagates: uvicorn, told of the failure, exits without a traceback.
        await self.app(scope, receive, send_one_line)


def current_timer() -> StageTimer:
    """The timer of the request being served (a throwaway one outside requests)."""
    return stage_timer.get() or StageTimer()


class Metrics:
    """The service's Prometheus metrics, in a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rollcall_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rollcall_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stages = Histogram(
            "rollcall_stage_duration_seconds",
            "Time per pipeline stage (decode, detect, align, embed, search)",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.checkins = Counter(
            "rollcall_checkin_faces_total",
            "Faces seen at check-in, by decision",
            ["decision"],
            registry=self.registry,
        )
        self.gallery_templates = Gauge(
            "rollcall_gallery_templates", "Templates in the search gallery", registry=self.registry
        )
        self.gallery_students = Gauge(
            "rollcall_gallery_students", "Students in the search gallery", registry=self.registry
        )


def _route_label(request: Request) -> str:
    """The matched endpoint's path template (one metrics label per endpoint, never per id).

    API routes leave themselves in the scope once routed (a request refused before routing
    stays "unmatched"); FastAPI's own plain routes (/docs, /openapi.json) never do, so they
    are looked up. The route's own template may lack the prefixes of the routers that include
    it; those are the leading segments of the requested path.
    """
    plain = (r for r in request.app.router.routes if type(r) is Route)
    route = request.scope.get("route") or next(
        (r for r in plain if r.matches(request.scope)[0] == Match.FULL), None
    )
    if route is None:
        return "unmatched"
    route_parts = route.path.strip("/").split("/")
    url_parts = request.url.path.strip("/").split("/")
    prefix = url_parts[: max(0, len(url_parts) - len(route_parts))]
    return "/" + "/".join(prefix + route_parts)


class RequestObserver:
    """ASGI middleware: times, counts and logs every request, under an id the caller may give
    (X-Request-ID), and answers a bug (an exception no handler took) in the error shape.

    Plain ASGI, not `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs the app in
    a task of its own and passes the request and answer through memory streams, 0.3-0.7 ms a
    request. The duration runs to the answer's last byte handed to the server.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        rid_token, timer_token = request_id.set(rid[:64]), stage_timer.set(StageTimer())
        start = time.perf_counter()
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                MutableHeaders(scope=message)["X-Request-ID"] = request_id.get()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if database_unavailable(exc) and not started:
                # Not a bug: the database is down, silent or locked. One line, no traceback.
                log.warning(
                    "database unavailable",
                    extra={"fields": {"path": request.url.path, "error": type(exc).__name__}},
                )
                await unavailable_response()(scope, receive, send_with_id)
                return
            # A bug, not a refusal: logged once with its traceback, answered in the error
            # shape with the id that finds the log line (unless the answer had begun).
            log.exception("unhandled error", extra={"fields": {"path": request.url.path}})
            if started:
                raise
            await error_response(
                500,
                "internal",
                "An unexpected error occurred; it has been logged under this request id.",
                {"request_id": request_id.get()},
            )(scope, receive, send_with_id)
        finally:
            self._observe(request, status, time.perf_counter() - start)
            request_id.reset(rid_token)
            stage_timer.reset(timer_token)

    def _observe(self, request: Request, status: int, elapsed: float) -> None:
        route = _route_label(request)
        stages = current_timer().seconds
        self.metrics.requests.labels(request.method, route, str(status)).inc()
        self.metrics.latency.labels(request.method, route).observe(elapsed)
        for stage, seconds in stages.items():
            self.metrics.stages.labels(stage).observe(seconds)
        log.info(
            "request",
            extra={
                "fields": {
                    "method": request.method,
                    "path": request.url.path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "stages_ms": {k: round(v * 1000, 1) for k, v in stages.items()},
                    "role": str(getattr(getattr(request.state, "caller", None), "role", "") or ""),
                }
            },
        )


def install(app: FastAPI, metrics: Metrics) -> None:
    """Time, count and log every request (RequestObserver)."""
    app.add_middleware(RequestObserver, metrics=metrics)
