"""Schemas of the score ledger: the citizen's explanation and disputes, data-provider batches, the
reviewer queue and decisions, the operator's providers, reviewers and audit log."""
import re

from marshmallow import fields, validate

from .common import Base, I18nText, Int, PerkFullSchema, Text
from .me import BandOut, RangeOut

STATUS_DOC = ("pending_review (waits for a reviewer; does not count) | confirmed (counts) | disputed "
              "(frozen until a reviewer decides) | reversed (removed after a dispute) | rejected (a reviewer "
              "refused a pending event) | withdrawn (the provider withdrew it)")


# ------------------------------------------------------------------ citizen

class SourceOut(Base):
    type = fields.String(required=True, metadata={"description": "provider | operator | citizen"})
    code = fields.String(allow_none=True)
    name = fields.String(required=True)
    name_zh = fields.String(allow_none=True, metadata={"description": "The provider's name in Chinese, when known."})


class CasePublicOut(Base):
    id = fields.Integer(required=True)
    reason = fields.String(required=True, metadata={"description": "pending_review | dispute | withdrawal"})
    status = fields.String(required=True, metadata={"description": "open | decided"})
    opened_at = fields.Integer(required=True)
    disputed_at = fields.Integer(allow_none=True)
    statement = fields.String(allow_none=True, metadata={"description": "What the citizen wrote."})
    decision = fields.String(allow_none=True,
                             metadata={"description": "confirm | reverse (a reviewer) | withdraw (the provider)"})
    decision_reason = fields.String(allow_none=True,
                                    metadata={"description": "The reviewer's written reason."})
    reason_code = fields.String(allow_none=True, metadata={
        "description": "A withdrawal's reason code (catalogue); its label is reason_title."})
    reason_title = fields.Nested(I18nText, allow_none=True)
    decided_at = fields.Integer(allow_none=True)


class LedgerEventOut(Base):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "join | import | point"})
    title = fields.Nested(I18nText, required=True)
    category = fields.String(allow_none=True, metadata={"description": "Point-rule code, e.g. OFFENCE-MINOR."})
    source = fields.Nested(SourceOut, required=True)
    points = fields.Integer(required=True, metadata={"description": "What the event adds when it counts."})
    counts = fields.Boolean(required=True, metadata={"description": "Whether it is part of the score now."})
    status = fields.String(required=True, metadata={"description": STATUS_DOC})
    reference = fields.String(allow_none=True, metadata={"description": "The provider's document reference."})
    description = fields.String(allow_none=True)
    occurred_at = fields.Integer(required=True)
    recorded_at = fields.Integer(required=True)
    can_dispute = fields.Boolean(required=True)
    disputable_until = fields.Integer(allow_none=True)
    case = fields.Nested(CasePublicOut, allow_none=True)
    scheme = fields.String()


class NextBandOut(Base):
    code = fields.String(required=True)
    label = fields.Nested(I18nText, required=True)
    min = fields.Integer(required=True)
    points_needed = fields.Integer(required=True)


class UpcomingPerkOut(Base):
    code = fields.String(required=True)
    title = fields.Nested(I18nText, required=True)
    audience = fields.String(required=True)
    points_needed = fields.Integer(required=True)


class SchemeExplanationOut(Base):
    scheme = fields.String(required=True)
    name = fields.Nested(I18nText, required=True)
    score = fields.Integer(required=True, metadata={"description": "Shown only to the citizen who owns it."})
    base = fields.Integer(required=True)
    range = fields.Nested(RangeOut, required=True)
    band = fields.Nested(BandOut, required=True)
    next_band = fields.Nested(NextBandOut, allow_none=True)
    perks = fields.List(fields.Nested(PerkFullSchema), required=True)
    upcoming_perks = fields.List(fields.Nested(UpcomingPerkOut), required=True)
    clamped = fields.Boolean(required=True, metadata={"description": "base + counted points fell outside the range."})
    pending_points = fields.Integer(required=True)
    frozen_points = fields.Integer(required=True)
    dispute_window_days = fields.Integer(required=True)
    review_policy = fields.String(required=True, metadata={"description": "none | negative | all"})
    events = fields.List(fields.Nested(LedgerEventOut), required=True, metadata={"description": "Newest first."})


class MyScoreOut(Base):
    schemes = fields.List(fields.Nested(SchemeExplanationOut), required=True)


class DisputeIn(Base):
    statement = Text(required=True, min_length=10, max_length=2000, metadata={
        "description": "Why the record is wrong, in the citizen's words (seen by the reviewer only)."})


# ------------------------------------------------------------------ provider

