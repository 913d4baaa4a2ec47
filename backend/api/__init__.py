"""HTTP API: one blueprint per concern."""
from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth, credentials, devices, kiosk, me, meta, operator, trust

    for module in (meta, auth, me, devices, credentials, trust, kiosk, operator):
        app.register_blueprint(module.bp)
    from . import app_page; app.register_blueprint(app_page.bp)  # citizen page /app/ + /api/v1/catalogue
    from . import ledger; ledger.register(app)  # score ledger: /api/v1/me/score, /provider, /reviewer, /operator/ledger
    from . import console; console.register(app)  # operator/reviewer console /console/ + /api/v1/kiosk/report
