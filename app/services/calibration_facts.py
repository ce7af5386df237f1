"""What `rollcall calibrate` must know of the service it calibrates for: how many students it
searches now, the settings that decide whether a threshold is fixed or size-aware, and whether
it mirror-averages (the curve must be of the embeddings the service compares).

models/ knows nothing of the service's database, so app.cli hands this to the command
(`gallery_facts` in its defaults). Read from the same .env the command would write.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GalleryFacts:
    students: int  # students with at least one template: those a check-in searches
    max_fpir: float  # ROLLCALL_MAX_FPIR
    far_curve: Path | None  # ROLLCALL_FAR_CURVE: a written threshold is then only a ceiling
    database: str  # where the students were counted (redacted), for the message
    backbone: str  # ROLLCALL_BACKBONE
    mirrored: bool  # whether the service mirror-averages (app.context.served_mirroring)


def gallery_facts(env_file: Path) -> GalleryFacts:
    """The facts for the service that reads `env_file` (and the environment, which wins)."""
    from pydantic import ValidationError
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    from app.context import served_mirroring
    from app.core.config import ConfigurationError, Settings, describe_invalid_settings
    from app.core.db import redacted, require_database

    try:
        settings = Settings(_env_file=env_file)
    except ValidationError as exc:
        raise ConfigurationError(describe_invalid_settings(exc)) from None
    url = settings.database_url
    # create=True only checks the URL (and connects to a server): it makes no SQLite file.
    require_database(url, create=True)
    sqlite_file = make_url(url).database if make_url(url).get_backend_name() == "sqlite" else None
    facts = functools.partial(
        GalleryFacts,
        max_fpir=settings.max_fpir,
        far_curve=settings.far_curve,
        database=redacted(url),
        backbone=settings.backbone,
    )
    if sqlite_file and not Path(sqlite_file).is_file():
        return facts(students=0, mirrored=served_mirroring(settings, None))
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            students, mirrored = 0, served_mirroring(settings, None)  # not migrated: nobody
            if inspect(connection).has_table("face_templates"):
                counted = text("SELECT COUNT(DISTINCT student_id) FROM face_templates")
                students = connection.execute(counted).scalar_one()
                mirrored = served_mirroring(settings, connection)
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"cannot count the enrolled students in {redacted(url)}: {exc.__class__.__name__} "
            "(is ROLLCALL_DATABASE_URL right?)"
        ) from None
    finally:
        engine.dispose()
    return facts(students=students, mirrored=mirrored)
