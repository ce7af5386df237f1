"""check-in thumbnails kept with their marks; liveness challenges of several actions

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as app.core.tables.Id

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkin_thumbnails",
        sa.Column("id", Id, nullable=False),
        sa.Column("attendance_id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["attendance_id"], ["attendance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attendance_id"),
    )
    op.create_index("ix_checkin_thumbnails_created_at", "checkin_thumbnails", ["created_at"])
    # A challenge's actions, space-separated: up to three of them.
    with op.batch_alter_table("liveness_challenges") as batch:
        batch.alter_column("action", existing_type=sa.String(length=16), type_=sa.String(length=64))


def downgrade() -> None:
    # Challenges live 30 seconds; those of several actions cannot be kept in 16 characters.
    op.execute("DELETE FROM liveness_challenges WHERE length(action) > 16")
    with op.batch_alter_table("liveness_challenges") as batch:
        batch.alter_column("action", existing_type=sa.String(length=64), type_=sa.String(length=16))
    op.drop_index("ix_checkin_thumbnails_created_at", table_name="checkin_thumbnails")
    op.drop_table("checkin_thumbnails")
