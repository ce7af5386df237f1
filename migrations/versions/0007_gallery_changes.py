"""gallery change log: workers apply deltas instead of reloading the whole gallery

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as app.core.tables.Id

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gallery_state") as batch:
        batch.add_column(sa.Column("log_start", Id, nullable=False, server_default="0"))
    op.create_table(
        "gallery_changes",
        sa.Column("id", Id, nullable=False),
        sa.Column("revision", Id, nullable=False),
        sa.Column("student_id", Id, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_gallery_changes_revision"), "gallery_changes", ["revision"])
    # Existing workers' revisions predate the log: they reload in full once.
    op.execute("UPDATE gallery_state SET log_start = revision")


def downgrade() -> None:
    op.drop_index(op.f("ix_gallery_changes_revision"), table_name="gallery_changes")
    op.drop_table("gallery_changes")
    with op.batch_alter_table("gallery_state") as batch:
        batch.drop_column("log_start")
