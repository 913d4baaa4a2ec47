"""Data providers send score events: batches, idempotent by their own event id. Forbidden categories of
personal data are refused with error code forbidden_data; negative events may wait for a reviewer."""
import logging

from flask import Blueprint, g

from ..logging_setup import event
from ..schemas.ledger import ProviderBatchIn, ProviderBatchOut, ProviderEventStatusOut, ProviderRulesOut, WithdrawIn
from ..services import ledger
from ..services.errors import ForbiddenData
from .common import config_limit, endpoint, json_body, load, now, token_key

bp = Blueprint("providers", __name__, url_prefix="/api/v1/provider")
log = logging.getLogger("perkpass.ledger")
_LIMIT = [(config_limit("PERKPASS_RATE_LIMIT_PROVIDER", "120 per minute"), token_key)]


@endpoint(bp, "/rules", summary="The point rules this provider may use, and the forbidden data categories.",
          auth="provider", response=ProviderRulesOut, limits=_LIMIT)
def rules():
    p = g.provider
    pr = ledger.get_point_rules()
    schemes = []
    for code in p.schemes:
        sr = pr.schemes.get(code)
        if sr is None:
            continue
        schemes.append({"scheme": code, "review": sr.review, "dispute_window_days": sr.dispute_window_days,
                        "while_disputed": sr.while_disputed,
                        "rules": [r.public() for r in sr.rules.values() if not p.categories or r.code in p.categories]})
    return {"provider": ledger.provider_dict(p), "schemes": schemes,
            "forbidden": [{"code": c.code, "label": c.label} for c in pr.forbidden]}


@endpoint(bp, "/events", "POST", summary="Send a batch of score events (idempotent by the provider's event id).",
          auth="provider", body=ProviderBatchIn, load_body=False, response=ProviderBatchOut,
          errors=(403, 422, 429), limits=_LIMIT,
          description="Each event: id (yours), phone or citizen_id, scheme, category (a point-rule code), points "
                      "(omit for fixed rules), occurred_at, reference, description. Results per event: accepted, "
                      "duplicate (same id and content: nothing changes), conflict (same id, other content: "
                      "nothing changes) or not_enrolled (not a member of the scheme: nothing stored). A batch "
                      "naming a forbidden category of data (religious belief, genetics, fingerprints, blood "
                      "type, medical history) in a category, field name or text is refused whole with 422 "
                      "forbidden_data; an invalid event refuses the batch with 422 invalid_events.")
def send_events():
    raw = json_body()
    # forbidden data first, on the raw JSON: a field like "blood_type" gets the typed refusal, not "unknown field"
    if isinstance(raw, dict):
        try:
            ledger.screen_batch(g.provider, raw.get("events"), now())
        except ForbiddenData:
            event(log, "ledger.batch_refused_forbidden", provider=g.provider.code)
            raise
    data = load(ProviderBatchIn, raw)
    result = ledger.ingest(g.provider, data["events"], now(), screened=isinstance(raw, dict))
    counts = result.counts()
    event(log, "ledger.batch", provider=g.provider.code, events=len(data["events"]), **counts)
    return {"results": result.results, **counts}


@endpoint(bp, "/withdrawals", "POST", summary="Withdraw one of this provider's events (it stops counting at once).",
          auth="provider", body=WithdrawIn, response=ProviderEventStatusOut, errors=(404, 409), limits=_LIMIT,
          description="For a record sent in error (a cancelled ticket, the wrong person). The reason is shown to "
                      "the citizen; an open review case is closed. 409 not_withdrawable when it no longer counts.")
def withdraw(data):
    out = ledger.withdraw(g.provider, data["id"], data["reason"], now())
    event(log, "ledger.event_withdrawn", provider=g.provider.code)
    return out


@endpoint(bp, "/events/<path:provider_event_id>", summary="The status of one of this provider's events.",
          auth="provider", response=ProviderEventStatusOut, errors=(404,), limits=_LIMIT)
def event_status(provider_event_id):
    return ledger.provider_event_status(g.provider, provider_event_id[:64])
