"""Kiosk enrolment and redemption sync (the contract in docs/contracts.md)."""
import logging
import re

from flask import Blueprint, current_app, g

from ..errors import APIError
from ..extensions import client_address
from ..logging_setup import event
from ..schemas.kiosk import UUID_RE, EnrolIn, EnrolOut, RedemptionBatchIn, RedemptionBatchOut, VenueConfigOut
from ..services import partners as partner_service
from ..services import redemptions as redemption_service
from .common import config_limit, endpoint, now

bp = Blueprint("kiosk", __name__, url_prefix="/api/v1/kiosk")
log = logging.getLogger("perkpass.kiosk")

_UUID = re.compile(UUID_RE)
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ITEM_FIELDS = (("id", 36), ("jti", 64), ("pseudonym", 64), ("perk", 32))


def plain_batch_body(data: dict) -> dict | None:
    """A well-formed batch, the body every kiosk sends on every sync, loaded as RedemptionBatchIn would load
    it without marshmallow's per-field machinery (~10 ms per 100 items); None for anything else, which
    RedemptionBatchIn then loads and answers. tests/backend/test_kiosk_batch_fast.py checks the two agree."""
    items = data.get("redemptions") if len(data) == 1 else None
    if type(items) is not list or not 1 <= len(items) <= 500:
        return None
    texts = []
    for it in items:
        if type(it) is not dict or len(it) != 5 or type(it.get("scanned_at")) is not int:
            return None
        for name, longest in _ITEM_FIELDS:
            v = it.get(name)
            if type(v) is not str or not 1 <= len(v) <= longest:
                return None
            texts.append(v)
        if not _UUID.match(it["id"]):
            return None
    if _CTRL.search("".join(texts)):  # one search over every string: a control character in any of them
        return None
    # each item has exactly the five fields, all checked: it is what the schema would load
    return {"redemptions": items}


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
          auth="device", body=RedemptionBatchIn, response=RedemptionBatchOut, errors=(403,),
          fast_body=plain_batch_body, dump_response=False)
def redemptions(data):
    items = data["redemptions"]
    if len(items) > int(current_app.config["PERKPASS_BATCH_MAX"]):
        raise APIError(400, "validation_error", "Too many redemptions in one batch.",
                       {"redemptions": [f"At most {current_app.config['PERKPASS_BATCH_MAX']}."]})
    device_id = g.device.public_id  # read before ingest commits (the SQLite path), which expires the object
    out = redemption_service.ingest(g.device, items, now())
    event(log, "kiosk.redemptions_synced", device_id=device_id, accepted=out["accepted"],
          duplicates=out["duplicates"], rejected=out["rejected"],
          reasons=sorted({r["reason"] for r in out["results"] if r["status"] == "rejected"}) if out["rejected"]
          else [])
    return out
