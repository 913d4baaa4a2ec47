"""Bearer roles: who may call an endpoint declared with ``auth=ROLE``. One table, ``BEARER_ROLES``, read by
``common.authenticate`` (which resolver checks the token) and by ``openapi.py`` (the security schemes and
their descriptions). A new role is one row here; nothing else registers roles."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import g, request

from ..http.errors import APIError
from ..services import auth as auth_service
from ..services import ledger as ledger_service
from ..services import operators as operator_service
from ..services import partners as partner_service
from ..services.errors import Forbidden


@dataclass(frozen=True)
class BearerRole:
    name: str
    # resolve(token, request clock): puts who is calling into ``g``; an unknown token is HTTP's 401 (APIError
    # with WWW-Authenticate), a known one whose holder was revoked the domain's Forbidden (403)
    resolve: Callable[[str, int], None]
    description: str  # the OpenAPI security scheme's description: what the token looks like, where it comes from


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        return None
    return token.strip()


def unauthorized(kind: str) -> APIError:
    return APIError(401, "unauthorized", f"A valid {kind} bearer token is required.", {},
                    {"WWW-Authenticate": 'Bearer realm="perkpass"'})


def _citizen(token: str, t: int) -> None:
    found = auth_service.citizen_for_token(token, t) if token.startswith("pp_at_") else None
    if found is None:
        raise unauthorized("citizen")
    g.citizen_id, g.citizen_public_id, g.citizen_memberships = found
    g.token = token


def _device(token: str, t: int) -> None:
    device = partner_service.device_for_token(token) if token.startswith("pp_dev_") else None
    if device is None:
        raise unauthorized("device")
    if device.revoked_at is not None:
        raise Forbidden("This kiosk has been revoked; enrol it again.", code="device_revoked")
    g.device = device


def _operator(token: str, t: int) -> None:
    op = operator_service.operator_for_token(token) if token.startswith("pp_op_") else None
    if op is None:
        raise unauthorized("operator")
    g.operator = op


def _provider(token: str, t: int) -> None:
    p = ledger_service.provider_for_token(token)
    if p is None:
        raise unauthorized("provider")
    if p.revoked_at is not None:
        raise Forbidden("This data provider's token has been revoked.", code="provider_revoked")
    g.provider = p


def _reviewer(token: str, t: int) -> None:
    r = ledger_service.reviewer_for_token(token)
    if r is None:
        raise unauthorized("reviewer")
    if r.revoked_at is not None:
        raise Forbidden("This reviewer's token has been revoked.", code="reviewer_revoked")
    g.reviewer = r


BEARER_ROLES: dict[str, BearerRole] = {role.name: role for role in (
    BearerRole("citizen", _citizen, "Citizen access token (pp_at_…) from POST /api/v1/auth/login"),
    BearerRole("device", _device, "Kiosk device token (pp_dev_…) from POST /api/v1/kiosk/enroll"),
    BearerRole("operator", _operator, "Operator token (pp_op_…) from `flask --app backend operators create-token`"),
    BearerRole("provider", _provider, "Data provider token (pp_dp_…) from `flask --app backend ledger "
                                      "providers create` or POST /api/v1/operator/ledger/providers"),
    BearerRole("reviewer", _reviewer, "Reviewer token (pp_rv_…) from `flask --app backend ledger "
                                      "reviewers create` or POST /api/v1/operator/ledger/reviewers"),
)}
