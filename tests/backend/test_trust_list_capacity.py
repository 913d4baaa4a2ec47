"""The trust list carries the withdrawn PP2 certificates the spec promises (issue 18 part 3), end to end: the
backend certifies and withdraws real certificates among tens of thousands of other withdrawals, publishes the
list, and the SDK verifier that loads it refuses exactly the withdrawn one. Past capacity nothing is signed."""
import re
import secrets
import time

from partner_sdk import Status, Verifier, pp2
from partner_sdk import format as fmt
from partner_sdk.trust import MAX_TRUST_LIST_BYTES
from tests.backend.test_devices import Phone, _certs, unb64

PROMISED_IDS = 45_000  # docs/credential-format.md, "Trust list"


def withdraw_others(app, n: int, now: int) -> None:
    """``n`` withdrawals of other citizens' certificates, as the revocation rows the backend keeps."""
    from backend.extensions import db
    from backend.models import CertificateRevocation
    rows = [{"cert_id": fmt.b64url_encode(secrets.token_bytes(pp2.CERT_ID_BYTES)), "expires_at": now + 86_400,
             "revoked_at": now} for _ in range(n)]
    with app.app_context():
        db.session.execute(CertificateRevocation.__table__.insert(), rows)
        db.session.commit()


def metro_certificate(h, token, phone, label):
    device = phone.register(h, token, label).json["id"]
    return device, {c["audience"]: c for c in _certs(h, token, device)["certificates"]}["metro"]


def test_the_promised_withdrawals_fit_and_only_the_withdrawn_certificate_is_refused(h, app):
    token = h.citizen("+8613900001801", {"moli": 713})
    kept_phone, lost_phone = Phone("Ed25519"), Phone("P-256")
    _, kept = metro_certificate(h, token, kept_phone, "kept")
    lost_device, lost = metro_certificate(h, token, lost_phone, "lost")
    assert h.client.delete(f"/api/v1/me/devices/{lost_device}", headers=h.bearer(token)).json["certificates_revoked"] == 2
    withdraw_others(app, PROMISED_IDS - 2, int(time.time()))

    raw = h.client.get("/api/v1/trust-list").data
    store = h.trust_store()
    assert len(raw) <= MAX_TRUST_LIST_BYTES and len(store.current.revoked) == PROMISED_IDS
    now = time.time()
    verifier = Verifier(store, "metro")
    lost_code = pp2.sign_presentation(unb64(lost["certificate"]), lost_phone.key, now)
    kept_code = pp2.sign_presentation(unb64(kept["certificate"]), kept_phone.key, now)
    assert verifier.verify(lost_code, now=now).status is Status.REVOKED
    assert verifier.verify(kept_code, now=now).status is Status.GRANTED


def test_past_capacity_no_list_is_signed_and_the_operator_is_told(h, app):
    from backend.extensions import db
    from backend.models import TrustListVersion
    published = h.trust_store().sequence
    withdraw_others(app, 50_000, int(time.time()))
    r = h.client.get("/api/v1/trust-list")
    assert r.status_code == 409 and r.json["error"]["code"] == "trust_list_over_capacity"
    assert re.search(r"over the 1,000,000 verifiers read: 50,000 withdrawn certificate ids, at most 4\d,\d{3} fit",
                     r.json["error"]["message"])
    with app.app_context():  # a list every verifier would refuse is never stored nor served
        assert db.session.query(TrustListVersion.sequence).order_by(TrustListVersion.sequence.desc()).first()[0] \
            == published


def test_past_capacity_a_command_that_publishes_says_so_in_one_line(app, tmp_path):
    withdraw_others(app, 50_000, int(time.time()))
    out = tmp_path / "trust-list.jws"
    res = app.test_cli_runner().invoke(args=["trust-list", "export", "--out", str(out)])
    assert res.exit_code == 1 and not out.exists()
    assert res.output.startswith("Error: [trust_list_over_capacity] Cannot publish a trust list: trust list would be ")
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
