"""64-bit ids

The API accepts ids up to 2^63-1; on PostgreSQL the ids were 32-bit, so larger ones failed
(500) instead of answering "not found". SQLite's INTEGER is 64-bit already (and must stay
INTEGER to remain the rowid), so only PostgreSQL changes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every id and reference to one (and the gallery revision counter), table by table; the first
# column of each is its serial primary key.
ID_COLUMNS = {
    "students": ["id"],
    "class_sessions": ["id"],
    "api_keys": ["id"],
    "face_templates": ["id", "student_id"],
    "checkin_attempts": ["id", "session_id", "best_student_id"],
    "attendance": ["id", "student_id", "session_id", "checkin_id"],
    "gallery_state": ["id", "revision"],
}


def _change(to: type[sa.Integer], sequence_type: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    before = sa.Integer if to is sa.BigInteger else sa.BigInteger
    for table, columns in ID_COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=to(), existing_type=before())
        sequence = op.get_bind().scalar(sa.text(f"SELECT pg_get_serial_sequence('{table}', 'id')"))
        op.execute(f"ALTER SEQUENCE {sequence} AS {sequence_type}")


def upgrade() -> None:
    _change(sa.BigInteger, "BIGINT")


def downgrade() -> None:
    # Refused by PostgreSQL (nothing changed) if an id no longer fits in 32 bits.
    _change(sa.Integer, "INTEGER")
