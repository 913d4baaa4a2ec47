"""Regressions found by fuzzing the API (tests/backend/test_schemathesis.py and hand-made hostile probes).
Each was a 500 before its fix; the promise is a JSON error envelope, never a server error."""
from __future__ import annotations

import pytest


def _assert_json_error(r, status: int, code: str) -> None:
    assert r.status_code == status, (r.status_code, r.data[:300])
    assert r.is_json, r.headers.get("Content-Type")
    err = r.json["error"]
    assert err["code"] == code and set(err) >= {"code", "message", "fields"}, err


@pytest.mark.parametrize("segment", ["%00", "a%00b", "%01", "%1F", "%7F"])
def test_control_characters_in_string_path_parameters_are_404_not_500(h, client, segment):
    """A NUL in a string path segment reached the query and PostgreSQL refused it (psycopg DataError -> 500):
    operator device revoke, operator provider revoke and a provider's event status."""
    op = h.op()
    r = client.post("/api/v1/operator/ledger/providers", headers=op,
                    json={"code": "fuzz-prov", "name": "Fuzz provider", "schemes": ["moli"],
                          "reference_format": "FZ-####"})
    assert r.status_code == 201, r.json
    provider = h.bearer(r.json["token"])
    from backend.services import ledger
    change = next(c for c in ledger.catalogue_changes() if c.code == "fuzz-prov")
    ledger.decide_change(change.id, True, "operator:second", 1_700_000_000)

    _assert_json_error(client.post(f"/api/v1/operator/devices/{segment}/revoke", headers=op), 404, "not_found")
    _assert_json_error(client.post(f"/api/v1/operator/ledger/providers/{segment}/revoke", headers=op),
                       404, "not_found")
    _assert_json_error(client.get(f"/api/v1/provider/events/{segment}", headers=provider), 404, "not_found")
    citizen = h.bearer(h.login("+8613900000104"))
    _assert_json_error(client.get(f"/api/v1/me/score/{segment}", headers=citizen), 404, "not_found")


def test_control_characters_in_path_still_need_auth_first(client):
    """The path check comes after authentication: no token is still 401, not a 404 that probes the route."""
    _assert_json_error(client.post("/api/v1/operator/devices/%00/revoke"), 401, "unauthorized")
    _assert_json_error(client.get("/api/v1/provider/events/%00"), 401, "unauthorized")


def test_ordinary_unknown_ids_are_still_404(h, client):
    op = h.op()
    _assert_json_error(client.post("/api/v1/operator/devices/nope/revoke", headers=op), 404, "not_found")
    _assert_json_error(client.post("/api/v1/operator/ledger/providers/nope/revoke", headers=op), 404, "not_found")
