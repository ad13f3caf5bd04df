"""provider failover and provider-side bookings: a secondary provider per widget, and who
books a scheduled callback

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("widgets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secondary_provider", sa.String(length=32), nullable=True))
        # Encrypted like provider_settings (core.crypto.EncryptedJSON stores JSON text).
        batch_op.add_column(
            sa.Column("secondary_provider_settings", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("scheduling", sa.String(length=16), nullable=False, server_default="auto")
        )


def downgrade() -> None:
    with op.batch_alter_table("widgets", schema=None) as batch_op:
        batch_op.drop_column("scheduling")
        batch_op.drop_column("secondary_provider_settings")
        batch_op.drop_column("secondary_provider")
