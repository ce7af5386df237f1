"""attendance statuses and sources, the marks' audit trail, teacher keys' courses

A mark has a status (present, late, excused, absent), a source (face, manual) and a reason;
a manual mark may have no check-in (its time and similarity are then null). Every change to a
mark is an event. A teacher key reads and corrects the courses it is assigned.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("attendance") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="present")
        )
        batch.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="face")
        )
        batch.add_column(sa.Column("reason", sa.String(length=500), nullable=True))
        batch.alter_column(
            "first_checkin_at", existing_type=sa.DateTime(timezone=True), nullable=True
        )
        batch.alter_column("similarity", existing_type=sa.Float(), nullable=True)
    # Every existing row was a face check-in: present, or late by its flag.
    op.execute(sa.text("UPDATE attendance SET status = 'late' WHERE late"))
    op.create_table(
        "attendance_events",
        sa.Column("id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("student_id", Id, nullable=False),
        sa.Column("session_id", Id, nullable=True),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("key_id", Id, nullable=True),
        sa.Column("key_name", sa.String(length=100), nullable=False),
        sa.Column("before_status", sa.String(length=16), nullable=True),
        sa.Column("before_source", sa.String(length=16), nullable=True),
        sa.Column("after_status", sa.String(length=16), nullable=True),
        sa.Column("after_source", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["class_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_attendance_events_student_id"), "attendance_events", ["student_id"])
    op.create_index(op.f("ix_attendance_events_session_id"), "attendance_events", ["session_id"])
    op.create_table(
        "api_key_courses",
        sa.Column("key_id", Id, nullable=False),
        sa.Column("course_id", Id, nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key_id", "course_id"),
    )
    op.create_index(op.f("ix_api_key_courses_course_id"), "api_key_courses", ["course_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_api_key_courses_course_id"), table_name="api_key_courses")
    op.drop_table("api_key_courses")
    op.drop_index(op.f("ix_attendance_events_session_id"), table_name="attendance_events")
    op.drop_index(op.f("ix_attendance_events_student_id"), table_name="attendance_events")
    op.drop_table("attendance_events")
    # The older schema knew only presence: an absent or excused mark was no row; a manual
    # present or late mark without a check-in takes its creation time and similarity 0.
    # Teacher keys lose their courses and, with no role of that name left, are revoked.
    op.execute(sa.text("DELETE FROM attendance WHERE status IN ('absent', 'excused')"))
    op.execute(
        sa.text(
            "UPDATE attendance SET first_checkin_at = COALESCE(first_checkin_at, created_at), "
            "similarity = COALESCE(similarity, 0)"
        )
    )
    op.execute(
        sa.text(
            "UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP "
            "WHERE role = 'teacher' AND revoked_at IS NULL"
        )
    )
    with op.batch_alter_table("attendance") as batch:
        batch.alter_column(
            "first_checkin_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch.alter_column("similarity", existing_type=sa.Float(), nullable=False)
        batch.drop_column("reason")
        batch.drop_column("source")
        batch.drop_column("status")
