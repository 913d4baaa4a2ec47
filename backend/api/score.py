"""The citizen's side of the ledger: why the score is what it is, and disputes."""
import logging

from flask import Blueprint, g

from ..http.log import event
from ..schemas.ledger import DisputeIn, LedgerEventOut, MyScoreOut, SchemeExplanationOut
from ..services import ledger
from ..services import scores as score_service
from .common import config_limit, endpoint, now, token_key

bp = Blueprint("score", __name__, url_prefix="/api/v1/me/score")
log = logging.getLogger("perkpass.ledger")


@endpoint(bp, "", summary="Why is my score this? Every scheme's score, band, perks and every event behind it.",
          auth="citizen", response=MyScoreOut,
          limits=[(config_limit("ledger_read"), token_key)],
          description="Each event has its source (the department that sent it), its points, whether it counts "
                      "now and its status; disputable events say until when. Only the citizen who owns the "
                      "score ever sees it.")
def my_score():
    return {"schemes": ledger.explain_citizen(g.citizen_id, now())}


@endpoint(bp, "/<scheme>", summary="The explanation for one scheme.", auth="citizen", response=SchemeExplanationOut,
          errors=(404,), limits=[(config_limit("ledger_read"), token_key)])
def my_scheme_score(scheme):
    return score_service.explain_scheme(g.citizen_id, scheme, now())


@endpoint(bp, "/events/<int:event_id>", summary="One event of my ledger, with its dispute or review.",
          auth="citizen", response=LedgerEventOut, errors=(404,),
          limits=[(config_limit("ledger_read"), token_key)])
def my_event(event_id):
    return ledger.explain_event(g.citizen_id, event_id, now())


@endpoint(bp, "/events/<int:event_id>/dispute", "POST",
          summary="Dispute a record: it is frozen until a reviewer decides.", auth="citizen",
          body=DisputeIn, response=LedgerEventOut, status=201, errors=(404, 409, 422, 429),
          limits=[(config_limit("dispute"), token_key)],
          description="Allowed within the scheme's dispute window (10 days by default) after a record starts "
                      "to count, or at any time while a negative record waits for review. One dispute per "
                      "record. While disputed the record does not count; a reviewer confirms or reverses it "
                      "with a written reason shown here. 409 already_disputed / not_disputable, 422 "
                      "dispute_window_closed.")
def dispute(event_id, data):
    out = ledger.open_dispute(g.citizen_id, g.citizen_public_id, event_id, data["statement"], now())
    event(log, "ledger.dispute_opened", event_id=event_id)
    return out
