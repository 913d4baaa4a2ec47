"""redemptions at city scale: a partial index of flagged replays, a scan-time index for retention, no
separate device_id index (the (device_id, client_id) unique constraint serves it)

On PostgreSQL the indexes are built CONCURRENTLY, outside the migration's transaction, so kiosks keep
syncing while a large table is indexed (docs/deploy.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _pg():
        with op.get_context().autocommit_block():
            op.create_index('ix_redemptions_replay', 'redemptions', ['jti'], unique=False,
                            postgresql_where=sa.text('cross_venue_replay'), postgresql_concurrently=True,
                            if_not_exists=True)
            op.create_index('ix_redemptions_scanned_at', 'redemptions', ['scanned_at'], unique=False,
                            postgresql_concurrently=True, if_not_exists=True)
            op.drop_index('ix_redemptions_device_id', table_name='redemptions', postgresql_concurrently=True,
                          if_exists=True)
        return
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_replay', ['jti'], unique=False,
                              sqlite_where=sa.text('cross_venue_replay'))
        batch_op.create_index('ix_redemptions_scanned_at', ['scanned_at'], unique=False)
        batch_op.drop_index('ix_redemptions_device_id')


def downgrade():
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_device_id', ['device_id'], unique=False)
        batch_op.drop_index('ix_redemptions_scanned_at')
        batch_op.drop_index('ix_redemptions_replay')
