"""kiosk pairing codes, and a staff PIN on kiosk keys

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as app.core.tables.Id

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing keys have no PIN: a kiosk signed in with one sets its PIN at its next sign-in.
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("pin_hash", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("pin_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("pin_locked_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "kiosk_pairings",
        sa.Column("id", Id, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_guesses", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("key_id", Id, nullable=True),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index(op.f("ix_kiosk_pairings_expires_at"), "kiosk_pairings", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_kiosk_pairings_expires_at"), table_name="kiosk_pairings")
    op.drop_table("kiosk_pairings")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("pin_locked_until")
        batch.drop_column("pin_failures")
        batch.drop_column("pin_hash")
