"""liveness challenges remember the key that asked for them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Challenges issued before have no key: none can answer them (they expire in 30 s).
    with op.batch_alter_table("liveness_challenges") as batch:
        batch.add_column(sa.Column("key_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("liveness_challenges") as batch:
        batch.drop_column("key_hash")
