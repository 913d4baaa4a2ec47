"""Platform: configuration, schemes as configuration, CLI idempotency, OpenAPI, health, operator API."""
import json
from pathlib import Path

import pytest

from backend.config import normalise_database_url
from backend.services.perks import Catalogue, CatalogueError, parse_scheme

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "schemes"


def test_health_and_ready(client):
    assert client.get("/api/v1/health").json == {"status": "ok"}
    assert client.get("/api/v1/health/ready").json["status"] == "ok"  # each check: tests/backend/test_readiness.py


def test_openapi_document(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.json
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for p in ["/api/v1/auth/request-code", "/api/v1/auth/login", "/api/v1/credentials", "/api/v1/trust-list",
              "/.well-known/jwks.json", "/api/v1/kiosk/enroll", "/api/v1/kiosk/redemptions",
              "/api/v1/me/redemptions", "/api/v1/operator/venues/{venue_id}/enrolment-codes", "/api/v1/health"]:
        assert p in paths, p
    issue = paths["/api/v1/credentials"]["post"]
    assert issue["security"] == [{"citizen": []}]
    assert "requestBody" in issue and {"200", "400", "401", "413"} <= set(issue["responses"])
    schemas = spec["components"]["schemas"]
    assert "Error" in schemas and "IssueIn" in schemas and "RedemptionBatchIn" in schemas
    assert schemas["IssueIn"]["additionalProperties"] is False
    # every JSON request body refers to a schema
    for path, ops in paths.items():
        for method, op in ops.items():
            if "requestBody" in op:
                assert "$ref" in op["requestBody"]["content"]["application/json"]["schema"], (path, method)


def test_five_schemes_from_assets():
    cat = Catalogue.load(ASSETS)
    assert set(cat.schemes) == {"moli", "bailu", "osmanthus", "rongcheng", "sesame"}
    moli = cat.schemes["moli"]
    assert (moli.min, moli.max, moli.base) == (0, 1000, 500)
    assert cat.perks["MOLI-METRO20"].min_score == 686 and cat.perks["MOLI-METRO20"].audience == "metro"
    assert cat.perks["MOLI-GOV-PRIORITY"].min_score == 683
    osm = cat.schemes["osmanthus"]
    assert (osm.min, osm.max, osm.base) == (100, 200, 100)
    rc = cat.schemes["rongcheng"]
    assert [b.code for b in rc.bands] == ["D", "C", "B", "A", "AA", "AAA"] and rc.band_for(1000).code == "A"
    assert cat.perks["RC-HEATING"].rule == {"min_band": "AAA"} and cat.perks["RC-HEATING"].discloses_band
    ses = cat.schemes["sesame"]
    assert (ses.min, ses.max) == (350, 950) and [b.min for b in ses.bands] == [350, 550, 600, 650, 700]
    for p in cat.perks.values():
        assert p.code == p.code.upper() and len(p.code) <= 32 and p.title["en"] and p.title["zh-CN"]


@pytest.mark.parametrize("mutate,msg", [
    (lambda s: s.update(code="Moli"), "lower-case"),
    (lambda s: s["perks"][0].update(code="metro20"), "UPPER-CASE"),
    (lambda s: s["perks"][0].update(rule={"min_band": "NOPE"}), "unknown band"),
    (lambda s: s["perks"][0].update(rule={"min_score": 5000}), "within the scheme range"),
    (lambda s: s["bands"].reverse(), "lowest to highest"),
    (lambda s: s["perks"][0]["title"].pop("zh-CN"), "zh-CN"),
])
def test_scheme_config_validation(mutate, msg):
    raw = json.loads((ASSETS / "moli.json").read_text())
    mutate(raw)
    with pytest.raises(CatalogueError, match=msg):
        parse_scheme(raw, "moli.json")


def test_database_url_normalisation():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_default_database_is_sqlite_in_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    from backend import create_app
    app = create_app("testing")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///") and uri.endswith("instance/perkpass.db")


def test_init_db_and_seed_demo_idempotent(runner, client):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    res = runner.invoke(args=["init-db"])
    assert res.exit_code == 0 and "already present" in res.output and "unchanged" in res.output
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "+8613900000104" in first.output and "Operator API token" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    from backend.extensions import db
    from backend.models import Citizen, Partner, Venue
    n_cit, n_ven = db.session.query(Citizen).count(), db.session.query(Venue).count()
    third = runner.invoke(args=["seed-demo", "--reset"])
    assert third.exit_code == 0
    assert db.session.query(Citizen).count() == n_cit and db.session.query(Venue).count() == n_ven
    assert db.session.query(Partner).count() == 12


def test_operator_partner_venue_code_flow(h, client, runner):
    r = client.post("/api/v1/operator/partners", json={"name": "Fuzhou Metro", "contact": "ops@metro"},
                    headers=h.op())
    assert r.status_code == 201
    pid = r.json["id"]
    assert client.post("/api/v1/operator/partners", json={"name": "Fuzhou Metro"}, headers=h.op()).status_code == 409
    r = client.post("/api/v1/operator/venues", json={"partner_id": pid, "name": "Gate", "audience": "metro",
                                                     "perks": ["BAILU-LIB-NODEPOSIT"]}, headers=h.op())
    assert r.status_code == 400 and "perks" in r.json["error"]["fields"]
    r = client.post("/api/v1/operator/venues", json={"partner_id": pid, "name": "Gate", "audience": "aquarium"},
                    headers=h.op())
    assert r.status_code == 400
    r = client.post("/api/v1/operator/venues", json={"partner_id": 999, "name": "Gate", "audience": "metro"},
                    headers=h.op())
    assert r.status_code == 404
    r = client.post("/api/v1/operator/venues", json={"partner_id": pid, "name": "Gate", "audience": "metro"},
                    headers=h.op())
    assert r.status_code == 201 and set(r.json["perks"]) == {"MOLI-METRO20", "OSM-TRANSIT"}
    vid = r.json["id"]
    assert client.get(f"/api/v1/operator/venues/{vid}", headers=h.op()).json["name"] == "Gate"
    # the same through the CLI
    res = runner.invoke(args=["partners", "create", "Suzhou Library"])
    assert res.exit_code == 0 and "partner" in res.output
    spid = int(res.output.split()[1].rstrip(":"))
    res = runner.invoke(args=["venues", "create", "--partner", str(spid), "--name", "Desk", "--audience", "library",
                              "--perk", "OSM-LIB-LONGLOAN"])
    assert res.exit_code == 0, res.output
    svid = int(res.output.split()[1].rstrip(":"))
    res = runner.invoke(args=["venues", "enrolment-code", "--venue", str(svid)])
    assert res.exit_code == 0
    code = res.output.split(": ")[1].split()[0]
    r = client.post("/api/v1/kiosk/enroll", json={"enrolment_code": code, "device_name": "desk"})
    assert r.status_code == 201 and r.json["venue"]["perks"][0]["code"] == "OSM-LIB-LONGLOAN"
    res = runner.invoke(args=["partners", "list"])
    assert "Suzhou Library" in res.output and "OSM-LIB-LONGLOAN" in res.output
    schemes = client.get("/api/v1/operator/schemes", headers=h.op()).json["schemes"]
    assert len(schemes) == 5


def test_trust_list_export_cli(runner, tmp_path):
    from partner_sdk import TrustStore
    out, root = tmp_path / "tl.jws", tmp_path / "root.json"
    res = runner.invoke(args=["trust-list", "export", "--out", str(out), "--root-key-out", str(root)])
    assert res.exit_code == 0, res.output
    s = TrustStore(json.loads(root.read_text()))
    s.load_bytes(out.read_bytes())
    assert s.issuer == "perkpass" and len(s.perk_catalogue) == 17


def test_logs_are_structured_json(client, json_logs):
    client.get("/api/v1/health")
    line = json.loads(json_logs()[-1])
    assert line["event"] == "request" and line["route"] == "/api/v1/health" and line["status"] == 200
    assert "duration_ms" in line and "request_id" in line
