"""Issuing a citizen's perk code for one audience (their own, never anyone else's)."""
import base64
import logging
import re

from flask import Blueprint, Response, g

from partner_sdk import Status
from partner_sdk.format import qr_version_m
from partner_sdk.messages import citizen_text
from partner_sdk.qr import qr_png, qr_svg

from ..http.log import event
from ..schemas.credentials import IssueIn, IssueOut
from ..services import console_stats, issuance
from ..services.errors import NotFound
from ..http import ratelimit
from ..settings import settings
from .common import endpoint, now

bp = Blueprint("credentials", __name__, url_prefix="/api/v1/credentials")
log = logging.getLogger("perkpass.issuance")

# what a citizen reads when there is no code: the one text catalogue (partner_sdk/messages.py)


def _no_perk_text(lang: str) -> str:
    text = citizen_text(Status.NOT_ENTITLED, lang)
    assert text is not None, "partner_sdk.messages gives citizens a text for NOT_ENTITLED"
    return text


NO_PERK_EN, NO_PERK_ZH = _no_perk_text("en"), _no_perk_text("zh-CN")


_AUDIENCE = re.compile(r"[a-z][a-z0-9-]{1,31}")


def plain_issue_body(data: dict) -> dict | None:
    """``{"audience": "<audience>"}``, the body the citizen app sends on every refresh, loaded as IssueIn
    would load it; None for any other body (IssueIn then loads it). tests/backend/test_credentials.py
    checks the two agree."""
    if len(data) == 1:
        audience = data.get("audience")
        if type(audience) is str and _AUDIENCE.fullmatch(audience):
            return {"audience": audience, "render": []}
    return None


def _issue(data) -> tuple[dict, issuance.Issued | None]:
    # per citizen (not per token: logging in again must not reset it); after authentication
    ratelimit.check("issue", g.citizen_public_id, "issue",
                    shared=settings().rate_limit_issue_shared)
    audience = data["audience"]
    issued = issuance.issue(g.citizen_id, g.citizen_public_id, audience, now(), scheme=data.get("scheme"),
                            known=g.get("citizen_memberships"))
    if issued is None:
        event(log, "credential.none", logging.DEBUG, audience=audience)
        return {"eligible": False, "audience": audience, "scheme": None, "perks": [], "qr_text": None,
                "jti": None, "issued_at": None, "expires_at": None, "refresh_after": None, "qr_version": None,
                "message": NO_PERK_EN, "message_zh": NO_PERK_ZH}, None
    console_stats.count_issued(audience, issued.issued_at)  # the console's "codes issued" chart
    # DEBUG: the access log already records every issuance request; a second line per code would
    # double the logging cost of the hottest endpoint
    event(log, "credential.issued", logging.DEBUG, audience=audience, scheme=issued.scheme, kid=issued.kid,
          perks=len(issued.perks))
    # keys in IssueOut's field order: the endpoint writes this dict as JSON without the schema's dump
    # (a contract test compares the two byte for byte)
    out = {"eligible": True, "audience": audience, "scheme": issued.scheme,
           "perks": [{"code": p.code, "title": p.title} for p in issued.perks], "qr_text": issued.qr_text,
           "jti": issued.jti, "issued_at": issued.issued_at, "expires_at": issued.expires_at,
           "refresh_after": issued.refresh_after, "qr_version": qr_version_m(issued.qr_text)}
    render = set(data.get("render") or [])
    if "svg" in render:
        out["qr_svg"] = qr_svg(issued.qr_text, box_size=8, border=4)
    if "png" in render:
        out["qr_png"] = "data:image/png;base64," + base64.b64encode(qr_png(issued.qr_text, box_size=8)).decode()
    out.update(other_schemes=issued.other_schemes, message=None, message_zh=None)
    return out, issued


@endpoint(bp, "", "POST", summary="Issue the logged-in citizen's perk code for an audience.", auth="citizen",
          body=IssueIn, response=IssueOut, errors=(404, 429, 503), dump_response=False,
          fast_body=plain_issue_body,
          description="A citizen without a perk at the audience gets eligible=false and no code. "
                      "The code never contains a score; refresh it after refresh_after seconds.")
def issue_credential(data):
    out, _ = _issue(data)
    return out


@endpoint(bp, "/qr.png", "POST", summary="The same code as a PNG image (404 when there is no perk).",
          auth="citizen", body=IssueIn, errors=(404, 429, 503),
          produces={"image/png": {"type": "string", "format": "binary"}})
def issue_png(data):
    out, issued = _issue(data)
    if issued is None:  # an image must show a code: "no perk here" is the absence of one
        raise NotFound(NO_PERK_EN, code="no_perk")
    resp = Response(qr_png(issued.qr_text), mimetype="image/png")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Perkpass-Expires-At"] = str(issued.expires_at)
    resp.headers["X-Perkpass-Refresh-After"] = str(issued.refresh_after)
    return resp


@endpoint(bp, "/qr.svg", "POST", summary="The same code as an SVG image (404 when there is no perk).",
          auth="citizen", body=IssueIn, errors=(404, 429, 503),
          produces={"image/svg+xml": {"type": "string"}})
def issue_svg(data):
    out, issued = _issue(data)
    if issued is None:  # an image must show a code: "no perk here" is the absence of one
        raise NotFound(NO_PERK_EN, code="no_perk")
    resp = Response(qr_svg(issued.qr_text), mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Perkpass-Expires-At"] = str(issued.expires_at)
    return resp
