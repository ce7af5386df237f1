"""indexes on class_sessions.starts_at and checkin_attempts.session_id

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The office's lists of sessions are ranges of days in time order; a session's report
    # counts its check-in attempts, a table that holds every face the kiosks saw.
    op.create_index("ix_class_sessions_starts_at", "class_sessions", ["starts_at"])
    op.create_index("ix_checkin_attempts_session_id", "checkin_attempts", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_checkin_attempts_session_id", table_name="checkin_attempts")
    op.drop_index("ix_class_sessions_starts_at", table_name="class_sessions")
