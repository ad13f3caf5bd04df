"""abuse controls

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocked_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "value", name="uq_blocked_kind_value"),
    )
    op.create_table(
        "leases",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leases_holder"), ["holder"], unique=False)

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            "uq_callbacks_idempotency", ["widget_id", "idempotency_key"]
        )

    with op.batch_alter_table("widgets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("limits", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(
            sa.Column("human_check", sa.JSON(), nullable=False, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("widgets", schema=None) as batch_op:
        batch_op.drop_column("human_check")
        batch_op.drop_column("limits")

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_constraint("uq_callbacks_idempotency", type_="unique")
        batch_op.drop_column("idempotency_key")

    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leases_holder"))

    op.drop_table("leases")
    op.drop_table("blocked_entries")
