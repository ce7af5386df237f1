"""CSV answers, shared by the endpoints that offer JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Header, Query
from fastapi.responses import Response

FormatQuery = Annotated[Literal["json", "csv"] | None, Query()]
AcceptHeader = Annotated[str | None, Header()]
CSV_OR_JSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV on request"}
}


def wants_csv(format: str | None, accept: str | None) -> bool:
    """`?format=csv`, or no format and `Accept: text/csv`."""
    return format == "csv" or (format is None and accept is not None and "text/csv" in accept)


def csv_response(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
