from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import ContextDep, allow
from app.api.schemas import ANY_KEYED, error_responses
from app.core.roles import Role

router = APIRouter(
    tags=["operations"], dependencies=[allow(Role.viewer)], responses=error_responses(*ANY_KEYED)
)


@router.get("/metrics", response_class=Response)
def metrics(context: ContextDep) -> Response:
    """Prometheus metrics: requests, latency histograms, check-in outcomes, gallery size."""
    context.metrics.gallery_templates.set(len(context.gallery))
    context.metrics.gallery_students.set(context.gallery.student_count)
    return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)
