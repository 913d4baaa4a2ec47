"""Property-based fuzzing of the whole HTTP API from its own OpenAPI document (schemathesis, in-process WSGI).

Every operation gets schema-valid (positive) and schema-violating (negative) requests, authenticated with the
role its path needs (citizen, operator, kiosk device, data provider, reviewer). The promise under test: never a
5xx, and every 4xx is the JSON error envelope ``{"error": {"code", "message", "fields"}}``.
Bounded: a fixed number of examples per operation and mode, derandomized so a failure reproduces."""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.backend.conftest import Helper

schemathesis = pytest.importorskip("schemathesis")
GenerationMode = schemathesis.GenerationMode

MAX_EXAMPLES = int(os.environ.get("PERKPASS_FUZZ_EXAMPLES", "12"))  # raise it for a deeper local run
DESTRUCTIVE = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/me")}  # they end the token they are sent


def _role(path: str) -> str:
    if path.startswith("/api/v1/operator/"):
        return "operator"
    if path.startswith("/api/v1/kiosk/") and not path.endswith("/enroll"):
        return "kiosk"
    if path.startswith("/api/v1/provider/"):
        return "provider"
    if path.startswith("/api/v1/reviewer/"):
        return "reviewer"
    return "citizen"


class Tokens:
    """Bearer tokens per role, minted through the real API and minted again when a fuzzed call revoked one."""

    def __init__(self, h: Helper):
        self.h, self.cache, self.n = h, {}, 0

    def mint(self, role: str) -> str:
        h, c = self.h, self.h.client
        self.n += 1
        if role == "operator":
            h._op_token = None
            return h.op()["Authorization"].split()[1]
        if role == "citizen":
            return h.login("+8613900000104")
        if role == "kiosk":
            return h.enrol(h.venue(f"Fuzz venue {self.n}", "metro"))["device_token"]
        if role == "provider":
            r = c.post("/api/v1/operator/ledger/providers", headers=h.op(),
                       json={"code": f"fuzz-prov-{self.n}", "name": f"Fuzz provider {self.n}", "schemes": ["moli"],
                             "reference_format": "FZ-####"})
            assert r.status_code == 201, r.json
            from backend.services import ledger  # a second operator approves its catalogue entry
            change = next(x for x in ledger.catalogue_changes() if x.code == f"fuzz-prov-{self.n}")
            ledger.decide_change(change.id, True, "operator:fuzz-second", 1_700_000_000)
        else:
            r = c.post("/api/v1/operator/ledger/reviewers", json={"name": f"Fuzz reviewer {self.n}"}, headers=h.op())
        assert r.status_code == 201, r.json
        return r.json["token"]

    def get(self, role: str, fresh: bool = False) -> str:
        if fresh or role not in self.cache:
            self.cache[role] = self.mint(role)
        return self.cache[role]


def _problem(method: str, path: str, status: int, headers, content: bytes) -> str | None:
    if status >= 500:
        return "server error"
    if status < 400:
        return None
    ctype = ",".join(headers.get("content-type", []))
    if "application/json" not in ctype:
        return f"error response with content-type {ctype!r}"
    try:
        err = json.loads(content)["error"]
        assert isinstance(err, dict) and {"code", "message", "fields"} <= set(err)
    except (ValueError, TypeError, KeyError, AssertionError):
        return "error body is not the JSON error envelope"
    return None


def _fuzz(op, mode, tokens: Tokens, problems: list[str]) -> None:
    """Send one operation's generated examples; what is wrong goes into ``problems``."""
    method, path = op.method.upper(), op.path
    role = _role(path)

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), print_blob=False)
    def check(case):
        token = tokens.get(role, fresh=(method, path) in DESTRUCTIVE)
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        resp = case.call()
        if resp.status_code == 401:
            tokens.get(role, fresh=True)  # an earlier example revoked it (device/reviewer revoke...)
        why = _problem(method, path, resp.status_code, resp.headers, resp.content)
        if why:
            problems.append(f"{why}: {method} {path} -> {resp.status_code} "
                            f"{resp.content[:200]!r}\n    {case.as_curl_command()}")

    try:
        check()
    except Unsatisfiable:
        pass  # nothing to violate (no parameters, no body): negative mode has no input to make


def test_api_fuzz_no_server_errors_and_json_errors(make_app):
    app = make_app(RATELIMIT_ENABLED=False)
    with app.app_context():
        tokens = Tokens(Helper(app, app.test_client()))
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        problems: list[str] = []
        operations = 0
        for result in schema.get_all_operations():
            op = result.ok()
            operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(op, mode, tokens, problems)
        assert operations > 30, "the OpenAPI document lost its operations"
        assert not problems, f"{len(problems)} bad responses:\n" + "\n".join(sorted(set(problems))[:40])
