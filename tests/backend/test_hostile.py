"""Hostile requests get clean JSON errors (400/401/404/405/413/415), never a 500 or an HTML page."""
import json

import pytest

PHONE = "+8613900000801"

POST_ENDPOINTS = ["/api/v1/auth/request-code", "/api/v1/auth/login", "/api/v1/credentials", "/api/v1/kiosk/enroll",
                  "/api/v1/kiosk/redemptions", "/api/v1/operator/partners", "/api/v1/operator/venues",
                  "/api/v1/operator/scores", "/api/v1/me/schemes"]

BAD_BODIES = [
    ("malformed", b'{"phone": "+86', 400),
    ("trailing", b'{"audience": "metro"} xx', 400),
    ("nan", b'{"audience": NaN}', 400),
    ("array", b'[1, 2, 3]', 400),
    ("string", b'"metro"', 400),
    ("null", b'null', 400),
    ("deep", b'[' * 100000 + b']' * 100000, 400),
    ("not-utf8", b'{"audience": "\xff\xfe"}', 400),
    ("empty", b'', 400),
    ("huge-int", b'{"score": ' + b'9' * 5000 + b'}', 400),
]


def _assert_json_error(r, status):
    assert r.status_code == status, (r.status_code, r.data[:200])
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert isinstance(body["error"]["fields"], dict)


@pytest.fixture
def auth_headers(h):
    """Valid credentials for every lane so that validation, not auth, is what answers."""
    token = h.citizen(PHONE, {"moli": 713})
    dev = h.enrol(h.venue("Gate", "metro"))
    return {"citizen": h.bearer(token), "device": h.bearer(dev["device_token"]), "operator": h.op()}


def _headers_for(path, auth_headers):
    if path.startswith("/api/v1/operator"):
        return auth_headers["operator"]
    if path == "/api/v1/kiosk/redemptions":
        return auth_headers["device"]
    if path.startswith("/api/v1/credentials") or path.startswith("/api/v1/me"):
        return auth_headers["citizen"]
    return {}


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_bad_bodies(client, auth_headers, path):
    for _name, raw, status in BAD_BODIES:
        headers = dict(_headers_for(path, auth_headers), **{"Content-Type": "application/json"})
        r = client.post(path, data=raw, headers=headers)
        _assert_json_error(r, status)


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_oversize_body_413(client, auth_headers, path):
    raw = json.dumps({"x": "a" * (600 * 1024)})
    headers = dict(_headers_for(path, auth_headers), **{"Content-Type": "application/json"})
    _assert_json_error(client.post(path, data=raw, headers=headers), 413)


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_wrong_content_type_and_unknown_fields(client, auth_headers, path):
    headers = _headers_for(path, auth_headers)
    _assert_json_error(client.post(path, data="audience=metro", headers=dict(
        headers, **{"Content-Type": "application/x-www-form-urlencoded"})), 415)
    r = client.post(path, json={"definitely_not_a_field": 1}, headers=headers)
    _assert_json_error(r, 400)
    assert "definitely_not_a_field" in r.json["error"]["fields"]


def test_wrong_types(client, auth_headers):
    c = auth_headers["citizen"]
    cases = [
        ("/api/v1/credentials", {"audience": 7}, c, "audience"),
        ("/api/v1/credentials", {"audience": ["metro"]}, c, "audience"),
        ("/api/v1/credentials", {"audience": "metro", "render": "png"}, c, "render"),
        ("/api/v1/credentials", {"audience": "metro", "render": ["gif"]}, c, "render"),
        ("/api/v1/credentials", {"audience": None}, c, "audience"),
        ("/api/v1/auth/request-code", {"phone": 8613900000801}, {}, "phone"),
        ("/api/v1/auth/login", {"phone": PHONE, "code": 123456}, {}, "code"),
        ("/api/v1/auth/login", {"phone": PHONE, "code": "12345a"}, {}, "code"),
        ("/api/v1/auth/login", {"phone": PHONE, "code": "123456", "consent": {"version": "x", "accepted": "yes"}}, {},
         "consent"),
        ("/api/v1/operator/scores", {"scores": [{"phone": PHONE, "scheme": "moli", "score": "713",
            "reason": "annual-recalculation", "source_system": "perkpass-operator"}]},
         auth_headers["operator"], "scores"),
        ("/api/v1/operator/scores", {"scores": [{"phone": PHONE, "scheme": "moli", "score": True,
            "reason": "annual-recalculation", "source_system": "perkpass-operator"}]},
         auth_headers["operator"], "scores"),
        ("/api/v1/operator/venues", {"partner_id": "1", "name": "x", "audience": "metro"}, auth_headers["operator"],
         "partner_id"),
        ("/api/v1/me", {"confirm": "true"}, c, "confirm"),
    ]
    for path, body, headers, field in cases:
        method = client.delete if path == "/api/v1/me" else client.post
        r = method(path, json=body, headers=headers)
        _assert_json_error(r, 400)
        assert field in r.json["error"]["fields"], (path, body, r.json)


