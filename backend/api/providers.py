"""Data providers send score events: batches, idempotent by their reference. An event carries no prose (a
rule code, numbers, a date, identifiers; strict schema, unknown fields refused); negative events may wait for
a reviewer; withdrawals name a reason code."""
import logging

from flask import Blueprint, g

from ..http.log import event
from ..schemas.ledger import (ProviderBatchIn, ProviderBatchOut, ProviderEventStatusOut, ProviderRulesOut, WithdrawIn,
                              fast_provider_batch)
from ..services import ledger
from .common import config_limit, endpoint, now, token_key

bp = Blueprint("providers", __name__, url_prefix="/api/v1/provider")
log = logging.getLogger("perkpass.ledger")
_LIMIT = [(config_limit("provider"), token_key)]


@endpoint(bp, "/rules", summary="The point rules this provider may use, its reference format and the withdrawal "
                                "reasons.", auth="provider", response=ProviderRulesOut, limits=_LIMIT)
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
    reasons = [{"code": c, "label": lab} for c, lab in sorted(ledger.reason_codes("withdrawal").items())]
    return {"provider": ledger.provider_dict(p), "schemes": schemes, "withdrawal_reasons": reasons,
            "forbidden": [{"code": c.code, "label": c.label} for c in pr.forbidden]}


@endpoint(bp, "/events", "POST", summary="Send a batch of score events (idempotent by the provider's reference).",
          auth="provider", body=ProviderBatchIn, response=ProviderBatchOut, errors=(403, 422, 429), limits=_LIMIT,
          fast_body=fast_provider_batch, dump_response=False,
          description="Each event: reference (matching your registered format), phone or citizen_id, scheme, rule "
                      "(an approved point-rule code), points (omit for fixed rules), occurred_at. Nothing else: an "
                      "unknown field, a nested object or a description refuses the batch (422 validation_error). "
                      "Results per event: accepted, duplicate (same reference and content: nothing changes), "
                      "conflict (same reference, other content: nothing changes) or not_enrolled (not a member of "
                      "the scheme: nothing stored). An invalid event refuses the batch with 422 invalid_events; a "
                      "provider whose catalogue entry is not approved yet gets 403 provider_not_approved.")
def send_events(data):
    result = ledger.ingest(g.provider, data["events"], now())
    counts = result.counts()
    event(log, "ledger.batch", provider=g.provider.code, events=len(data["events"]), **counts)
    # written as it is (dump_response=False): exactly ProviderBatchOut's fields (test_provider_fast_body.py)
    return {"results": [{"reference": r["reference"], "status": str(r["status"]),
                         "event_status": None if r["event_status"] is None else str(r["event_status"])}
                        for r in result.results], **counts}


@endpoint(bp, "/withdrawals", "POST", summary="Withdraw one of this provider's events (it stops counting at once).",
          auth="provider", body=WithdrawIn, response=ProviderEventStatusOut, errors=(404, 409), limits=_LIMIT,
          description="For a record sent in error (a cancelled decision, the wrong person): the event's reference "
                      "and an approved withdrawal reason code (GET /rules); the citizen reads the reason's label. An "
                      "open review case is closed. 409 not_withdrawable when it no longer counts.")
def withdraw(data):
    out = ledger.withdraw(g.provider, data["reference"], data["reason"], now())
    event(log, "ledger.event_withdrawn", provider=g.provider.code, reason=data["reason"])
    return out


@endpoint(bp, "/events/<reference>", summary="The status of one of this provider's events, by its reference.",
          auth="provider", response=ProviderEventStatusOut, errors=(400, 404), limits=_LIMIT)
def event_status(reference):
    return ledger.provider_event_status(g.provider, reference[:40])
