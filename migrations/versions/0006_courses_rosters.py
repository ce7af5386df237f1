"""courses and rosters, late arrivals

A course's roster is what a check-in for one of its sessions searches; a session may have a
grace period after which check-ins are late.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", Id, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "course_students",
        sa.Column("course_id", Id, nullable=False),
        sa.Column("student_id", Id, nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("course_id", "student_id"),
    )
    op.create_index(op.f("ix_course_students_student_id"), "course_students", ["student_id"])
    # Batch: SQLite adds a foreign key only by copying the table.
    with op.batch_alter_table("class_sessions") as batch:
        batch.add_column(sa.Column("course_id", Id, nullable=True))
        batch.add_column(sa.Column("grace_minutes", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_class_sessions_course_id", "courses", ["course_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(op.f("ix_class_sessions_course_id"), ["course_id"])
    with op.batch_alter_table("attendance") as batch:
        batch.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("attendance") as batch:
        batch.drop_column("late")
    with op.batch_alter_table("class_sessions") as batch:
        batch.drop_index(op.f("ix_class_sessions_course_id"))
        batch.drop_constraint("fk_class_sessions_course_id", type_="foreignkey")
        batch.drop_column("grace_minutes")
        batch.drop_column("course_id")
    op.drop_index(op.f("ix_course_students_student_id"), table_name="course_students")
    op.drop_table("course_students")
    op.drop_table("courses")
