"""A citizen's phones as offline code makers (PP2): register a device key, list and remove devices, fetch
perk certificates. Every route acts on the caller's own devices only."""
import logging

from flask import Blueprint, g

from partner_sdk import pp2

from ..settings import settings
from ..http import ratelimit
from ..http.errors import APIError
from ..extensions import db
from ..http.log import event
from ..models import Citizen
from ..schemas.devices import (CertificatesOut, ChallengeOut, HolderDeviceIn, HolderDeviceListOut, HolderDeviceOut,
                               HolderDeviceRemovedOut)
from ..services import certificates as holder
from ..services import pp3_issuance
from .common import endpoint, now

bp = Blueprint("devices", __name__, url_prefix="/api/v1/me/devices")
log = logging.getLogger("perkpass.devices")

_DEVICE_ID = "<string(minlength=4, maxlength=40):device_id>"


def _citizen() -> Citizen:
    c = db.session.get(Citizen, g.citizen_id)
    if c is None:
        raise APIError(401, "unauthorized", "A valid citizen bearer token is required.", {})
    return c


@endpoint(bp, "/challenge", "POST", summary="A one-time challenge for registering a device key.", auth="citizen",
          response=ChallengeOut, errors=(429,))
def challenge():
    ratelimit.check("issue", g.citizen_public_id, "device-challenge")
    return holder.new_challenge(g.citizen_id, now())


@endpoint(bp, "", "POST", summary="Register this phone's device key (proof of possession: a signed challenge).",
          auth="citizen", body=HolderDeviceIn, response=HolderDeviceOut, status=201, errors=(400, 409, 429))
def register(data):
    ratelimit.check("issue", g.citizen_public_id, "device-register")
    d = holder.register(_citizen(), algorithm=data["algorithm"], public_key=data["public_key"],
                        challenge=data["challenge"], signature=data["signature"], label=data["label"], now=now())
    event(log, "device.registered", algorithm=data["algorithm"])
    return holder.device_out(d)


@endpoint(bp, "", summary="The citizen's registered devices.", auth="citizen", response=HolderDeviceListOut)
def list_devices():
    return {"devices": [holder.device_out(d) for d in holder.devices(g.citizen_id)],
            "max_devices": settings().max_holder_devices}


@endpoint(bp, "/" + _DEVICE_ID, "DELETE", summary="Remove a device: its certificates are revoked at once.",
          auth="citizen", response=HolderDeviceRemovedOut, errors=(404,))
def remove(device_id):
    n = holder.remove_device(holder.device_for(g.citizen_id, device_id), now())
    event(log, "device.removed", certificates_revoked=n)
    return {"removed": True, "certificates_revoked": n}


@endpoint(bp, "/" + _DEVICE_ID + "/certificates", "POST",
          summary="Perk certificates for this device: one per venue type and scheme with perks now.", auth="citizen",
          response=CertificatesOut, errors=(404, 429, 503))
def certificates(device_id):
    ratelimit.check("issue", g.citizen_public_id, "certify")
    device = holder.device_for(g.citizen_id, device_id)
    t = now()
    made = holder.certify(_citizen(), device, t)
    event(log, "device.certified", logging.DEBUG, certificates=len(made))
    return {"server_time": t, "presentation_window": pp2.DEFAULT_PRESENTATION_WINDOW, "slot_seconds": pp2.SLOT_SECONDS,
            # PP3 (issue 23): how many unlinkable-code certificates wait for this citizen today, so the page
            # loads its PP3 module only when there are some (0 with PP3 off)
            "pp3_pending": len(pp3_issuance.pending(_citizen(), t)),
            "certificates": [{
                "cert_id": c.row.cert_id, "audience": c.row.audience, "scheme": c.row.scheme,
                "perks": [{"code": code, "title": c.titles.get(code, {"en": code, "zh-CN": code})}
                          for code in c.row.perks.split(",")],
                "not_before": c.row.not_before, "not_after": c.row.not_after,
                "renew_after": c.renew_after, "certificate": c.row.raw,
            } for c in made]}
