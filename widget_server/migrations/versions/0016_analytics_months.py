"""analytics months: the daily rows summed per calendar month, and the days' totals indexed

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_months",
        sa.Column("widget_id", sa.String(length=32), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["widget_id"], ["widgets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("widget_id", "month", "step", "dimension", "value"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_analytics_days_totals",
        "analytics_days",
        ["widget_id", "dimension", "day", "step", "count"],
    )
    # The months of the days already counted; from now on the rollup adds to both.
    # SQLite stores a date as its ISO text, so a month's first day is its first 8
    # characters and "01".
    if op.get_bind().dialect.name == "postgresql":
        month = "CAST(date_trunc('month', day) AS date)"
    else:
        month = "substr(day, 1, 8) || '01'"
    op.execute(
        "INSERT INTO analytics_months (widget_id, month, step, dimension, value, count) "
        f"SELECT widget_id, {month}, step, dimension, value, SUM(count) FROM analytics_days "
        f"GROUP BY widget_id, {month}, step, dimension, value"
    )


def downgrade() -> None:
    op.drop_index("ix_analytics_days_totals", table_name="analytics_days")
    op.drop_table("analytics_months")
