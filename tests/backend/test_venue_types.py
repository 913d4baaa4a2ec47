"""The venue type registry (issue 20): one file says everything a venue type decides, the backend refuses a
mistake in it at start, perks and venues must name a listed type, the trust list carries each type's policy as
verifiers read it, and no product code names a venue type."""
from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

import pytest

from backend import create_app
from backend.config import ConfigError
from backend.services.perks import Catalogue, CatalogueError, parse_scheme
from backend.services.venue_types import parse_registry
from partner_sdk import TrustStore, Verifier, load_public_key

REPO = Path(__file__).resolve().parents[2]
REGISTRY = json.loads((REPO / "assets" / "venue-types.json").read_text("utf-8"))
CODES = [v["code"] for v in REGISTRY["venue_types"]]


@pytest.mark.parametrize("mutate,msg", [
    (lambda r: r["venue_types"][0].update(colour="red"), "unknown fields"),
    (lambda r: r["venue_types"].append(copy.deepcopy(r["venue_types"][0])), "listed twice"),
    (lambda r: r["venue_types"][0].update(code="Library"), "lower-case"),
    (lambda r: r["venue_types"][0]["label"].pop("zh-CN"), "label needs"),
    (lambda r: r["venue_types"][0].update(icon=['M0 0"/><script>alert(1)</script>']), "SVG path"),
    (lambda r: r["venue_types"][0].update(icon=[]), "SVG path"),
    (lambda r: r["venue_types"][0].update(grace_after_next_update="3 days"), "whole number of seconds"),
    (lambda r: r["venue_types"][0].update(reuse_interval=-1), "whole number of seconds"),
    (lambda r: r["venue_types"][0].update(reuse_interval=40 * 86_400), "whole number of seconds"),
    (lambda r: r.update(venue_types=[]), "non-empty"),
    (lambda r: r.update(extra=1), "must be an object"),
])
def test_registry_mistakes_are_named(mutate, msg):
    raw = copy.deepcopy(REGISTRY)
    mutate(raw)
    with pytest.raises(CatalogueError, match=msg):
        parse_registry(raw, "venue-types.json")


def test_a_broken_registry_refuses_to_start(tmp_path):
    bad = tmp_path / "venue-types.json"
    bad.write_text(json.dumps({"venue_types": [{"code": "museum"}]}))
    with pytest.raises(ConfigError, match="venue type"):
        create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://", "PERKPASS_VENUE_TYPES_FILE": str(bad)})


def test_a_perk_for_an_unlisted_venue_type_refuses_to_start(tmp_path):
    schemes = tmp_path / "schemes"
    schemes.mkdir()
    moli = json.loads((REPO / "assets" / "schemes" / "moli.json").read_text("utf-8"))
    moli["perks"][0]["audience"] = "zoo"
    (schemes / "moli.json").write_text(json.dumps(moli))
    with pytest.raises(ConfigError, match="'zoo' is not in the venue type registry"):
        create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://", "PERKPASS_SCHEMES_DIR": str(schemes)})


def _bailu(**perk):
    raw = json.loads((REPO / "assets" / "schemes" / "bailu.json").read_text("utf-8"))
    raw["perks"].append({"code": "BAILU-TEST", "audience": "library", "title": {"en": "t", "zh-CN": "t"}, **perk})
    return raw


def test_band_range_and_usage_rules():
    s = parse_scheme(_bailu(rule={"min_band": "FAIR", "max_band": "GOOD"}, usage="month"), "bailu.json")
    perk = next(p for p in s.perks if p.code == "BAILU-TEST")
    assert (perk.min_score, perk.max_score, perk.usage) == (500, 699, "month")
    assert [p.code for p in s.eligible(499) if p.code == "BAILU-TEST"] == []
    assert [p.code for p in s.eligible(699) if p.code == "BAILU-TEST"] == ["BAILU-TEST"]
    assert [p.code for p in s.eligible(700) if p.code == "BAILU-TEST"] == []  # above the range: not a perk
    top = parse_scheme(_bailu(rule={"min_score": 650, "max_band": "OUTSTANDING"}), "bailu.json")
    assert next(p for p in top.perks if p.code == "BAILU-TEST").max_score == 1000
    cat = Catalogue([s], CODES)
    assert cat.usage_rules() == {"library": {"BAILU-TEST": 30 * 86_400}}


