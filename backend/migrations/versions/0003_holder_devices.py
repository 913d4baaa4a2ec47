"""PP2 holders: citizens' device keys, registration challenges, perk certificates, certificate revocations

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 04:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('holder_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('key_type', sa.Integer(), nullable=False),
    sa.Column('public_key', sa.String(length=100), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('last_certified_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id'),
    sa.UniqueConstraint('public_key')
    )
    op.create_index(op.f('ix_holder_devices_citizen_id'), 'holder_devices', ['citizen_id'], unique=False)
    op.create_table('device_challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('challenge_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('used_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('challenge_hash')
    )
    op.create_index(op.f('ix_device_challenges_citizen_id'), 'device_challenges', ['citizen_id'], unique=False)
    op.create_table('perk_certificates',
    sa.Column('cert_id', sa.String(length=24), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('audience', sa.String(length=32), nullable=False),
    sa.Column('scheme', sa.String(length=32), nullable=False),
    sa.Column('perks', sa.String(length=300), nullable=False),
    sa.Column('raw', sa.String(length=400), nullable=False),
    sa.Column('not_before', sa.BigInteger(), nullable=False),
    sa.Column('not_after', sa.BigInteger(), nullable=False),
    sa.Column('revoked_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['device_id'], ['holder_devices.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('cert_id')
    )
    op.create_index(op.f('ix_perk_certificates_citizen_id'), 'perk_certificates', ['citizen_id'], unique=False)
    op.create_index(op.f('ix_perk_certificates_device_id'), 'perk_certificates', ['device_id'], unique=False)
    op.create_index(op.f('ix_perk_certificates_not_after'), 'perk_certificates', ['not_after'], unique=False)
    op.create_table('certificate_revocations',
    sa.Column('cert_id', sa.String(length=24), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('revoked_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('cert_id')
    )
    op.create_index(op.f('ix_certificate_revocations_expires_at'), 'certificate_revocations', ['expires_at'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_certificate_revocations_expires_at'), table_name='certificate_revocations')
    op.drop_table('certificate_revocations')
    op.drop_index(op.f('ix_perk_certificates_not_after'), table_name='perk_certificates')
    op.drop_index(op.f('ix_perk_certificates_device_id'), table_name='perk_certificates')
    op.drop_index(op.f('ix_perk_certificates_citizen_id'), table_name='perk_certificates')
    op.drop_table('perk_certificates')
    op.drop_index(op.f('ix_device_challenges_citizen_id'), table_name='device_challenges')
    op.drop_table('device_challenges')
    op.drop_index(op.f('ix_holder_devices_citizen_id'), table_name='holder_devices')
    op.drop_table('holder_devices')
