"""Issuance: perks per audience, no code without a perk, a real QR decoded by zxing-cpp and verified."""
import base64
import io

import pytest
from PIL import Image

from partner_sdk import Status, Verifier

CITIZEN = "+8613900000104"


def decode_png(png: bytes) -> str:
    import zxingcpp
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert len(results) == 1, results
    return results[0].text


def test_issue_png_decode_and_verify_granted(h, client):
    token = h.citizen(CITIZEN, {"moli": 713})
    out = h.issue(token, "metro", render=["png", "svg"])
    assert out["eligible"] is True and [p["code"] for p in out["perks"]] == ["MOLI-METRO20"]
    assert out["perks"][0]["title"]["zh-CN"]
    assert out["expires_at"] - out["issued_at"] == 90 and out["refresh_after"] == 60
    assert out["qr_svg"].lstrip().startswith("<?xml") or "<svg" in out["qr_svg"]
    png = base64.b64decode(out["qr_png"].split(",", 1)[1])
    text = decode_png(png)
    assert text == out["qr_text"] and text.startswith("PP1")
    decision = Verifier(h.trust_store(), audience="metro").verify(text)
    assert decision.status is Status.GRANTED and decision.granted
    assert decision.perks == ("MOLI-METRO20",) and decision.scheme == "moli" and decision.band is None
    assert decision.jti == out["jti"]


def test_qr_png_endpoint_is_a_real_qr(h, client):
    token = h.citizen(CITIZEN, {"moli": 713})
    r = client.post("/api/v1/credentials/qr.png", json={"audience": "gov-office"}, headers=h.bearer(token))
    assert r.status_code == 200 and r.mimetype == "image/png"
    text = decode_png(r.data)
    d = Verifier(h.trust_store(), audience="gov-office").verify(text, perk="MOLI-GOV-PRIORITY")
    assert d.status is Status.GRANTED
    assert set(d.perks) == {"MOLI-GOV-PRIORITY", "MOLI-GOV-ASSIST", "MOLI-GOV-EXPRESS"}
    r = client.post("/api/v1/credentials/qr.svg", json={"audience": "gov-office"}, headers=h.bearer(token))
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"


def test_thresholds_683_and_686(h):
    t683 = h.citizen("+8613900000103", {"moli": 683})
    t685 = h.citizen("+8613900000105", {"moli": 685})
    t686 = h.citizen("+8613900000106", {"moli": 686})
    assert h.issue(t683, "gov-office")["eligible"] is True
    assert h.issue(t683, "metro")["eligible"] is False
    assert h.issue(t685, "metro")["eligible"] is False
    assert h.issue(t686, "metro")["eligible"] is True
    t682 = h.citizen("+8613900000107", {"moli": 682})
    assert h.issue(t682, "gov-office")["eligible"] is False


def test_no_perk_means_no_code(h, client):
    token = h.citizen(CITIZEN, {"bailu": 553})  # FAIR: no library perk
    out = h.issue(token, "library")
    assert out["eligible"] is False and out["qr_text"] is None and out["perks"] == []
    assert out["message"] and out["message_zh"]
    r = client.post("/api/v1/credentials/qr.png", json={"audience": "library"}, headers=h.bearer(token))
    assert r.status_code == 404 and r.json["error"]["code"] == "no_perk"


def test_band_disclosed_only_when_a_perk_needs_it(h):
    token = h.citizen(CITIZEN, {"rongcheng": 1076})
    store = h.trust_store()
    heating = Verifier(store, audience="utility").verify(h.issue(token, "utility")["qr_text"])
    assert heating.granted and heating.perks == ("RC-HEATING",) and heating.band == "AAA"
    checkup = Verifier(store, audience="hospital").verify(h.issue(token, "hospital")["qr_text"])
    assert checkup.granted and checkup.perks == ("RC-CHECKUP",) and checkup.band is None


def test_two_schemes_pick_and_choose(h):
    token = h.citizen(CITIZEN, {"rongcheng": 1004, "sesame": 788})
    out = h.issue(token, "rental")
    assert out["scheme"] == "sesame" and out["other_schemes"] == ["rongcheng"]  # sesame offers more perks
    out = h.issue(token, "rental", scheme="rongcheng")
    assert out["scheme"] == "rongcheng" and [p["code"] for p in out["perks"]] == ["RC-NODEPOSIT"]
    out = h.issue(token, "rental", scheme="moli")
    assert out["eligible"] is False


def test_wrong_audience_is_refused_by_verifier(h):
    token = h.citizen(CITIZEN, {"moli": 713})
    qr = h.issue(token, "metro")["qr_text"]
    assert Verifier(h.trust_store(), audience="library").verify(qr).status is Status.WRONG_AUDIENCE


def test_pseudonyms_are_pairwise_and_last_one_day(h):
    token = h.citizen(CITIZEN, {"moli": 713})
    store = h.trust_store()
    m1 = Verifier(store, audience="metro").verify(h.issue(token, "metro")["qr_text"])
    m2 = Verifier(store, audience="metro").verify(h.issue(token, "metro")["qr_text"])
    g = Verifier(store, audience="gov-office").verify(h.issue(token, "gov-office")["qr_text"])
    same_day = m1.issued_at // 86_400 == m2.issued_at // 86_400
    assert (m1.pseudonym == m2.pseudonym) is same_day and m1.jti != m2.jti
    assert g.pseudonym != m1.pseudonym


