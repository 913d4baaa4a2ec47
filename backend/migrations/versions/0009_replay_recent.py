"""the replay report walks flagged redemptions newest first: partial index on (scanned_at, id) of flagged
rows replaces the partial jti index (the report reads a code's rows through ix_redemptions_jti)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 05:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _large() -> bool:
    """CONCURRENTLY only for a large table (see 0007: it waits for every older transaction in the database)."""
    if op.get_bind().dialect.name != "postgresql":
        return False
    rows = op.get_bind().execute(sa.text(
        "SELECT reltuples FROM pg_class WHERE oid = to_regclass('redemptions')")).scalar()
    return rows is not None and rows > 100_000


def upgrade():
    if _large():
        with op.get_context().autocommit_block():
            op.create_index('ix_redemptions_replay_recent', 'redemptions', ['scanned_at', 'id'], unique=False,
                            postgresql_where=sa.text('cross_venue_replay'), postgresql_concurrently=True,
                            if_not_exists=True)
            op.drop_index('ix_redemptions_replay', table_name='redemptions', postgresql_concurrently=True,
                          if_exists=True)
        return
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_replay_recent', ['scanned_at', 'id'], unique=False,
                              postgresql_where=sa.text('cross_venue_replay'),
                              sqlite_where=sa.text('cross_venue_replay'))
        batch_op.drop_index('ix_redemptions_replay')


def downgrade():
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_replay', ['jti'], unique=False,
                              postgresql_where=sa.text('cross_venue_replay'),
                              sqlite_where=sa.text('cross_venue_replay'))
        batch_op.drop_index('ix_redemptions_replay_recent')
