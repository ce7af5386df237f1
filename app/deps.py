"""FastAPI dependencies: the service context, a database session, an uploaded photo."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, File, Request, UploadFile
from sqlalchemy.orm import Session

from app.context import ServiceContext
from app.errors import TooLarge, Unprocessable

UPLOAD_CHUNK = 1024 * 1024


def get_context(request: Request) -> ServiceContext:
    return request.app.state.context


ContextDep = Annotated[ServiceContext, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    with context.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def read_photo(
    context: ContextDep, file: Annotated[UploadFile, File(description="an image file")]
) -> bytes:
    """The uploaded photo's bytes, refusing more than the upload limit."""
    limit = context.settings.max_upload_bytes
    if file.size is not None and file.size > limit:
        raise _too_large(limit)
    data = bytearray()
    while chunk := await file.read(UPLOAD_CHUNK):
        data += chunk
        if len(data) > limit:
            raise _too_large(limit)
    if not data:
        raise Unprocessable("empty_file", "The uploaded file is empty.")
    return bytes(data)


def _too_large(limit: int) -> TooLarge:
    return TooLarge("upload_too_large", f"The upload is larger than {limit // 1024} KiB.")


PhotoDep = Annotated[bytes, Depends(read_photo)]
