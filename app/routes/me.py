from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import ContextDep, current_role
from app.roles import Role
from app.schemas import RoleOut

router = APIRouter(tags=["access keys"])


@router.get("/me", response_model=RoleOut)
def who_am_i(context: ContextDep, role: Annotated[Role, Depends(current_role)]) -> RoleOut:
    """The role of the key presented (the pages show only what that role may do), and whether
    check-ins need a liveness challenge (the kiosk then runs one)."""
    return RoleOut(role=role, liveness=context.settings.liveness)
