from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.deps import ContextDep
from app.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
def health(context: ContextDep) -> JSONResponse:
    try:
        with context.db.read_session() as session:
            session.execute(text("SELECT 1"))
            context.sync_gallery(session)
        database = True
    except Exception:
        database = False
    body = HealthOut(
        status="ok" if database else "degraded",
        model_loaded=True,  # the app does not start without its model
        database=database,
        backbone=context.embedder.spec.name,
        weights_version=context.embedder.version,
        threshold=context.identification_threshold(),
        max_fpir=context.rule.max_fpir if context.rule.curve else None,
        gallery_templates=len(context.gallery),
        gallery_students=context.gallery.student_count,
        stale_templates=context.stale_templates,
    )
    return JSONResponse(body.model_dump(), status_code=200 if database else 503)
