"""PP3 on the backend (issue 23): blind issuance over the phone's commitments, the BBS key in the signed trust
list, real SDK verification of the codes made from what the endpoint returns; off by default; the issuer's
tables hold nothing that joins a PP3 code to a citizen. Real database (SQLite and PostgreSQL)."""
import base64
from dataclasses import replace
import time

import pytest
from sqlalchemy import inspect, select

from backend.extensions import db
from partner_sdk import Status, Verifier, pp3
from partner_sdk import format as fmt
from tests.utc_day import wait_for_room

PHONE = "+8613900000931"


@pytest.fixture(autouse=True)
def room_in_the_utc_day():
    """Certificates are issued for today (real clock) and checked against it: never across midnight UTC."""
    wait_for_room(60)


def unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@pytest.fixture
def pp3_app(make_app):
    app = make_app(PERKPASS_PP3_SCHEMES="moli")
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def hp(pp3_app):
    from tests.backend.conftest import Helper
    return Helper(pp3_app, pp3_app.test_client())


def _ask(h, token, requests):
    return h.client.post("/api/v1/me/pp3/certificates", headers=h.bearer(token),
                         json={"commitments": [fmt.b64url_encode(r.commitment) for r in requests]})


def test_blind_issuance_then_a_gate_grants_offline(hp):
    token = hp.citizen(PHONE, {"moli": 713})
    requests = [pp3.holder_request() for _ in range(6)]
    r = _ask(hp, token, requests)
    assert r.status_code == 200, r.json
    body = r.json
    assert body["certificates"], "a moli citizen at 713 has perks somewhere"
    store = hp.trust_store()
    issuer = store.current.issuer
    # the current BBS key signs; the next one is published beside it (rotation, see the test below)
    assert unb64(body["public_key"]) in [k.public_key for k in store.current.bbs_keys.values()]
    assert len(store.current.bbs_keys) == 2
    now = int(time.time())
    for c in body["certificates"]:
        req = requests[c["commitment_index"]]
        cert = pp3.Certificate(c["kid"], c["audience"], tuple(p["code"] for p in c["perks"]), c["day"], c["scheme"],
                               unb64(c["signature"]))
        secret = pp3.holder_secret(req, int.from_bytes(unb64(c["signer_nym_entropy"]), "big"))
        assert pp3.certificate_ok(cert, unb64(body["public_key"]), issuer, secret)
        assert c["day"] == now // 86_400
        code = pp3.present(cert, secret, unb64(body["public_key"]), issuer, now, c["quota_window"])
        d = Verifier(store, c["audience"]).verify(code, now=now)
        assert d.status is Status.GRANTED, (c["audience"], d.detail)
        assert d.scheme is None and d.perks == cert.perks
    # the issuer's tables: which day a certificate was made, nothing that a code carries
    tables = inspect(db.engine).get_table_names()
    stored = []
    for table in tables:
        for row in db.session.execute(db.text(f'SELECT * FROM "{table}"')):
            stored.append(repr(tuple(row)))
    dump = "\n".join(stored)
    for c in body["certificates"]:
        assert c["signature"] not in dump and c["signer_nym_entropy"] not in dump
        d = pp3.parse_qr_text(pp3.present(
            pp3.Certificate(c["kid"], c["audience"], tuple(p["code"] for p in c["perks"]), c["day"], c["scheme"],
                            unb64(c["signature"])),
            pp3.holder_secret(requests[c["commitment_index"]],
                              int.from_bytes(unb64(c["signer_nym_entropy"]), "big")),
            unb64(body["public_key"]), issuer, now, c["quota_window"]))
        assert d.pseudonym_text not in dump and d.presentation_id not in dump


def test_one_certificate_per_venue_type_and_day(hp):
    token = hp.citizen(PHONE, {"moli": 713})
    assert _ask(hp, token, [pp3.holder_request() for _ in range(6)]).status_code == 200
    again = _ask(hp, token, [pp3.holder_request() for _ in range(6)])
    assert again.status_code == 409 and again.json["error"]["code"] == "pp3_already_issued", again.json
    from backend.models import Pp3Issuance
    assert db.session.scalars(select(Pp3Issuance)).all(), "the day's issuance is recorded"


