from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.context import ServiceContext
from app.deps import ContextDep, PresentedKey, authenticate
from app.errors import Unauthorized
from app.schemas import HealthOut, HealthStatus

router = APIRouter(tags=["health"])


def _valid(context: ServiceContext, key: str | None) -> bool:
    try:
        authenticate(context, key)
    except Unauthorized:
        return False
    return True


@router.get(
    "/health",
    response_model=HealthOut | HealthStatus,
    responses={503: {"model": HealthStatus, "description": "the database does not answer"}},
)
def health(context: ContextDep, key: PresentedKey) -> JSONResponse:
    """Status for anyone (a load balancer's probe); the details only with a valid key."""
    try:
        with context.db.read_session() as db:
            db.execute(text("SELECT 1"))
        context.gallery_store.sync()
        database = True
    except Exception:
        database = False
    status_code = 200 if database else 503
    status = HealthStatus(status="ok" if database else "degraded")
    if not (database and _valid(context, key)):  # without a database no key can be checked
        return JSONResponse(status.model_dump(), status_code=status_code)
    body = HealthOut(
        **status.model_dump(),
        model_loaded=True,  # the app does not start without its model
        database=database,
        backbone=context.embedder.spec.name,
        weights_version=context.embedder.version,
        threshold=context.identification_threshold(),
        max_fpir=context.rule.max_fpir if context.rule.curve else None,
        gallery_templates=len(context.gallery),
        gallery_students=context.gallery.student_count,
        stale_templates=context.gallery_store.stale_templates,
    )
    return JSONResponse(body.model_dump(), status_code=status_code)
