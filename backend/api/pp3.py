"""PP3 (issue 23): a citizen's phone asks for today's unlinkable-code certificates, blindly signed over its
commitments (backend.services.pp3_issuance)."""
import base64
import binascii
import logging

from flask import Blueprint, g

from partner_sdk import format as fmt
from partner_sdk import pp3

from ..settings import settings
from ..http import ratelimit
from ..http.errors import APIError
from ..extensions import db
from ..http.log import event
from ..models import Citizen
from ..schemas.pp3 import Pp3CertificatesIn, Pp3CertificatesOut
from ..services import pp3_issuance
from .common import endpoint, now

bp = Blueprint("pp3", __name__, url_prefix="/api/v1/me/pp3")
log = logging.getLogger("perkpass.pp3")


def _b64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise APIError(400, "validation_error", "A commitment is not base64url.", {}) from None


@endpoint(bp, "/certificates", "POST",
          summary="Today's PP3 certificates: blind BBS signatures over the phone's commitments, one per venue type "
                  "and scheme with perks now (schemes with PP3 switched on).",
          auth="citizen", body=Pp3CertificatesIn, response=Pp3CertificatesOut, errors=(400, 409, 429))
def certificates(data):
    ratelimit.check("issue", g.citizen_public_id, "pp3-certify")
    citizen = db.session.get(Citizen, g.citizen_id)
    if citizen is None:
        raise APIError(401, "unauthorized", "A valid citizen bearer token is required.", {})
    t = now()
    issued = pp3_issuance.certify(citizen, [_b64url(c) for c in data["commitments"]], t)
    event(log, "pp3.certified", logging.DEBUG, certificates=len(issued))
    return {"server_time": t, "issuer": settings().issuer,
            "public_key": fmt.b64url_encode(pp3_issuance.bbs_key(t).public.public_key),
            "slot_seconds": pp3.SLOT_SECONDS,
            "certificates": [{
                "commitment_index": i.commitment_index, "kid": i.certificate.kid, "audience": i.certificate.audience,
                "scheme": i.certificate.scheme,
                "perks": [{"code": c, "title": i.titles.get(c, {"en": c, "zh-CN": c})} for c in i.certificate.perks],
                "day": i.certificate.day, "signature": fmt.b64url_encode(i.certificate.signature),
                "signer_nym_entropy": fmt.b64url_encode(i.signer_nym_entropy.to_bytes(32, "big")),
                "quota_window": i.quota_window,
                "claims_block": fmt.b64url_encode(pp3.claims_block(i.certificate.audience, i.certificate.perks)),
            } for i in issued]}