def test_bad_commitments_are_typed_4xx(hp):
    token = hp.citizen(PHONE, {"moli": 713})
    good = [pp3.holder_request() for _ in range(6)]
    broken = bytearray(good[0].commitment)
    broken[70] ^= 1
    cases = {
        "proof fails": [fmt.b64url_encode(bytes(broken))] + [fmt.b64url_encode(r.commitment) for r in good[1:]],
        "not base64url": ["!!!"] * 6,
        "garbage bytes": [fmt.b64url_encode(b"x" * 144)] * 6,
        "too few": [fmt.b64url_encode(good[0].commitment)],
        "empty list": [],
    }
    for why, commitments in cases.items():
        r = hp.client.post("/api/v1/me/pp3/certificates", headers=hp.bearer(token), json={"commitments": commitments})
        assert r.status_code in (400, 409, 422), (why, r.status_code, r.json)
        assert r.json["error"]["code"] != "internal_error", why
    assert hp.client.post("/api/v1/me/pp3/certificates", json={"commitments": []}).status_code == 401


def test_off_by_default_and_the_trust_list_carries_no_bbs_key(h):
    token = h.citizen(PHONE, {"moli": 713})
    r = _ask(h, token, [pp3.holder_request()])
    assert r.status_code == 409 and r.json["error"]["code"] == "pp3_not_enabled"
    assert h.trust_store().current.bbs_keys == {}


def test_opt_out_deletes_the_issuance_records(hp):
    from backend.models import Pp3Issuance
    token = hp.citizen(PHONE, {"moli": 713})
    assert _ask(hp, token, [pp3.holder_request() for _ in range(6)]).status_code == 200
    assert db.session.scalars(select(Pp3Issuance)).all()
    r = hp.client.delete("/api/v1/me", json={"confirm": True}, headers=hp.bearer(token))
    assert r.status_code == 200, r.json
    db.session.expire_all()
    assert db.session.scalars(select(Pp3Issuance)).all() == []


def test_a_kiosk_uploads_pp3_grants_with_no_pseudonym_and_they_join_nothing(hp):
    import uuid

    from backend.models import Redemption
    from partner_sdk import upload

    token = hp.citizen(PHONE, {"moli": 713})
    requests = [pp3.holder_request() for _ in range(6)]
    body = _ask(hp, token, requests).json
    c = next(x for x in body["certificates"] if x["audience"] == "metro")
    cert = pp3.Certificate(c["kid"], c["audience"], tuple(p["code"] for p in c["perks"]), c["day"], c["scheme"],
                           unb64(c["signature"]))
    secret = pp3.holder_secret(requests[c["commitment_index"]], int.from_bytes(unb64(c["signer_nym_entropy"]), "big"))
    store = hp.trust_store()
    dev = hp.enrol(hp.venue("Gate PP3", "metro", perks=[cert.perks[0]]))
    now = int(time.time())
    items = []
    for dt in (0, 200):  # two grants of one citizen, in two quota windows
        code = pp3.present(cert, secret, unb64(body["public_key"]), store.current.issuer, now + dt, c["quota_window"])
        d = Verifier(store, "metro").verify(code, now=now + dt)
        assert d.granted and upload.PP3_JTI_RE.match(d.jti)
        items.append({"id": str(uuid.uuid4()), "jti": d.jti, "pseudonym": upload.reported_pseudonym(d.jti, d.pseudonym),
                      "perk": cert.perks[0], "scanned_at": now})
    quota_nym = dict(items[0], id=str(uuid.uuid4()), jti="pp3-" + "A" * 16, pseudonym=d.pseudonym)
    r = hp.client.post("/api/v1/kiosk/redemptions", json={"redemptions": [*items, quota_nym]},
                       headers=hp.bearer(dev["device_token"]))
    assert r.status_code == 200, r.json
    assert [x["status"] for x in r.json["results"]] == ["accepted", "accepted", "rejected"]
    assert r.json["results"][2]["reason"] == "malformed_pseudonym", "a quota pseudonym is never stored"
    rows = db.session.scalars(select(Redemption).where(Redemption.jti.in_([i["jti"] for i in items]))).all()
    assert len(rows) == 2 and {row.pseudonym for row in rows} == {upload.PP3_PSEUDONYM}
    assert len({row.jti for row in rows}) == 2, "two grants of one citizen share no identifier"
    # the citizen's own history (by PP1 pseudonyms and PP2 certificates) does not find them: nothing joins
    mine = hp.client.get("/api/v1/me/redemptions", headers=hp.bearer(token)).json["redemptions"]
    assert not {i["id"] for i in items} & {x["id"] for x in mine}


