"""origin sightings: where each widget was last seen loading, allowed or refused

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "origin_sightings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("widget_id", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["widget_id"], ["widgets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("widget_id", "origin", name="uq_origin_sightings_widget_origin"),
    )
    with op.batch_alter_table("origin_sightings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_origin_sightings_widget_seen", ["widget_id", "last_seen_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("origin_sightings", schema=None) as batch_op:
        batch_op.drop_index("ix_origin_sightings_widget_seen")
    op.drop_table("origin_sightings")
