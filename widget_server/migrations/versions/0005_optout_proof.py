"""opt-out proof: a code texted to the number confirms a callee's opt-out

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "optout_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("visitor_number", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("optout_requests", schema=None) as batch_op:
        batch_op.create_index("ix_optout_requests_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("optout_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_optout_requests_expires_at")
    op.drop_table("optout_requests")