def test_a_venue_type_cannot_follow_a_citizen_across_days_but_the_citizen_sees_every_use(h, app):
    """PP1's pseudonym changes each UTC day; the citizen's history and opt-out still find old redemptions."""
    import time
    import uuid

    from backend.extensions import db
    from backend.models import Citizen, Device, Redemption
    from backend.services import issuance

    token = h.citizen(CITIZEN, {"moli": 713})
    h.enrol(h.venue("Metro Line 2 Gulou", "metro"))
    now = int(time.time())
    with app.app_context():
        c = db.session.query(Citizen).one()
        codes = [issuance.issue(c.id, c.public_id, "metro", now + d * 86_400) for d in (0, 1, 2)]
        subs = [Verifier(h.trust_store(), "metro").verify(x.qr_text, now=x.issued_at) for x in codes]
        assert all(d.granted for d in subs) and len({d.pseudonym for d in subs}) == 3
        # redemptions recorded under the pseudonyms of 0, 1 and 30 days ago
        device = db.session.query(Device).one()
        for ago in (0, 1, 30):
            at = now - ago * 86_400
            db.session.add(Redemption(client_id=str(uuid.uuid4()), device_id=device.id, venue_id=device.venue_id,
                                      audience="metro", jti=f"histjti{ago:09d}", perk="MOLI-METRO20",
                                      pseudonym=issuance.pseudonym(c.public_id, "metro", at), scanned_at=at,
                                      received_at=now))
        db.session.commit()
    hist = h.client.get("/api/v1/me/redemptions", headers=h.bearer(token)).json["redemptions"]
    assert len(hist) == 3
    r = h.client.delete("/api/v1/me", headers=h.bearer(token), json={"confirm": True})
    assert r.status_code == 200 and r.json["redemptions_deleted"] == 3
    with app.app_context():
        assert db.session.query(Redemption).count() == 0


def test_issue_rate_limited_per_token(make_app):
    app = make_app(PERKPASS_RATE_LIMIT_ISSUE="2 per minute")
    from tests.backend.conftest import Helper
    h = Helper(app, app.test_client())
    with app.app_context():
        token = h.citizen(CITIZEN, {"moli": 713})
        codes = [h.client.post("/api/v1/credentials", json={"audience": "metro"},
                               headers=h.bearer(token)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.parametrize("audience", ["metro", "library", "hospital", "gov-office", "rental", "utility", "bank",
                                      "culture"])
def test_every_audience_answers_cleanly(h, audience):
    token = h.citizen(CITIZEN, {"moli": 713})
    out = h.issue(token, audience)
    assert out["eligible"] is (audience in {"metro", "gov-office"})


def test_issuance_answers_are_exactly_what_the_response_schema_dumps(h, client, app):
    # The issuance endpoint writes its JSON directly (hot path, docs/performance.md); every answer must
    # still be the IssueOut schema's own dump, byte for byte, in every shape it takes.
    from flask import jsonify

    from backend.schemas.credentials import IssueOut

    token = h.citizen(CITIZEN, {"moli": 713, "rongcheng": 1060})
    schema = IssueOut()
    shapes = [{"audience": "metro"}, {"audience": "utility"}, {"audience": "library"},
              {"audience": "hospital", "scheme": "rongcheng"}, {"audience": "metro", "render": ["svg", "png"]},
              {"audience": "bank"}]
    seen = set()
    for body in shapes:
        r = client.post("/api/v1/credentials", json=body, headers=h.bearer(token))
        assert r.status_code == 200, r.json
        assert r.headers["Content-Type"] == "application/json" and r.headers["Cache-Control"] == "no-store"
        assert schema.validate(r.json) == {}
        assert schema.dump(r.json) == r.json
        with app.test_request_context():
            assert r.data == jsonify(schema.dump(r.json)).data
        seen.add((r.json["eligible"], "qr_png" in r.json, bool(r.json.get("other_schemes"))))
        if body["audience"] == "utility":
            # a band-disclosing perk: the band is in the credential, never the score (compared as values:
            # the random digits of a QR text or a timestamp may contain "1060" by chance)
            import json as _json

            from partner_sdk import format as fmt
            claims = _json.loads(fmt.parse_qr_text(r.json["qr_text"]).payload_json)
            assert claims["bnd"] and 1060 not in claims.values() and "score" not in claims
            assert 1060 not in r.json.values() and not any("score" in k for k in r.json)
    assert (False, False, False) in seen and (True, True, False) in seen  # no perk at the library; images


@pytest.mark.parametrize("body", [
    {"audience": "metro"}, {"audience": "gov-office"}, {"audience": "x"}, {"audience": "Metro"}, {"audience": "me tro"},
    {"audience": "metro\n"}, {"audience": "a" * 32}, {"audience": "a" * 33}, {"audience": "métro"}, {"audience": "-metro"},
    {"audience": 7}, {"audience": None}, {"audience": ["metro"]}, {"audience": "metro", "render": ["png"]},
    {"audience": "metro", "extra": 1}, {"scheme": "moli"}, {},
])
def test_fast_issue_body_agrees_with_the_issuein_schema(body):
    from marshmallow import ValidationError

    from backend.api.credentials import plain_issue_body
    from backend.schemas.credentials import IssueIn

    try:
        expected = IssueIn().load(body)
    except ValidationError:
        expected = None
    fast = plain_issue_body(body)
    # the fast path may decline anything (the schema then answers), but what it accepts it loads the same
    assert fast is None or fast == expected
    if set(body) == {"audience"} and expected is not None:
        assert fast == expected  # and it does accept the plain body it exists for
