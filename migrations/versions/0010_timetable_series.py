"""timetable series: recurring classes, and the series each session was made by

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "timetable_series",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("course_id", Id, nullable=True),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("starts_time", sa.Time(), nullable=False),
        sa.Column("ends_time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("grace_minutes", sa.Integer(), nullable=True),
        sa.Column("room", sa.String(length=100), nullable=True),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("skip_dates", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name="fk_timetable_series_course_id",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_timetable_series_course_id"), "timetable_series", ["course_id"])
    # Batch: SQLite adds a foreign key only by copying the table (its rows are kept).
    with op.batch_alter_table("class_sessions") as batch:
        batch.add_column(sa.Column("series_id", Id, nullable=True))
        batch.create_foreign_key(
            "fk_class_sessions_series_id",
            "timetable_series",
            ["series_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_class_sessions_series_id"), ["series_id"])


def downgrade() -> None:
    # The sessions a series made stay, as sessions made alone.
    with op.batch_alter_table("class_sessions") as batch:
        batch.drop_index(op.f("ix_class_sessions_series_id"))
        batch.drop_constraint("fk_class_sessions_series_id", type_="foreignkey")
        batch.drop_column("series_id")
    op.drop_index(op.f("ix_timetable_series_course_id"), table_name="timetable_series")
    op.drop_table("timetable_series")
