"""redemptions at city scale: a partial index of flagged replays, a scan-time index for retention, no
separate device_id index (the (device_id, client_id) unique constraint serves it)

On PostgreSQL a large table (over 100,000 rows, by the planner's estimate) is indexed CONCURRENTLY,
outside the migration's transaction, so kiosks keep syncing meanwhile (docs/deploy.md). A small or new
table is indexed in the transaction: CONCURRENTLY waits for every older transaction in the whole
database, which on a shared server can be anyone's.

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


def _large() -> bool:
    rows = op.get_bind().execute(sa.text(
        "SELECT reltuples FROM pg_class WHERE oid = to_regclass('redemptions')")).scalar()
    return rows is not None and rows > 100_000


def upgrade():
    if _pg() and _large():
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
