"""PP3 (issue 23): one blind-signed certificate per citizen, venue type, scheme and UTC day

Revision ID: 0011_pp3_issuances
Revises: 0010_score_inputs
Create Date: 2026-12-06 20:35:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011_pp3_issuances'
down_revision = '0010_score_inputs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'pp3_issuances',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('citizen_id', sa.Integer(), nullable=False),
        sa.Column('audience', sa.String(length=32), nullable=False),
        sa.Column('scheme', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Integer(), nullable=False),
        sa.Column('issued_at', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('citizen_id', 'audience', 'scheme', 'day', name='uq_pp3_issuance'),
    )
    with op.batch_alter_table('pp3_issuances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pp3_issuances_citizen_id'), ['citizen_id'], unique=False)


def downgrade():
    with op.batch_alter_table('pp3_issuances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pp3_issuances_citizen_id'))
    op.drop_table('pp3_issuances')
