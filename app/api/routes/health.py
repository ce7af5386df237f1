from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.deps import ContextDep, PresentedKey, authenticate, client_of
from app.api.schemas import HealthOut, HealthStatus, error_responses
from app.context import ServiceContext
from app.core.errors import RETRY_AFTER_SECONDS, TooManyRequests, Unauthorized

router = APIRouter(tags=["health"])


def _valid(context: ServiceContext, key: str | None, client: str | None) -> bool:
    # Counted like any other route's keys: /health must be no way round the throttle.
    try:
        authenticate(context, key, client)
    except (Unauthorized, TooManyRequests):
        return False
    return True


def unavailable_health(status: HealthStatus) -> JSONResponse:
    """503 with a Retry-After, as every route answers while the database is unavailable."""
    response = JSONResponse(status.model_dump(), status_code=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@router.get(
    "/health",
    response_model=HealthOut | HealthStatus,
    responses={
        **error_responses(400, 414, 431, 500),
        503: {"model": HealthStatus, "description": "the database does not answer"},
    },
)
def health(request: Request, context: ContextDep, key: PresentedKey) -> JSONResponse:
    """Status for anyone (a load balancer's probe); the details only with a valid key."""
    # A probe of its own, outside the pool: stuck pooled connections never hold it up.
    database = context.db.answers()
    if database:
        try:
            context.gallery_store.sync()
        except Exception:
            database = False
    if not database:  # without a database no key can be checked: no details
        return unavailable_health(HealthStatus(status="degraded"))
    status = HealthStatus(status="ok")
    if not _valid(context, key, client_of(request)):
        return JSONResponse(status.model_dump())
    body = HealthOut(
        **status.model_dump(),
        model_loaded=True,  # the app does not start without its model
        database=database,
        backbone=context.embedder.spec.name,
        weights_version=context.embedder.version,
        threshold=context.recognizer.identification_threshold(),
        max_fpir=context.rule.max_fpir if context.rule.curve else None,
        gallery_templates=len(context.gallery),
        gallery_students=context.gallery.student_count,
        stale_templates=context.gallery_store.stale_templates,
    )
    return JSONResponse(body.model_dump())