class ProviderEventIn(Base):
    """A provider's event carries no prose: a rule code, numbers, a date and identifiers. Unknown fields are
    refused (there is no description field), nested objects are refused (every field is a string or an
    integer)."""
    reference = Text(required=True, max_length=40, validate=[validate.Regexp(r"^[A-Z0-9/-]{4,40}\Z")], metadata={
        "description": "Your identifier of the event (a ticket or file number); it must match your registered "
                       "reference format (GET /api/v1/provider/rules), and is the idempotency key. Perkpass stores "
                       "only its keyed digest: send it again to withdraw the event or ask about it."})
    phone = Text(max_length=32, validate=[validate.Regexp(r"^\+?[0-9][0-9 ()-]{5,24}\Z")], metadata={
        "description": "The citizen's phone number (or citizen_id); used to find them, never stored."})
    citizen_id = Text(max_length=32, validate=[validate.Regexp(r"^c_[0-9a-f]{24}\Z")])
    scheme = Text(required=True, max_length=32, validate=[validate.Regexp(r"^[a-z][a-z0-9-]{1,31}\Z")])
    rule = Text(required=True, max_length=48, validate=[validate.Regexp(r"^[A-Z][A-Z0-9-]{1,47}\Z")], metadata={
        "description": "An approved point-rule code of the scheme; the citizen reads its title from the catalogue."})
    points = Int(validate=validate.Range(min=-10000, max=10000), metadata={
        "description": "Signed points; may be omitted when the rule has a fixed value."})
    occurred_at = Int(required=True, validate=validate.Range(min=0, max=2 ** 40))


class ProviderBatchIn(Base):
    events = fields.List(fields.Nested(ProviderEventIn), required=True, validate=validate.Length(min=1, max=1000))


class ProviderResultOut(Base):
    reference = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "accepted | duplicate | conflict | not_enrolled"})
    event_status = fields.String(allow_none=True, metadata={"description": STATUS_DOC})


class ProviderBatchOut(Base):
    results = fields.List(fields.Nested(ProviderResultOut), required=True)
    accepted = fields.Integer(required=True)
    duplicate = fields.Integer(required=True)
    conflict = fields.Integer(required=True)
    not_enrolled = fields.Integer(required=True)


class RuleOut(Base):
    code = fields.String(required=True)
    title = fields.Nested(I18nText, required=True)
    data_category = fields.String(required=True, metadata={
        "description": "The allowed category of data the rule is about (assets/point-rules/categories.json)."})
    points = fields.Raw(required=True, metadata={"description": "An integer, or {min, max}."})


class SchemeRulesOut(Base):
    scheme = fields.String(required=True)
    review = fields.String(required=True)
    dispute_window_days = fields.Integer(required=True)
    while_disputed = fields.String(required=True)
    rules = fields.List(fields.Nested(RuleOut), required=True)


class ForbiddenOut(Base):
    code = fields.String(required=True)
    label = fields.Dict(required=True)


class ProviderOut(Base):
    code = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "From the approved catalogue entry (else the code)."})
    name_zh = fields.String(allow_none=True)
    approved = fields.Boolean(required=True, metadata={
        "description": "Whether a second operator approved its catalogue entry; until then it can send nothing."})
    reference_format = fields.String(allow_none=True, metadata={
        "description": "The approved format of its references (# is a digit)."})
    schemes = fields.List(fields.String(), required=True)
    categories = fields.List(fields.String(), allow_none=True)
    created_at = fields.Integer(required=True)
    last_seen_at = fields.Integer(allow_none=True)
    revoked_at = fields.Integer(allow_none=True)


class ReasonCodeOut(Base):
    code = fields.String(required=True)
    label = fields.Nested(I18nText, required=True)


class ProviderRulesOut(Base):
    provider = fields.Nested(ProviderOut, required=True)
    schemes = fields.List(fields.Nested(SchemeRulesOut), required=True)
    withdrawal_reasons = fields.List(fields.Nested(ReasonCodeOut), required=True)
    forbidden = fields.List(fields.Nested(ForbiddenOut), required=True)


class WithdrawIn(Base):
    reference = Text(required=True, max_length=40, validate=[validate.Regexp(r"^[A-Z0-9/-]{4,40}\Z")], metadata={
        "description": "The event's reference, as sent."})
    reason = Text(required=True, max_length=48, validate=[validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,47}\Z")], metadata={
        "description": "An approved withdrawal reason code (GET /api/v1/provider/rules); the citizen reads its label."})


class ProviderEventStatusOut(Base):
    reference = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": STATUS_DOC})
    recorded_at = fields.Integer(required=True)
    decided_at = fields.Integer(allow_none=True)


