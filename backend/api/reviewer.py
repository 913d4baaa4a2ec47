"""Reviewers: a queue of disputes and pending negative events; a person decides with a written reason."""
import logging

from flask import Blueprint, g

from ..http.log import event
from ..schemas.ledger import CaseOut, DecisionIn, QueueOut, QueueQuery
from ..services import ledger
from .common import config_limit, endpoint, now, query, token_key

bp = Blueprint("reviewer", __name__, url_prefix="/api/v1/reviewer")
log = logging.getLogger("perkpass.ledger")
_LIMIT = [(config_limit("reviewer"), token_key)]


@endpoint(bp, "/queue", summary="Cases to decide, oldest first (disputes and pending negative events).",
          auth="reviewer", response=QueueOut, limits=_LIMIT,
          description="Query: reason=dispute|pending_review, scheme=CODE, status=open|decided (default open), "
                      "limit=1..500. Reviewers see the event, its source and the citizen's statement; never "
                      "the citizen's score or phone number.")
def review_queue():
    q = query(QueueQuery)
    return {"cases": ledger.queue(reason=q.get("reason"), scheme=q.get("scheme"), status=q["status"], limit=q["limit"]),
            "counts": ledger.queue_counts()}


@endpoint(bp, "/cases/<int:case_id>", summary="One case.", auth="reviewer", response=CaseOut, errors=(404,),
          limits=_LIMIT)
def get_case(case_id):
    return ledger.get_case(case_id)


@endpoint(bp, "/cases/<int:case_id>/decision", "POST", summary="Decide a case: confirm or reverse, with a reason.",
          auth="reviewer", body=DecisionIn, response=CaseOut, errors=(403, 404, 409), limits=_LIMIT,
          description="confirm: the event counts (a pending event starts its dispute window now). reverse: it "
                      "never counts (status reversed after a dispute, rejected for a pending event). The score, "
                      "band and perks follow at once; the citizen sees the decision and the reason.")
def decide(case_id, data):
    out = ledger.decide(case_id, g.reviewer, data["decision"], data["reason"], now())
    event(log, "ledger.case_decided", case_id=case_id, decision=data["decision"], reviewer=g.reviewer.id)
    return out