def test_the_pp2_renewal_says_how_many_pp3_certificates_wait_and_a_new_scheme_gets_its_own(make_app):
    """The page loads its PP3 module only when the PP2 renewal says certificates wait (``pp3_pending``);
    the count is what the issuer then makes, and after that 0 for the day. A scheme whose perks start at noon
    (here: a second scheme switched on) gets its certificate then, beside the morning's."""
    from tests.backend.conftest import Helper
    from tests.backend.test_devices import Phone

    app = make_app(PERKPASS_PP3_SCHEMES="moli")
    with app.app_context():
        hp = Helper(app, app.test_client())
        token = hp.citizen(PHONE, {"moli": 713, "osmanthus": 160})
        dev = Phone("Ed25519").register(hp, token).json

        def pending() -> int:
            r = hp.client.post(f"/api/v1/me/devices/{dev['id']}/certificates", headers=hp.bearer(token))
            assert r.status_code == 200, r.json
            return r.json["pp3_pending"]

        first = pending()
        assert first == 2  # moli at 713: metro and gov-office
        r = _ask(hp, token, [pp3.holder_request() for _ in range(first)])
        assert r.status_code == 200 and len(r.json["certificates"]) == first, r.json
        assert pending() == 0
        from backend.settings import settings_of
        app.extensions["perkpass_settings"] = replace(settings_of(app), pp3_schemes=frozenset({"moli", "osmanthus"}))
        later = pending()
        assert later > 0
        r = _ask(hp, token, [pp3.holder_request() for _ in range(later)])
        assert r.status_code == 200, r.json
        assert {c["scheme"] for c in r.json["certificates"]} == {"osmanthus"} and len(r.json["certificates"]) == later
        assert pending() == 0
        again = _ask(hp, token, [pp3.holder_request()])
        assert again.status_code == 409 and again.json["error"]["code"] == "pp3_already_issued"
        db.session.remove()


def test_pp3_off_the_pp2_renewal_says_none_wait(h):
    from tests.backend.test_devices import Phone

    token = h.citizen(PHONE, {"moli": 713})
    dev = Phone("Ed25519").register(h, token).json
    r = h.client.post(f"/api/v1/me/devices/{dev['id']}/certificates", headers=h.bearer(token))
    assert r.status_code == 200 and r.json["pp3_pending"] == 0


def test_bbs_keys_rotate_by_period_the_list_carries_current_and_next(make_app):
    """Each key period (PERKPASS_PP3_KEY_DAYS) has its own BBS key; the trust list names the current and the
    next, so a gate knows the next one before it signs; certificates of a day in the next period are signed by
    the next key (a gate refuses the old key's codes once its period ended: tests/sdk/test_pp3.py)."""
    from backend.services import pp3_issuance

    app = make_app(PERKPASS_PP3_SCHEMES="moli", PERKPASS_PP3_KEY_DAYS=10)
    with app.app_context():
        from tests.backend.conftest import Helper
        hp = Helper(app, app.test_client())
        token = hp.citizen(PHONE, {"moli": 713})
        now = int(time.time())
        period = 10 * 86_400
        current, nxt = pp3_issuance.trust_list_keys(now)
        assert current.not_before <= now < current.not_after == nxt.not_before and current.not_after % period == 0
        assert current.kid != nxt.kid and nxt.not_after - nxt.not_before == period
        listed = hp.trust_store().current.bbs_keys
        assert set(listed) == {current.kid, nxt.kid}
        body = _ask(hp, token, [pp3.holder_request() for _ in range(6)]).json
        assert {c["kid"] for c in body["certificates"]} == {current.kid}
        # a day in the next period: the next key signs, the list then names it and the one after
        later = current.not_after + 3600
        from backend.models import Citizen
        citizen = db.session.scalars(select(Citizen)).first()
        issued = pp3_issuance.certify(citizen, [pp3.holder_request().commitment for _ in range(6)], later)
        assert issued and {i.certificate.kid for i in issued} == {nxt.kid}
        assert [k.kid for k in pp3_issuance.trust_list_keys(later)][0] == nxt.kid
        db.session.remove()
