"""HTTP API: one blueprint per concern, all registered here (importing a view module registers nothing).

Imports flow one way: view modules -> ``common`` (endpoint, auth, limits) -> ``bearer`` (roles) -> services."""
from flask import Flask

from . import (app_page, auth, console, credentials, devices, kiosk, kiosk_report, ledger_admin, me, meta, operator,
               pp3, providers, reviewer, score, trust)

BLUEPRINT_MODULES = (
    meta, auth, me, devices, pp3, credentials, trust, kiosk, operator,
    app_page,                                   # citizen page /app/ + /api/v1/catalogue
    score, providers, reviewer, ledger_admin,   # score ledger: /api/v1/me/score, /provider, /reviewer, /operator/ledger
    console, kiosk_report,                      # operator/reviewer console /console/ + /api/v1/kiosk/report
)


def register_blueprints(app: Flask) -> None:
    for module in BLUEPRINT_MODULES:
        app.register_blueprint(module.bp)
    app.register_blueprint(meta.probes)  # /healthz and /readyz, outside /api/v1 where probes look for them
