"""The trust-list monitor warns before withdrawn PP2 certificates outgrow what one list can carry (issue 18.3):
past capacity the issuer signs no new list, so the operator must hear of it first. Real database."""
import secrets
import time

from sqlalchemy import insert

from backend.extensions import db
from backend.models import CertificateRevocation
from backend.services import console as console_service
from partner_sdk.trust import revoked_capacity


def _withdraw(n: int, now: int) -> None:
    rows = [{"cert_id": secrets.token_urlsafe(12), "expires_at": now + 86_400, "revoked_at": now} for _ in range(n)]
    db.session.execute(insert(CertificateRevocation), rows)
    db.session.commit()


def test_monitor_counts_withdrawals_against_capacity(h, app):
    h.client.get("/api/v1/trust-list")  # publishes the first list
    now = int(time.time())
    with app.app_context():
        fresh = console_service.trust_monitor(now)
        assert fresh["level"] == "ok" and fresh["withdrawn_certificates"] == 0
        capacity = fresh["withdrawn_capacity"]
        assert capacity == revoked_capacity(h.client.get("/api/v1/trust-list").get_data(as_text=True))
        assert 45_000 <= capacity < 50_000
        _withdraw(int(capacity * 0.85), now)
        m = console_service.trust_monitor(now)
        assert m["level"] == "warning" and "85%" in m["message"], m["message"]
        _withdraw(capacity - int(capacity * 0.85) + 1, now)
        m = console_service.trust_monitor(now)
        assert m["level"] == "critical" and "no new list can be signed" in m["message"], m["message"]
        assert m["withdrawn_certificates"] == capacity + 1
