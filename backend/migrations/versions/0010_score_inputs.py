"""score inputs by construction (issue 19): the catalogue (catalogue_changes, catalogue_entries), a
withdrawal's reason code (ledger_cases.reason_code), and existing provider events rewritten to hold no text:
the provider event id becomes the keyed digest of the event's reference (the idempotency key from now on),
the readable reference and the description are removed, withdrawals' free-text reasons too, and the audit
log's free-text import sources are removed (the chain is recomputed from the first entry changed; its
append-only trigger is lifted for this and put back).

The catalogue itself is seeded by ``init-db`` (backend.services.ledger.seed_catalogue: the point-rule files as
approved entries on a fresh catalogue).

Revision ID: 0010_score_inputs
Revises: 0009
Create Date: 2026-12-06 20:30:00

"""
import json
import re

from alembic import op
import sqlalchemy as sa


revision = '0010_score_inputs'
down_revision = '0009'
branch_labels = None
depends_on = None

_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}\Z")


def upgrade():
    op.create_table('catalogue_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('proposed_by', sa.String(length=64), nullable=False),
    sa.Column('proposed_at', sa.BigInteger(), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_catalogue_changes_status_id', 'catalogue_changes', ['status', 'id'], unique=False)
    op.create_table('catalogue_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('approved_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['change_id'], ['catalogue_changes.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'scope', 'code', name='uq_catalogue_entries_kind_scope_code')
    )
    with op.batch_alter_table('ledger_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_code', sa.String(length=48), nullable=True))
    _provider_events_without_text()
    _audit_without_import_text()


def _provider_events_without_text():
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT e.id, e.provider_event_id, e.reference, e.category, e.delta, e.occurred_at, p.code, "
        "m.citizen_id, s.code FROM score_events e JOIN data_providers p ON p.id = e.provider_id "
        "JOIN citizen_schemes m ON m.id = e.membership_id JOIN schemes s ON s.id = m.scheme_id")).fetchall()
    if rows:
        from backend.services.crypto import sha256_hex
        from backend.services.ledger import reference_digest as digest
        from backend.services.ledger import reference_key
        key = reference_key()  # production without PERKPASS_REFERENCE_KEY stops here (fail closed)
        for eid, old_id, ref, rule, points, occurred_at, pcode, citizen_id, scheme in rows:
            payload = sha256_hex(json.dumps({"citizen": citizen_id, "scheme": scheme, "rule": rule, "points": points,
                                             "occurred_at": occurred_at}, sort_keys=True, separators=(",", ":"),
                                            ensure_ascii=False))  # as ingestion's payload hash
            bind.execute(sa.text("UPDATE score_events SET provider_event_id = :d, reference = NULL, reason = NULL, "
                                 "payload_sha256 = :p WHERE id = :id"),
                         {"d": digest(key, pcode, ref or old_id or str(eid)), "p": payload, "id": eid})
    # a provider's withdrawal reason was free text shown to the citizen: removed (new ones are codes)
    bind.execute(sa.text("UPDATE ledger_cases SET decision_reason = NULL WHERE decision = 'withdraw'"))


def _drop_trigger(bind):
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_audit_no_update ON ledger_audit")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_audit_no_update")


def _create_trigger(bind):
    if bind.dialect.name == "postgresql":  # the function of 0002 is still there
        op.execute("CREATE TRIGGER ledger_audit_no_update BEFORE UPDATE OR DELETE ON ledger_audit "
                   "FOR EACH ROW EXECUTE FUNCTION ledger_audit_append_only()")
    else:
        op.execute("CREATE TRIGGER ledger_audit_no_update BEFORE UPDATE ON ledger_audit "
                   "BEGIN SELECT RAISE(ABORT, 'ledger_audit is append-only'); END")


def _audit_without_import_text():
    """score.imported entries carried the import's free-text source: keep it only when it is a code."""
    bind = op.get_bind()
    first = None
    for eid, details in bind.execute(sa.text("SELECT id, details FROM ledger_audit WHERE action = 'score.imported' "
                                             "ORDER BY id")):
        d = json.loads(details) if isinstance(details, str) else (details or {})
        if "source" in d and not _CODE.match(str(d["source"])):
            first = eid
            break
    if first is None:
        return
    from backend.services.ledger import GENESIS, entry_hash
    _drop_trigger(bind)
    prev = bind.execute(sa.text("SELECT entry_hash FROM ledger_audit WHERE id < :f ORDER BY id DESC LIMIT 1"),
                        {"f": first}).scalar() or GENESIS
    rows = bind.execute(sa.text("SELECT id, at, actor_type, actor_ref, action, target_type, target_ref, details "
                                "FROM ledger_audit WHERE id >= :f ORDER BY id"), {"f": first}).fetchall()
    value = "CAST(:d AS JSON)" if bind.dialect.name == "postgresql" else ":d"
    for eid, at, actor_type, actor_ref, action, target_type, target_ref, details in rows:
        d = json.loads(details) if isinstance(details, str) else (details or {})
        if action == "score.imported" and "source" in d and not _CODE.match(str(d["source"])):
            d = {k: v for k, v in d.items() if k != "source"}
        h = entry_hash(prev, at, actor_type, actor_ref, action, target_type, target_ref, d)
        bind.execute(sa.text(f"UPDATE ledger_audit SET details = {value}, prev_hash = :p, entry_hash = :h WHERE id = :id"),
                     {"d": json.dumps(d, ensure_ascii=False), "p": prev, "h": h, "id": eid})
        prev = h
    _create_trigger(bind)


def downgrade():
    with op.batch_alter_table('ledger_cases', schema=None) as batch_op:
        batch_op.drop_column('reason_code')
    op.drop_table('catalogue_entries')
    op.drop_index('ix_catalogue_changes_status_id', table_name='catalogue_changes')
    op.drop_table('catalogue_changes')