def test_sql_ish_and_control_strings(client, auth_headers, h):
    c = auth_headers["citizen"]
    for evil in ["metro'; DROP TABLE citizens; --", "metro\" OR 1=1 --", "../../etc/passwd", "<script>x</script>"]:
        _assert_json_error(client.post("/api/v1/credentials", json={"audience": evil}, headers=c), 400)
        r = client.post("/api/v1/kiosk/enroll", json={"enrolment_code": evil, "device_name": evil})
        _assert_json_error(r, 404)
        r = client.post("/api/v1/auth/request-code", json={"phone": evil})
        _assert_json_error(r, 400)
    for nul in ["metro\x00", "Gate\x00 1", "\x07bell"]:
        r = client.post("/api/v1/kiosk/enroll", json={"enrolment_code": "ABCD-EFGH-JKLM", "device_name": nul})
        _assert_json_error(r, 400)
    r = client.post("/api/v1/operator/partners", json={"name": "Robert'); DROP TABLE partners;--"},
                    headers=auth_headers["operator"])
    assert r.status_code == 201  # stored verbatim as data, tables intact
    assert client.get("/api/v1/operator/partners", headers=auth_headers["operator"]).status_code == 200
    assert client.get("/api/v1/me", headers=c).status_code == 200


def test_bad_auth_headers(client):
    for value in ["Bearer", "Bearer ", "bearer " + "x" * 5000, "Token abc", "Bearer \x00\x01", "Bearer pp_at_' OR 1=1"]:
        r = client.get("/api/v1/me", headers={"Authorization": value})
        _assert_json_error(r, 401)


def test_unknown_routes_and_methods_are_json(client):
    _assert_json_error(client.get("/api/v1/nope"), 404)
    _assert_json_error(client.get("/"), 404)
    r = client.get("/api/v1/credentials")
    _assert_json_error(r, 405)
    assert "POST" in r.headers["Allow"]
    _assert_json_error(client.put("/api/v1/trust-list"), 405)
    _assert_json_error(client.get("/api/v1/operator/venues/abc"), 404)


def test_unicode_is_fine(client, auth_headers):
    r = client.post("/api/v1/operator/partners", json={"name": "福州地铁 🚇"}, headers=auth_headers["operator"])
    assert r.status_code == 201 and r.json["name"] == "福州地铁 🚇"


def test_out_of_range_integers(client, auth_headers):
    op = auth_headers["operator"]
    for big in (2**31, 10**30, -1, 0):
        r = client.post("/api/v1/operator/venues", json={"partner_id": big, "name": "x", "audience": "metro"},
                        headers=op)
        _assert_json_error(r, 400)
    for path in ("/api/v1/operator/venues/99999999999999999999", "/api/v1/operator/venues/0"):
        _assert_json_error(client.get(path, headers=op), 404)
    r = client.post("/api/v1/operator/venues/99999999999999999999/enrolment-codes", json={}, headers=op)
    _assert_json_error(r, 404)
    r = client.post("/api/v1/operator/scores", json={"scores": [{"phone": PHONE, "scheme": "moli", "score": 10**40,
                                                                  "reason": "annual-recalculation",
                                                                  "source_system": "perkpass-operator"}]}, headers=op)
    _assert_json_error(r, 422)
    assert r.json["error"]["fields"] == {"row 1": ["score: must be within 0..1000 for moli"]}


@pytest.mark.parametrize("audience", ["metro\n", "metro\r\n"])
def test_a_trailing_newline_is_not_a_valid_identifier(h, client, audience):
    # Python's "$" also matches before a final newline; every identifier pattern ends in \Z instead.
    token = h.citizen("+8613900000777", {"moli": 713})
    r = client.post("/api/v1/credentials", json={"audience": audience}, headers=h.bearer(token))
    assert r.status_code == 400 and "audience" in r.json["error"]["fields"]
