from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.api.deps import ContextDep, current_role
from app.api.schemas import ANY_REQUEST, RoleOut, error_responses
from app.core.roles import Role

router = APIRouter(tags=["access keys"])


# Any valid key may ask (no 403); a missing, unknown or throttled one may not.
@router.get("/me", response_model=RoleOut, responses=error_responses(401, 429, *ANY_REQUEST))
def who_am_i(context: ContextDep, role: Annotated[Role, Depends(current_role)]) -> RoleOut:
    """The role of the key presented (the pages show only what that role may do), and whether
    check-ins need a liveness challenge (the kiosk then runs one)."""
    return RoleOut(role=role, liveness=context.settings.liveness)
