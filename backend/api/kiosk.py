"""Kiosk enrolment and redemption sync (the contract in docs/contracts.md)."""
import logging

from flask import Blueprint, current_app, g

from ..errors import APIError
from ..extensions import client_address
from ..logging_setup import event
from ..schemas.kiosk import EnrolIn, EnrolOut, RedemptionBatchIn, RedemptionBatchOut, VenueConfigOut
from ..services import partners as partner_service
from ..services import redemptions as redemption_service
from .common import config_limit, endpoint, now

bp = Blueprint("kiosk", __name__, url_prefix="/api/v1/kiosk")
log = logging.getLogger("perkpass.kiosk")


@endpoint(bp, "/enroll", "POST", summary="Trade a one-time enrolment code for a device token and the venue's "
                                         "configuration.", body=EnrolIn, response=EnrolOut, status=201,
          errors=(404, 429), limits=[(config_limit("PERKPASS_RATE_LIMIT_ENROL"), client_address)])
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


@endpoint(bp, "/redemptions", "POST", summary="Upload a batch of redemptions; each is checked against the "
                                                "venue and answered accepted, duplicate or rejected with a "
                                                "reason (idempotent by client id).",
          auth="device", body=RedemptionBatchIn, response=RedemptionBatchOut, errors=(403,))
def redemptions(data):
    items = data["redemptions"]
    if len(items) > int(current_app.config["PERKPASS_BATCH_MAX"]):
        raise APIError(400, "validation_error", "Too many redemptions in one batch.",
                       {"redemptions": [f"At most {current_app.config['PERKPASS_BATCH_MAX']}."]})
    out = redemption_service.ingest(g.device, items, now())
    event(log, "kiosk.redemptions_synced", device_id=g.device.public_id, accepted=out["accepted"],
          duplicates=out["duplicates"], rejected=out["rejected"],
          reasons=sorted({r["reason"] for r in out["results"] if r["status"] == "rejected"}))
    return out
