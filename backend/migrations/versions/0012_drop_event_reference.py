"""score_events.reference removed (issue 19): a provider's reference is stored only as its keyed digest
(provider_event_id) since 0010_score_inputs emptied this column; a column that may hold text invites it back

Revision ID: 0012_drop_event_reference
Revises: 0011_pp3_issuances
Create Date: 2026-12-06 23:58:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012_drop_event_reference'
down_revision = '0011_pp3_issuances'
branch_labels = None
depends_on = None


def upgrade():
    # 0010 set every value to NULL; refuse rather than drop a value something wrote since
    left = op.get_bind().execute(sa.text("SELECT count(*) FROM score_events WHERE reference IS NOT NULL")).scalar()
    if left:
        raise RuntimeError(f"score_events.reference holds {left} values; 0010_score_inputs should have removed them")
    with op.batch_alter_table('score_events', schema=None) as batch_op:
        batch_op.drop_column('reference')


def downgrade():
    with op.batch_alter_table('score_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=200), nullable=True))