@pytest.mark.parametrize("perk,msg", [
    ({"rule": {"min_band": "GOOD", "min_score": 1}}, "rule must be"),
    ({"rule": {"max_band": "GOOD"}}, "rule must be"),
    ({"rule": {"min_band": "EXCELLENT", "max_band": "FAIR"}}, "max_band must not be below"),
    ({"rule": {"min_band": "GOOD", "max_band": "NOPE"}}, "unknown band"),
    ({"rule": {"min_band": "GOOD"}, "usage": "weekly"}, "usage must be one of"),
    ({"rule": {"min_band": "GOOD"}, "quota": 3}, "unknown fields"),
])
def test_perk_rule_mistakes_are_named(perk, msg):
    with pytest.raises(CatalogueError, match=msg):
        parse_scheme(_bailu(**perk), "bailu.json")


def test_the_trust_list_carries_the_registry_policy_as_verifiers_read_it(app, client):
    from backend.services.venue_types import get_venue_types
    root = client.get("/api/v1/trust-root").json
    store = TrustStore(load_public_key(root["root_public_key"]))
    store.load_bytes(client.get("/api/v1/trust-list").data)
    registry = get_venue_types(app)
    assert list(store.current.venue_types) == registry.codes
    for t in registry.types:
        policy = Verifier(store, t.code).policy
        assert policy.source.value == "trust_list" and dict(policy.label) == t.label
        assert (policy.grace_after_next_update, policy.reuse_interval) == (t.grace_after_next_update, t.reuse_interval)
    cat = client.get("/api/v1/catalogue").json
    assert [v["code"] for v in cat["venue_types"]] == registry.codes
    assert all(v["icon"] == list(registry.by_code[v["code"]].icon) for v in cat["venue_types"])


def test_a_venue_only_for_a_listed_venue_type(h):
    p = h.client.post("/api/v1/operator/partners", json={"name": "Zoo Ltd"}, headers=h.op()).json
    r = h.client.post("/api/v1/operator/venues", json={"partner_id": p["id"], "name": "Zoo gate", "audience": "zoo"},
                      headers=h.op())
    assert r.status_code == 400 and "zoo" in json.dumps(r.json)


# ------------------------------------------------------------------------------------ no venue type in code

PRODUCT_CODE = ["backend", "kiosk", "partner_sdk"]
DEMO_DATA = {"backend/demo/city.py", "backend/demo/activity.py"}   # demo data may name the demo's venue types


def _python_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def _script_lines(path: Path) -> list[tuple[int, str]]:
    # comments are prose; a string in code is a name
    return [(i, re.sub(r"(^|\s)(//|#).*$", "", line)) for i, line in enumerate(path.read_text("utf-8").splitlines(), 1)]


def test_no_product_code_names_a_venue_type():
    """Registry codes appear in assets/, tests and demo data only. The PP1/PP2 preset dictionaries
    (partner_sdk/format.py, pp2.py) are bytes, compression hints rather than policy, and are not strings."""
    named = "|".join(re.escape(c) for c in CODES)
    quoted = re.compile(rf"""["'`]({named})["'`]""")
    found = []
    for top in PRODUCT_CODE:
        for path in sorted((REPO / top).rglob("*")):
            rel = path.relative_to(REPO).as_posix()
            if rel in DEMO_DATA or "/vendor/" in rel or "bundled_assets" in rel or not path.is_file():
                continue
            if path.suffix == ".py":
                found += [f"{rel}:{n}: {s!r}" for n, s in _python_strings(path) if s in CODES or quoted.search(s)]
            elif path.suffix in (".js", ".mjs", ".kv", ".html"):
                found += [f"{rel}:{n}: {line.strip()[:80]}" for n, line in _script_lines(path) if quoted.search(line)]
    assert not found, "venue types named in product code (put them in assets/venue-types.json):\n" + "\n".join(found)
