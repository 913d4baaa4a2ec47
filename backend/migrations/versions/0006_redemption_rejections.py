"""redemption_rejections: the answer to a synced item the backend refused, so a re-send gets it again

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('redemption_rejections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('received_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_redemption_rejections_device_id_devices'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemption_rejections')),
    sa.UniqueConstraint('device_id', 'client_id', name='uq_redemption_rejections_device_client')
    )
    with op.batch_alter_table('redemption_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemption_rejections_device_id'), ['device_id'], unique=False)


def downgrade():
    with op.batch_alter_table('redemption_rejections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemption_rejections_device_id'))
    op.drop_table('redemption_rejections')
