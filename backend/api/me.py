"""The citizen's own data: profile and scores, perks, where codes were used, opt-out."""
import logging

from flask import Blueprint, g

from ..settings import settings
from ..http.errors import APIError
from ..extensions import db
from ..http.log import event
from ..models import Citizen, CitizenScheme
from ..schemas.me import JoinSchemeIn, MeOut, MembershipOut, MyPerksOut, MyRedemptionsOut, OptOutIn, OptOutOut
from ..services import redemptions as redemption_service
from ..services import scores as score_service
from ..services.perks import get_catalogue
from .auth import _citizen_brief
from .common import endpoint, now

bp = Blueprint("me", __name__, url_prefix="/api/v1/me")
log = logging.getLogger("perkpass.me")


def _citizen() -> Citizen:
    c = db.session.get(Citizen, g.citizen_id)
    if c is None:  # deleted between auth and now
        raise APIError(401, "unauthorized", "A valid citizen bearer token is required.", {})
    return c


def _membership(m: CitizenScheme) -> dict | None:
    cfg = get_catalogue().schemes.get(m.scheme.code)
    if cfg is None:
        return None
    band = cfg.band_for(m.score)
    return {"scheme": cfg.code, "name": cfg.name, "score": m.score,
            "band": {"code": band.code, "label": band.label}, "range": {"min": cfg.min, "max": cfg.max},
            "updated_at": m.updated_at, "perks": [p.public() for p in cfg.eligible(m.score)]}


@endpoint(bp, "", summary="The logged-in citizen: consent, schemes, own scores and perks.", auth="citizen",
          response=MeOut)
def me():
    c = _citizen()
    out = _citizen_brief(c)
    out["schemes"] = [x for x in (_membership(m) for m in c.memberships) if x is not None]
    return out


@endpoint(bp, "/schemes", "POST", summary="Join a scheme at its base score.", auth="citizen", body=JoinSchemeIn,
          response=MembershipOut, status=201, errors=(404,))
def join_scheme(data):
    m = score_service.join(_citizen(), data["scheme"], now())
    event(log, "citizen.joined_scheme", scheme=data["scheme"])
    return _membership(m)


@endpoint(bp, "/perks", summary="Every perk the citizen has now, with the audiences to ask codes for.",
          auth="citizen", response=MyPerksOut)
def my_perks():
    c = _citizen()
    perks: list[dict] = []
    for m in c.memberships:
        cfg = get_catalogue().schemes.get(m.scheme.code)
        if cfg is not None:
            perks.extend(p.public() for p in cfg.eligible(m.score))
    return {"perks": perks, "audiences": sorted({p["audience"] for p in perks})}


@endpoint(bp, "/redemptions", summary="Where the citizen's codes were used (newest first).", auth="citizen",
          response=MyRedemptionsOut)
def my_redemptions():
    return {"redemptions": redemption_service.for_citizen(g.citizen_public_id, now()),
            "retention_days": settings().retention_days}


@endpoint(bp, "", "DELETE", summary="Opt out: delete the account, scores, consents and redemption history.",
          auth="citizen", body=OptOutIn, response=OptOutOut)
def opt_out(data):
    if data["confirm"] is not True:
        raise APIError(400, "validation_error", "Set confirm to true to delete your data.",
                       {"confirm": ["Must be true."]})
    counts = score_service.opt_out(_citizen())
    event(log, "citizen.opted_out")
    return {"deleted": True, "memberships_deleted": counts["memberships"],
            "redemptions_deleted": counts["redemptions"]}
