"""callbacks inbox: keyset index, handled mark, notes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("handled_by", sa.String(length=255), nullable=True))
        batch_op.create_index("ix_callbacks_created_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_callbacks_updated", ["updated_at"], unique=False)
    op.create_table(
        "callback_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("callback_id", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("author_email", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("callback_notes", schema=None) as batch_op:
        batch_op.create_index("ix_callback_notes_callback_id", ["callback_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("callback_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_notes_callback_id")
    op.drop_table("callback_notes")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_callbacks_updated")
        batch_op.drop_index("ix_callbacks_created_id")
        batch_op.drop_column("handled_by")
        batch_op.drop_column("handled_at")
