"""The kiosk upload's hot path (issue 14 item 2): the body every kiosk sends is loaded without marshmallow and
the answer written directly, so both must agree exactly with the RedemptionBatchIn / RedemptionBatchOut
schemas the contract (docs/contracts.md) and the OpenAPI document name."""
from __future__ import annotations

import time
import uuid

import pytest

from tools.cluster import pp1_redemption

UID = "0f8fad5b-d9cb-469f-a165-70867728950e"
GOOD = {"id": UID, "jti": "abcdEFGH1234_-xy", "pseudonym": "ABCDEFGHIJKLMNOPQRSTUVA", "perk": "MOLI-METRO20",
        "scanned_at": 1_796_000_000}


def _with(**changes):
    item = dict(GOOD)
    for k, v in changes.items():
        if v is ...:
            item.pop(k)
        else:
            item[k] = v
    return {"redemptions": [item]}


@pytest.mark.parametrize("body", [
    {"redemptions": [GOOD]}, {"redemptions": [GOOD, dict(GOOD, id=str(uuid.uuid4()))]}, {"redemptions": [GOOD] * 500},
    {"redemptions": [GOOD] * 501}, {"redemptions": []}, {"redemptions": None}, {"redemptions": GOOD}, {},
    {"redemptions": [GOOD], "extra": 1}, {"Redemptions": [GOOD]},
    _with(id="not-a-uuid"), _with(id=UID.upper()), _with(id=UID + "\n"), _with(id=...), _with(extra="x"),
    _with(jti=""), _with(jti="j" * 64), _with(jti="j" * 65), _with(jti="a\x00b"), _with(jti="a\tb"), _with(jti=7),
    _with(pseudonym="p" * 65), _with(pseudonym="ünïcode"), _with(pseudonym=None),
    _with(perk="P" * 33), _with(perk="P" * 32), _with(perk="a\x7f"),
    _with(scanned_at="1796000000"), _with(scanned_at=1.5), _with(scanned_at=True), _with(scanned_at=-1),
    _with(scanned_at=None), _with(scanned_at=...), {"redemptions": [GOOD, "x"]}, {"redemptions": [[GOOD]]},
])
def test_fast_batch_body_agrees_with_the_schema(body):
    from marshmallow import ValidationError

    from backend.api.kiosk import plain_batch_body
    from backend.schemas.kiosk import RedemptionBatchIn

    try:
        expected = RedemptionBatchIn().load(body)
    except ValidationError:
        expected = None
    fast = plain_batch_body(body)
    # the fast path may decline anything (the schema then answers), but what it accepts it loads the same
    assert fast is None or fast == expected
    if body is not None and isinstance(body.get("redemptions"), list) and body["redemptions"] \
            and all(type(i) is dict and set(i) == set(GOOD) and type(i["scanned_at"]) is int
                    for i in body["redemptions"]) and expected is not None and len(body) == 1:
        assert fast == expected  # and it does accept the plain batch it exists for


def test_batch_answers_are_exactly_what_the_response_schema_dumps(h, client, app):
    from flask import jsonify

    from backend.schemas.kiosk import RedemptionBatchOut

    vid = h.venue("Gate", "metro", ["MOLI-METRO20"])
    hd = h.bearer(h.enrol(vid)["device_token"])
    now = int(time.time())
    good = [pp1_redemption("MOLI-METRO20", now) for _ in range(3)]
    wrong = dict(pp1_redemption("OSM-LIB-LONGLOAN", now))  # another venue type's perk: rejected
    schema = RedemptionBatchOut()
    shapes = set()
    for batch in ([good[0], good[1], wrong], [good[0], good[2], good[2], wrong]):
        r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": batch}, headers=hd)
        assert r.status_code == 200, r.json
        assert r.headers["Content-Type"] == "application/json" and r.headers["Cache-Control"] == "no-store"
        assert schema.validate(r.json) == {}
        with app.test_request_context():
            assert r.data == jsonify(schema.dump(r.json)).data
        shapes |= {x["status"] for x in r.json["results"]}
    assert shapes == {"accepted", "duplicate", "rejected"}
    # a body the fast path declines still gets the schema's typed answer
    r = client.post("/api/v1/kiosk/redemptions", json={"redemptions": [dict(good[0], scanned_at="now")]}, headers=hd)
    assert r.status_code == 400 and r.json["error"]["code"] == "validation_error"
    assert "scanned_at" in str(r.json["error"]["fields"])
