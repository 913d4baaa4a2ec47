"""Citizen sign-up and log-in: phone + one-time code, recorded consent, access tokens."""
from flask import Blueprint, g

from ..settings import settings
from ..services import consent as consent_texts
from ..extensions import client_address
from ..http.log import event
from ..schemas.auth import ConsentTextOut, LoggedOut, LoginIn, LoginOut, RequestCodeIn, RequestCodeOut
from ..services import auth as auth_service
from .common import config_limit, endpoint, now

import logging

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")
log = logging.getLogger("perkpass.auth")


def _citizen_brief(citizen) -> dict:
    consent = citizen.consents[-1] if citizen.consents else None
    return {"id": citizen.public_id, "phone_hint": "*" * 7 + citizen.phone_hint, "locale": citizen.locale,
            "created_at": citizen.created_at,
            "consent": {"version": consent.version, "accepted_at": consent.accepted_at} if consent else None}


@endpoint(bp, "/consent", summary="The current consent text citizens accept when joining.", response=ConsentTextOut)
def consent_text():
    return consent_texts.current_text(settings().consent_version)


@endpoint(bp, "/request-code", "POST", summary="Send a one-time log-in code to a phone.", body=RequestCodeIn,
          response=RequestCodeOut, status=202, errors=(429,),
          limits=[(config_limit("request_code_ip"), client_address)],
          description="The answer is the same whether or not the phone has an account. Per-phone limits "
                      "(PERKPASS_RATE_LIMIT_REQUEST_CODE) and the lock-out after repeated wrong codes are "
                      "counted in the database, so every worker sees them: 429 `rate_limited` / `locked_out`.")
def request_code(data):
    phone = auth_service.citizen_phone(data["phone"])
    code = auth_service.request_code(phone, now(), data.get("locale", "zh-CN"))
    event(log, "auth.code_sent")
    out: dict[str, object] = {"sent": True, "expires_in": settings().otp_ttl}
    if settings().dev_mode:
        out["dev_code"] = code
    return out


@endpoint(bp, "/login", "POST", summary="Log in (or join, with consent) with the one-time code.", body=LoginIn,
          response=LoginOut, errors=(429,),
          limits=[(config_limit("login"), client_address)],
          description="A phone without an account needs `consent: {version, accepted: true}` to join; "
                      "otherwise the answer is 400 consent_required and the code stays valid. Each code "
                      "takes PERKPASS_OTP_MAX_ATTEMPTS tries; PERKPASS_LOGIN_LOCKOUT_FAILURES wrong codes "
                      "within PERKPASS_LOGIN_LOCKOUT_SECONDS lock the phone out (429 `locked_out`).")
def login(data):
    phone = auth_service.citizen_phone(data["phone"])
    t = now()
    result = auth_service.login(phone, data["code"], data.get("consent"), t, data.get("locale"))
    event(log, "auth.joined" if result.created else "auth.logged_in")
    return {"access_token": result.token, "token_type": "Bearer", "expires_at": result.expires_at,
            "expires_in": result.expires_at - t, "created": result.created,
            "citizen": _citizen_brief(result.citizen)}


@endpoint(bp, "/logout", "POST", summary="Revoke the current access token.", auth="citizen", response=LoggedOut)
def logout():
    auth_service.logout(g.token)
    return {"logged_out": True}
