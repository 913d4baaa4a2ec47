"""Kiosk enrolment and redemption sync (the contract in docs/contracts.md)."""
import logging

from flask import Blueprint, g

from partner_sdk import upload

from ..extensions import client_address
from ..http.log import event
from ..schemas.kiosk import EnrolIn, EnrolOut, RedemptionBatchIn, RedemptionBatchOut, VenueConfigOut
from ..services import partners as partner_service
from ..services import redemptions as redemption_service
from .common import config_limit, endpoint, now

bp = Blueprint("kiosk", __name__, url_prefix="/api/v1/kiosk")
log = logging.getLogger("perkpass.kiosk")


def plain_batch_body(data: dict) -> dict | None:
    """A well-formed batch, the body every kiosk sends on every sync, loaded as RedemptionBatchIn would load
    it without marshmallow's per-field machinery (~10 ms per 100 items); None for anything else, which
    RedemptionBatchIn then loads and answers. tests/backend/test_kiosk_batch_fast.py checks the two agree."""
    items = upload.plain_batch(data)
    return None if items is None else {"redemptions": items}


@endpoint(bp, "/enroll", "POST", summary="Trade a one-time enrolment code for a device token and the venue's "
                                         "configuration.", body=EnrolIn, response=EnrolOut, status=201,
          errors=(404, 429), limits=[(config_limit("enrol"), client_address)])
def enroll(data):
    out = partner_service.enrol(data["enrolment_code"], data["device_name"], now())
    event(log, "kiosk.enrolled", device_id=out["device_id"], venue_id=out["venue"]["id"])
    return out


@endpoint(bp, "/config", summary="The device's venue configuration and the current trust list.", auth="device",
          response=VenueConfigOut, errors=(403,))
def config():
    out = {"device_id": g.device.public_id}
    out.update(partner_service.venue_config(g.device.venue, now()))
    return out


# the path kiosks post to (partner_sdk.upload.PATH), below this blueprint's prefix
@endpoint(bp, upload.PATH.removeprefix(bp.url_prefix or ""), "POST",
          summary="Upload a batch of redemptions; each is checked against the venue and answered accepted, "
                  "duplicate or rejected with a reason (idempotent by client id).",
          auth="device", body=RedemptionBatchIn, response=RedemptionBatchOut, errors=(403,),
          fast_body=plain_batch_body, dump_response=False)
def redemptions(data):
    device_id = g.device.public_id  # read before ingest commits (the SQLite path), which expires the object
    out = redemption_service.ingest(g.device, data["redemptions"], now())
    reasons = sorted({r.get("reason", "") for r in out["results"] if r["status"] is upload.Outcome.REJECTED})
    event(log, "kiosk.redemptions_synced", device_id=device_id, accepted=out["accepted"],
          duplicates=out["duplicates"], rejected=out["rejected"], reasons=reasons)
    return out
