"""submission revision: a counter every change to widgets or block lists moves, so each
process can keep what a submission checks and know on the next request when it changed

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

# What a submission reads from these tables is kept per process (intake.widget_snapshots,
# calls.blocklist); triggers, not application code, move the counter, so a change made by
# any means (the dashboard, the CLI, a script, a cascade from a deleted account) counts.
WATCHED = ("widgets", "blocked_entries")
NAME = "submission"
BUMP = f"UPDATE change_counters SET value = value + 1 WHERE name = '{NAME}'"


def upgrade() -> None:
    op.create_table(
        "change_counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute(f"INSERT INTO change_counters (name, value) VALUES ('{NAME}', 1)")
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for action in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_{action.lower()}_moves_{NAME} "
                    f"AFTER {action} ON {table} BEGIN {BUMP}; END"
                )
        return
    op.execute(
        f"CREATE FUNCTION move_{NAME}_counter() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
    )
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER {table}_moves_{NAME} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION move_{NAME}_counter()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{action}_moves_{NAME}")
    else:
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_moves_{NAME} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS move_{NAME}_counter()")
    op.drop_table("change_counters")
