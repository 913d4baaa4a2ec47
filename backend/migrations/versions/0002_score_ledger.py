"""score ledger: point events with statuses, data providers, reviewers, review cases, append-only audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:16:51.055017

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger_audit is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def _append_only_triggers():
    """Refuse UPDATE (both databases) and DELETE (PostgreSQL; an administrator's TRUNCATE still works)
    on the audit log."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute("CREATE TRIGGER ledger_audit_no_update BEFORE UPDATE OR DELETE ON ledger_audit "
                   "FOR EACH ROW EXECUTE FUNCTION ledger_audit_append_only()")
    elif bind.dialect.name == "sqlite":
        op.execute("CREATE TRIGGER ledger_audit_no_update BEFORE UPDATE ON ledger_audit "
                   "BEGIN SELECT RAISE(ABORT, 'ledger_audit is append-only'); END")


def upgrade():
    op.create_table('data_providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('schemes', sa.JSON(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('last_seen_at', sa.BigInteger(), nullable=True),
    sa.Column('revoked_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_providers')),
    sa.UniqueConstraint('code', name=op.f('uq_data_providers_code')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_data_providers_token_hash'))
    )
    op.create_table('ledger_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor_ref', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('target_type', sa.String(length=24), nullable=False),
    sa.Column('target_ref', sa.String(length=64), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_audit'))
    )
    with op.batch_alter_table('ledger_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_audit_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_audit_at'), ['at'], unique=False)

    op.create_table('reviewers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('revoked_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviewers')),
    sa.UniqueConstraint('name', name=op.f('uq_reviewers_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_reviewers_token_hash'))
    )
    with op.batch_alter_table('score_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='confirmed', nullable=False))
        batch_op.add_column(sa.Column('provider_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('provider_event_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('category', sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column('reference', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('payload_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f('ix_score_events_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_events_status'), ['status'], unique=False)
        batch_op.create_unique_constraint('uq_score_events_provider_event', ['provider_id', 'provider_event_id'])
        batch_op.create_foreign_key(batch_op.f('fk_score_events_provider_id_data_providers'), 'data_providers', ['provider_id'], ['id'], ondelete='SET NULL')

    op.create_table('ledger_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('opened_at', sa.BigInteger(), nullable=False),
    sa.Column('statement', sa.Text(), nullable=True),
    sa.Column('disputed_at', sa.BigInteger(), nullable=True),
    sa.Column('decision', sa.String(length=8), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['score_events.id'], name=op.f('fk_ledger_cases_event_id_score_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewers.id'], name=op.f('fk_ledger_cases_reviewer_id_reviewers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_cases'))
    )
    with op.batch_alter_table('ledger_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_cases_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_ledger_cases_status_opened', ['status', 'opened_at'], unique=False)

    _append_only_triggers()


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_audit_no_update ON ledger_audit")
        op.execute("DROP FUNCTION IF EXISTS ledger_audit_append_only()")
    elif bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ledger_audit_no_update")
    with op.batch_alter_table('score_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_score_events_provider_id_data_providers'), type_='foreignkey')
        batch_op.drop_constraint('uq_score_events_provider_event', type_='unique')
        batch_op.drop_index(batch_op.f('ix_score_events_status'))
        batch_op.drop_index(batch_op.f('ix_score_events_provider_id'))
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('payload_sha256')
        batch_op.drop_column('reference')
        batch_op.drop_column('category')
        batch_op.drop_column('provider_event_id')
        batch_op.drop_column('provider_id')
        batch_op.drop_column('status')

    with op.batch_alter_table('ledger_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_cases_status_opened')
        batch_op.drop_index(batch_op.f('ix_ledger_cases_event_id'))

    op.drop_table('ledger_cases')
    op.drop_table('reviewers')
    with op.batch_alter_table('ledger_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_audit_at'))
        batch_op.drop_index(batch_op.f('ix_ledger_audit_action'))

    op.drop_table('ledger_audit')
    op.drop_table('data_providers')
