"""agents and departments: a widget rings a list of agents by a strategy, with whisper and
answering-machine detection; round-robin turns shared by every process

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("widgets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agents", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("strategy", sa.String(length=16), nullable=False, server_default="ordered")
        )
        batch_op.add_column(
            sa.Column("departments", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("whisper", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("machine_detection", sa.Boolean(), nullable=True))

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("agent_order", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("agent_leg", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("rounds", sa.Integer(), nullable=False, server_default="0"))

    op.create_table(
        "agent_rotations",
        sa.Column("widget_id", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["widget_id"], ["widgets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("widget_id", "department"),
    )

    # Every existing widget rang one extension: it becomes a one-agent list, and every
    # callback so far had one round per attempt.
    bind = op.get_bind()
    widgets = sa.table(
        "widgets",
        sa.column("id", sa.String),
        sa.column("extension", sa.String),
        sa.column("agents", sa.JSON),
    )
    for widget_id, extension in bind.execute(sa.select(widgets.c.id, widgets.c.extension)):
        bind.execute(
            widgets.update()
            .where(widgets.c.id == widget_id)
            .values(agents=[{"extension": extension}])
        )
    callbacks = sa.table(
        "callbacks", sa.column("attempts", sa.Integer), sa.column("rounds", sa.Integer)
    )
    bind.execute(callbacks.update().values(rounds=callbacks.c.attempts))


def downgrade() -> None:
    op.drop_table("agent_rotations")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_column("rounds")
        batch_op.drop_column("agent_leg")
        batch_op.drop_column("agent_order")
        batch_op.drop_column("department")
    with op.batch_alter_table("widgets", schema=None) as batch_op:
        batch_op.drop_column("machine_detection")
        batch_op.drop_column("whisper")
        batch_op.drop_column("departments")
        batch_op.drop_column("strategy")
        batch_op.drop_column("agents")
