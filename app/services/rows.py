"""Reading one row by its id, or refusing with the service's 404."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from app.core.errors import NotFound
from app.core.tables import Base

Row = TypeVar("Row", bound=Base)


def get_or_404(
    db: Session,
    model: type[Row],
    row_id: int,
    code: str,
    message: str,
    *,
    with_for_update: dict[str, Any] | None = None,
) -> Row:
    """The `model` row with id `row_id`; else NotFound(code, message)."""
    row = db.get(model, row_id, with_for_update=with_for_update)
    if row is None:
        raise NotFound(code, message)
    return row