# ------------------------------------------------------------------ reviewer

class CaseEventOut(Base):
    id = fields.Integer(required=True)
    scheme = fields.String(allow_none=True)
    kind = fields.String(required=True)
    category = fields.String(allow_none=True)
    title = fields.Nested(I18nText, required=True)
    points = fields.Integer(required=True)
    status = fields.String(required=True)
    description = fields.String(allow_none=True)
    occurred_at = fields.Integer(required=True)
    recorded_at = fields.Integer(required=True)
    source = fields.Dict(required=True)


class CaseOut(Base):
    id = fields.Integer(required=True)
    reason = fields.String(required=True, metadata={"description": "pending_review | dispute"})
    status = fields.String(required=True)
    opened_at = fields.Integer(required=True)
    disputed = fields.Boolean(required=True)
    disputed_at = fields.Integer(allow_none=True)
    statement = fields.String(allow_none=True)
    decision = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    decided_at = fields.Integer(allow_none=True)
    reviewer = fields.String(allow_none=True)
    event = fields.Nested(CaseEventOut, required=True)


class QueueCountsOut(Base):
    disputes = fields.Integer(required=True)
    pending_review = fields.Integer(required=True)


class QueueOut(Base):
    cases = fields.List(fields.Nested(CaseOut), required=True)
    counts = fields.Nested(QueueCountsOut, required=True)


class QueueQuery(Base):
    reason = fields.String(validate=validate.OneOf(["dispute", "pending_review"]))
    scheme = Text(max_length=32)
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "decided"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class DecisionIn(Base):
    decision = fields.String(required=True, validate=validate.OneOf(["confirm", "reverse"]), metadata={
        "description": "confirm: the event counts; reverse: it does not (shown to the citizen with the reason)."})
    reason = Text(required=True, min_length=10, max_length=2000, metadata={
        "description": "Written reason, shown to the citizen."})


# ------------------------------------------------------------------ operator

class ProviderIn(Base):
    code = Text(required=True, max_length=48)
    name = Text(required=True, max_length=200, metadata={"description": "Proposed for the catalogue (English)."})
    name_zh = Text(max_length=200, metadata={"description": "The name citizens reading Chinese see (catalogue)."})
    reference_format = Text(required=True, max_length=40, metadata={
        "description": "The format of its references: capital letters, digits, - and / fixed, # for each digit "
                       "that varies (FZ-TP-####-######). Takes effect when a second operator approves."})
    schemes = fields.List(Text(max_length=32), required=True, validate=validate.Length(min=1, max=16))
    categories = fields.List(Text(max_length=48), validate=validate.Length(min=1, max=64))


class ProviderCreatedOut(ProviderOut):
    token = fields.String(required=True, metadata={"description": "Shown once; stored hashed."})


class ProviderListOut(Base):
    providers = fields.List(fields.Nested(ProviderOut), required=True)


class ReviewerIn(Base):
    name = Text(required=True, max_length=120)


class ReviewerOut(Base):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    created_at = fields.Integer(required=True)
    revoked_at = fields.Integer(allow_none=True)


class ReviewerCreatedOut(ReviewerOut):
    token = fields.String(required=True, metadata={"description": "Shown once; stored hashed."})


class ReviewerListOut(Base):
    reviewers = fields.List(fields.Nested(ReviewerOut), required=True)


class AuditQuery(Base):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2 ** 31 - 1))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    action = Text(max_length=48)
    target_type = Text(max_length=24)


class AuditActorOut(Base):
    type = fields.String(required=True, metadata={"description": "provider | reviewer | citizen | operator | system"})
    ref = fields.String(required=True)


class AuditTargetOut(Base):
    type = fields.String(required=True)
    ref = fields.String(required=True)


class AuditEntryOut(Base):
    id = fields.Integer(required=True)
    at = fields.Integer(required=True)
    actor = fields.Nested(AuditActorOut, required=True)
    action = fields.String(required=True)
    target = fields.Nested(AuditTargetOut, required=True)
    details = fields.Dict(required=True)
    prev_hash = fields.String(required=True)
    entry_hash = fields.String(required=True)


class AuditOut(Base):
    entries = fields.List(fields.Nested(AuditEntryOut), required=True)
    next_after = fields.Integer(allow_none=True, metadata={"description": "Pass as ?after= for the next page."})


class AuditVerifyOut(Base):
    ok = fields.Boolean(required=True)
    entries = fields.Integer(required=True)
    broken_at = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)
    head = fields.String()


# ------------------------------------------------------------------ catalogue

CATALOGUE_KINDS = ["category", "rule", "provider", "source_system", "reason_code"]


