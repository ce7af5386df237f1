"""What a running service holds once per process: settings, database, model and gallery."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from app.config import Settings
from app.db import Database
from app.gallery import Gallery
from app.migrate import upgrade
from app.observability import Metrics
from app.tables import FaceTemplate, Student
from models.embedder import FaceEmbedder

log = logging.getLogger(__name__)


@dataclass
class ServiceContext:
    settings: Settings
    db: Database
    embedder: FaceEmbedder
    gallery: Gallery
    metrics: Metrics
    stale_templates: int = 0  # templates of other weights, left out of the gallery

    @property
    def threshold(self) -> float:
        return self.settings.distance_threshold

    @classmethod
    def start(
        cls, settings: Settings, metrics: Metrics, embedder: FaceEmbedder | None = None
    ) -> ServiceContext:
        """Migrate, connect, load the model (unless one is handed over) and fill the gallery."""
        if settings.migrate_on_startup:
            upgrade(settings.database_url)
        db = Database(settings.database_url)
        embedder = embedder or FaceEmbedder(settings.embedder_config())
        gallery = Gallery(embedder.spec.embedding_dim, embedder.distances)
        context = cls(settings, db, embedder, gallery, metrics)
        context.reload_gallery()
        return context

    def reload_gallery(self) -> None:
        """Rebuild the gallery from the database: active students, templates of OUR weights."""
        with self.db.session() as session:
            rows = session.execute(
                select(
                    FaceTemplate.student_id, FaceTemplate.embedding, FaceTemplate.weights_version
                )
                .join(Student)
                .where(Student.active)
            ).all()
        usable = [(sid, emb) for sid, emb, version in rows if version == self.embedder.version]
        stale = len(rows) - len(usable)
        if stale:
            # Embeddings of other weights live in another space: comparing them would be noise.
            log.warning(
                "%d enrolled templates were made by other weights than %s and are not searched; "
                "re-embed them (`rollcall reembed`, needs kept photos) or re-enroll the students",
                stale,
                self.embedder.version,
            )
        self.stale_templates = stale
        self.gallery.load((sid, np.frombuffer(emb, dtype="<f4")) for sid, emb in usable)

    def close(self) -> None:
        self.db.dispose()
