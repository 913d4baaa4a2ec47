"""keys: compromised_at (key-compromise drill) and root_statement (root rotation chain)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('compromised_at', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('root_statement', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_column('root_statement')
        batch_op.drop_column('compromised_at')