class CatalogueLabelsIn(Base):
    en = Text(required=True, max_length=200)
    zh_CN = Text(required=True, max_length=200, data_key="zh-CN", attribute="zh-CN")


class CatalogueChangeIn(Base):
    kind = fields.String(required=True, validate=validate.OneOf(CATALOGUE_KINDS))
    code = Text(required=True, max_length=48)
    scope = Text(max_length=32, metadata={"description": "A rule's scheme; empty for other kinds."})
    labels = fields.Nested(CatalogueLabelsIn, required=True)
    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "rule: {category, min, max}; provider: {reference_format}; reason_code: {applies_to}; "
                       "source_system: {schemes}; category: {}. Unknown keys are refused."})


class CatalogueEntryOut(Base):
    kind = fields.String(required=True)
    scope = fields.String(required=True)
    code = fields.String(required=True)
    labels = fields.Nested(I18nText, required=True)
    data = fields.Dict(required=True)
    change_id = fields.Integer(required=True)
    approved_at = fields.Integer(required=True)


class CatalogueChangeOut(Base):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    scope = fields.String(required=True)
    code = fields.String(required=True)
    labels = fields.Nested(I18nText, required=True)
    data = fields.Dict(required=True)
    status = fields.String(required=True, metadata={"description": "pending | approved | rejected"})
    proposed_by = fields.String(required=True)
    proposed_at = fields.Integer(required=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.Integer(allow_none=True)
    current = fields.Nested(CatalogueEntryOut, allow_none=True, metadata={
        "description": "The entry in effect now (what the change would replace), if any."})
    can_decide = fields.Boolean(required=True, metadata={
        "description": "False for the proposer: a different operator must approve (four eyes)."})


class CatalogueOut(Base):
    entries = fields.List(fields.Nested(CatalogueEntryOut), required=True)


class CatalogueChangesOut(Base):
    changes = fields.List(fields.Nested(CatalogueChangeOut), required=True)


class CatalogueQuery(Base):
    kind = fields.String(validate=validate.OneOf(CATALOGUE_KINDS))


class CatalogueChangesQuery(Base):
    status = fields.String(load_default="pending", validate=validate.OneOf(["pending", "approved", "rejected"]))


# ------------------------------------------------------------------ the provider batch without marshmallow

_REFERENCE_RE = re.compile(r"[A-Z0-9/-]{4,40}")
_PHONE_RE = re.compile(r"\+?[0-9][0-9 ()-]{5,24}")
_CITIZEN_ID_RE = re.compile(r"c_[0-9a-f]{24}")
_SCHEME_RE = re.compile(r"[a-z][a-z0-9-]{1,31}")
_RULE_RE = re.compile(r"[A-Z][A-Z0-9-]{1,47}")
_EVENT_KEYS = frozenset(("reference", "phone", "citizen_id", "scheme", "rule", "points", "occurred_at"))
_REQUIRED = frozenset(("reference", "scheme", "rule", "occurred_at"))


def _int_in(v, lo: int, hi: int) -> bool:
    return type(v) is int and lo <= v <= hi


def fast_provider_batch(raw: dict) -> dict | None:
    """:class:`ProviderBatchIn` for the one shape providers send all the time (every field valid), without
    marshmallow: a batch of a thousand events is loaded in a few milliseconds. Anything else answers None and the
    schema loads it (and words the refusal). tests/backend/test_provider_fast_body.py checks they agree."""
    events = raw.get("events")
    if len(raw) != 1 or type(events) is not list or not 1 <= len(events) <= 1000:
        return None
    out = []
    for ev in events:
        if type(ev) is not dict or not ev.keys() >= _REQUIRED or not ev.keys() <= _EVENT_KEYS:
            return None
        ref, scheme, rule, phone, cid = ev["reference"], ev["scheme"], ev["rule"], ev.get("phone"), ev.get("citizen_id")
        if not (type(ref) is str and _REFERENCE_RE.fullmatch(ref) and type(scheme) is str
                and _SCHEME_RE.fullmatch(scheme) and type(rule) is str and _RULE_RE.fullmatch(rule)
                and _int_in(ev["occurred_at"], 0, 2 ** 40)):
            return None
        if "phone" in ev and not (type(phone) is str and len(phone) <= 32 and _PHONE_RE.fullmatch(phone)):
            return None
        if "citizen_id" in ev and not (type(cid) is str and _CITIZEN_ID_RE.fullmatch(cid)):
            return None
        if "points" in ev and not _int_in(ev["points"], -10000, 10000):
            return None
        out.append(dict(ev))
    return {"events": out}
