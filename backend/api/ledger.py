"""The score ledger's HTTP surface (issue 6): registers the provider and reviewer bearer roles and the
four blueprints -- citizen (/api/v1/me/score), data providers (/api/v1/provider), reviewers
(/api/v1/reviewer) and the operator's ledger administration (/api/v1/operator/ledger)."""
from __future__ import annotations

import hashlib

from flask import Flask, current_app, g

from ..errors import APIError
from ..extensions import client_address
from .common import EXTRA_AUTH, _unauthorized, bearer_token


def _provider(token: str) -> None:
    from ..services.ledger import provider_for_token
    p = provider_for_token(token)
    if p is None:
        raise _unauthorized("provider")
    if p.revoked_at is not None:
        raise APIError(403, "provider_revoked", "This data provider's token has been revoked.", {})
    g.provider = p


def _reviewer(token: str) -> None:
    from ..services.ledger import reviewer_for_token
    r = reviewer_for_token(token)
    if r is None:
        raise _unauthorized("reviewer")
    if r.revoked_at is not None:
        raise APIError(403, "reviewer_revoked", "This reviewer's token has been revoked.", {})
    g.reviewer = r


EXTRA_AUTH.setdefault("provider", (_provider, "Data provider token (pp_dp_…) from `flask --app backend ledger "
                                              "providers create` or POST /api/v1/operator/ledger/providers"))
EXTRA_AUTH.setdefault("reviewer", (_reviewer, "Reviewer token (pp_rv_…) from `flask --app backend ledger "
                                              "reviewers create` or POST /api/v1/operator/ledger/reviewers"))


def token_key() -> str:
    """Rate-limit key: the bearer token (hashed), else the client address."""
    token = bearer_token()
    return "tok:" + hashlib.sha256(token.encode()).hexdigest()[:32] if token else "addr:" + client_address()


def limit(key: str, default: str):
    return lambda: current_app.config.get(key, default)


def query(schema_cls) -> dict:
    """Load the query string through a schema (unknown parameters are refused like unknown fields)."""
    from flask import request
    return schema_cls().load(request.args.to_dict())


def register(app: Flask) -> None:
    from . import ledger_admin, providers, reviewer, score
    for module in (score, providers, reviewer, ledger_admin):
        app.register_blueprint(module.bp)
    from ..ledger_cli import ledger_cli
    app.cli.add_command(ledger_cli)
