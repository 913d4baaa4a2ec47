"""venues.name_zh and data_providers.name_zh: the names a citizen reading Chinese sees

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 05:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_zh', sa.String(length=200), nullable=True))
    with op.batch_alter_table('data_providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_zh', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('data_providers', schema=None) as batch_op:
        batch_op.drop_column('name_zh')
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.drop_column('name_zh')
