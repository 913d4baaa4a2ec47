"""Data that stays small (issue 14 item 3): personal history older than PERKPASS_RETENTION_DAYS goes, in
short batches that are safe while kiosks sync; the citizen page is told how long records are kept."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from backend.config import ConfigError
from backend.extensions import db
from backend.models import CertificateRevocation, Device, PerkCertificate, Redemption, RedemptionRejection
from backend.services import retention
from tools.cluster import pp1_redemption

DAY = 86400
CITIZEN = "+8613900001401"


def _me(h, token):
    return h.client.get("/api/v1/me", headers=h.bearer(token)).json


def _redemption(device: Device, scanned_at: int, pseudo: str, perk: str = "MOLI-METRO20") -> Redemption:
    return Redemption(client_id=str(uuid.uuid4()), device_id=device.id, venue_id=device.venue_id,
                      audience=device.venue.audience, jti=uuid.uuid4().hex[:16], pseudonym=pseudo, perk=perk,
                      scanned_at=scanned_at, received_at=scanned_at)


def _certificate(citizen_id: int, not_after: int) -> PerkCertificate:
    return PerkCertificate(cert_id=uuid.uuid4().hex[:16], citizen_id=citizen_id, audience="metro", scheme="moli",
                           perks="MOLI-METRO20", raw="x", not_before=not_after - DAY, not_after=not_after)


def test_purge_deletes_history_older_than_the_retention_and_keeps_the_rest(h):
    now = int(time.time())
    token = h.citizen(CITIZEN, {"moli": 713})
    me = _me(h, token)
    from backend.models import Citizen
    citizen = db.session.query(Citizen).filter_by(public_id=me["id"]).one()
    device = db.session.query(Device).filter_by(public_id=h.enrol(h.venue("Gate", "metro", ["MOLI-METRO20"]))
                                                ["device_id"]).one()
    from partner_sdk import Verifier
    mine = Verifier(h.trust_store(), audience="metro").verify(h.issue(token, "metro")["qr_text"]).pseudonym
    old = [_redemption(device, now - (181 + i) * DAY, mine) for i in range(5)]
    recent = [_redemption(device, now - (179 - i) * DAY, mine) for i in range(3)]
    old_cert, live_cert = _certificate(citizen.id, now - 200 * DAY), _certificate(citizen.id, now + DAY)
    db.session.add_all(old + recent + [old_cert, live_cert])
    db.session.add_all([RedemptionRejection(client_id=str(uuid.uuid4()), device_id=device.id, reason="unknown_perk",
                                            received_at=now - days_ago * DAY) for days_ago in (200, 10)])
    db.session.add_all([CertificateRevocation(cert_id=old_cert.cert_id, expires_at=old_cert.not_after,
                                              revoked_at=old_cert.not_after - 3600),
                        CertificateRevocation(cert_id=live_cert.cert_id, expires_at=live_cert.not_after,
                                              revoked_at=now)])
    db.session.commit()
    before = h.client.get("/api/v1/me/redemptions", headers=h.bearer(token)).json
    assert len(before["redemptions"]) == 8 and before["retention_days"] == 180

    assert retention.pending(now, 180) == {"redemptions": 5, "perk_certificates": 1, "certificate_revocations": 1,
                                           "device_challenges": 0, "redemption_rejections": 1,
                                           "unused_perk_certificates": 0}
    out = retention.purge(now, 180, batch_size=2)  # several batches per table
    assert out == {"redemptions": 5, "perk_certificates": 1, "certificate_revocations": 1, "device_challenges": 0,
                   "redemption_rejections": 1, "unused_perk_certificates": 0}
    after = h.client.get("/api/v1/me/redemptions", headers=h.bearer(token)).json["redemptions"]
    assert sorted(r["scanned_at"] for r in after) == sorted(r.scanned_at for r in recent)
    assert {c.cert_id for c in db.session.query(PerkCertificate)} == {live_cert.cert_id}
    assert {c.cert_id for c in db.session.query(CertificateRevocation)} == {live_cert.cert_id}
    assert retention.purge(now, 180) == dict.fromkeys(out, 0)  # a second run finds nothing


def test_expired_certificates_no_kiosk_reported_go_after_30_days(h):
    """A phone renews its certificates daily: only those a redemption names are kept for the retention."""
    now = int(time.time())
    token = h.citizen(CITIZEN, {"moli": 713})
    from backend.models import Citizen
    citizen = db.session.query(Citizen).filter_by(public_id=_me(h, token)["id"]).one()
    device = db.session.query(Device).filter_by(public_id=h.enrol(h.venue("Gate", "metro", ["MOLI-METRO20"]))
                                                ["device_id"]).one()
    unused_old, used_old = _certificate(citizen.id, now - 40 * DAY), _certificate(citizen.id, now - 40 * DAY)
    unused_recent = _certificate(citizen.id, now - 10 * DAY)
    db.session.add_all([unused_old, used_old, unused_recent, _redemption(device, now - 41 * DAY, used_old.cert_id)])
    db.session.commit()
    assert retention.pending(now, 180)["unused_perk_certificates"] == 1
    assert retention.purge(now, 180)["unused_perk_certificates"] == 1
    assert {c.cert_id for c in db.session.query(PerkCertificate)} == {used_old.cert_id, unused_recent.cert_id}
    hist = h.client.get("/api/v1/me/redemptions", headers=h.bearer(token)).json["redemptions"]
    assert len(hist) == 1  # the reported one still finds its citizen


def test_retention_command_for_cron(h, runner, app):
    device = db.session.query(Device).filter_by(public_id=h.enrol(h.venue("Desk", "metro", ["MOLI-METRO20"]))
                                                ["device_id"]).one()
    now = int(time.time())
    db.session.add_all([_redemption(device, now - 40 * DAY, "p" * 23), _redemption(device, now - 10 * DAY, "q" * 23)])
    db.session.commit()
    r = runner.invoke(args=["retention", "purge", "--days", "30", "--dry-run"])
    assert r.exit_code == 0 and "would delete 1 redemptions" in r.output, r.output
    assert db.session.query(Redemption).count() == 2
    r = runner.invoke(args=["retention", "purge", "--days", "30", "--pause", "0"])
    assert r.exit_code == 0 and "deleted 1 redemptions" in r.output, r.output
    assert [x.scanned_at for x in db.session.query(Redemption)] == [now - 10 * DAY]
    r = runner.invoke(args=["retention", "purge"])  # the configured 180 days
    assert r.exit_code == 0 and "retention 180 days" in r.output and "deleted 0 redemptions" in r.output
    r = runner.invoke(args=["retention", "purge", "--days", "0"])
    assert r.exit_code != 0 and "at least 1 day" in r.output and "Traceback" not in r.output


def test_retention_setting_is_validated_and_reaches_the_citizen(make_app):
    with pytest.raises(ConfigError, match="PERKPASS_RETENTION_DAYS"):
        make_app(PERKPASS_RETENTION_DAYS=0)
    app = make_app(PERKPASS_RETENTION_DAYS=90)
    with app.app_context():
        from tests.backend.conftest import Helper
        hh = Helper(app, app.test_client())
        token = hh.login(CITIZEN)
        r = hh.client.get("/api/v1/me/redemptions", headers=hh.bearer(token))
        assert r.status_code == 200 and r.json == {"redemptions": [], "retention_days": 90}


def test_purge_while_kiosks_sync_loses_nothing_recent(h, app):
    """Cron runs the purge while kiosks upload: every upload succeeds, every recent row stays, every old
    row goes (PostgreSQL: the batches skip rows a sync holds and never wait on it)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite allows one writer at a time)")
    now = int(time.time())
    vid = h.venue("Busy gate", "metro", ["MOLI-METRO20"])
    kiosks = [h.enrol(vid, f"gate {i}") for i in range(3)]
    device = db.session.query(Device).filter_by(public_id=kiosks[0]["device_id"]).one()
    db.session.add_all([_redemption(device, now - 365 * DAY + i, f"old{i:020d}") for i in range(3000)])
    db.session.commit()
    db.session.remove()
    statuses, uploaded = [], []

    def kiosk(k):
        with app.app_context():
            c = app.test_client()
            for _ in range(15):
                batch = [pp1_redemption("MOLI-METRO20", int(time.time())) for _ in range(20)]
                r = c.post("/api/v1/kiosk/redemptions", json={"redemptions": batch},
                           headers={"Authorization": "Bearer " + k["device_token"]})
                statuses.append(r.status_code)
                if r.status_code == 200:
                    uploaded.extend(x["id"] for x in r.json["results"] if x["status"] == "accepted")
            db.session.remove()

    threads = [threading.Thread(target=kiosk, args=(k,)) for k in kiosks]
    for t in threads:
        t.start()
    with app.app_context():
        out = retention.purge(now, 180, batch_size=100)
        db.session.remove()
    for t in threads:
        t.join()
    assert set(statuses) == {200} and len(uploaded) == 3 * 15 * 20
    assert out["redemptions"] == 3000
    assert db.session.query(Redemption).count() == len(uploaded)
    assert {r.client_id for r in db.session.query(Redemption)} == set(uploaded)
