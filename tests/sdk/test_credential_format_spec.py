"""docs/credential-format.md is enough to build a verifier from (issue 18.4): the constants it publishes are the
ones the SDK uses, and the JavaScript verifier written from it (clients/js) passes every test vector.

The Node tests run here, so `make test` and CI run them; a machine without Node 20 fails this test instead of
skipping it (a second implementation that silently stops being checked would drift from the spec)."""

import hashlib
import json
import re
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from partner_sdk import format as fmt
from partner_sdk import keyprofile, pp2, trust, venue_policy
from partner_sdk.testing import TestIssuer

ROOT = Path(__file__).resolve().parents[2]
SPEC = (ROOT / "docs" / "credential-format.md").read_text()
ASSETS = ROOT / "assets" / "credential-format"


@pytest.mark.parametrize(("name", "dictionary"), [("pp1-preset-dictionary.bin", fmt.PRESET_DICTIONARY),
                                                  ("pp2-preset-dictionary.bin", pp2.PRESET_DICTIONARY)])
def test_published_dictionary_is_the_sdks_and_the_spec_prints_its_size_and_digest(name, dictionary):
    published = (ASSETS / name).read_bytes()
    assert published == dictionary
    row = next(line for line in SPEC.splitlines() if f"assets/credential-format/{name}" in line)
    assert f"{len(dictionary)} bytes" in row
    assert re.findall(r"\b[0-9a-f]{64}\b", row) == [hashlib.sha256(dictionary).hexdigest()]


def test_spec_states_the_sdks_patterns_and_limits():
    patterns = {m.group(1) for m in re.finditer(r"^\| [^|]+ \| `([^`]+)` \|", SPEC, re.M)}
    for regex in (fmt.AUDIENCE_RE, fmt.SCHEME_RE, fmt.PERK_CODE_RE, fmt.BAND_RE, fmt.ID_RE):
        assert regex.pattern.removeprefix("^").removesuffix("\\Z") in patterns
    for figure in (f"{fmt.MAX_QR_TEXT:,}", f"{fmt.MAX_INFLATED:,}", f"{pp2.MAX_CLAIMS_INFLATED}",
                   f"{pp2.MAX_CERT_LIFETIME:,}", f"{trust.MAX_TRUST_LIST_BYTES:,}", str(keyprofile.ED25519_L - 2**252),
                   f"{keyprofile.P256_N:x}"):
        assert figure in SPEC, figure
    for encoding in keyprofile.SMALL_ORDER_ED25519:
        assert encoding.hex() in SPEC


def test_the_javascript_verifier_passes_its_tests_and_every_vector():
    node = shutil.which("node")
    assert node, "Node.js >= 20 is required to test clients/js (the JavaScript verifier): install nodejs"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"clients/js needs Node >= 20, found {version}"
    r = subprocess.run([node, "--test", "test/"], cwd=ROOT / "clients" / "js", capture_output=True, text=True,
                       timeout=300)
    summary = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", r.stdout, re.M))
    assert r.returncode == 0 and summary.get("fail") == "0", r.stdout[-6000:] + r.stderr[-2000:]
    assert int(summary["pass"]) > 90  # every vector is one test: a run that found none must not pass


def test_the_documented_javascript_example_runs_as_written(tmp_path):
    """docs/partner-sdk.md's JavaScript block, run by Node against a fresh trust list served as a data: URL, with
    the names a reader supplies (the pinned root JWK, the list's address, the scanned text, the gate)."""
    node = shutil.which("node")
    assert node, "Node.js >= 20 is required to test clients/js (the JavaScript verifier): install nodejs"
    doc = (ROOT / "docs" / "partner-sdk.md").read_text()
    (block,) = re.findall(r"^```js\n(.*?)^```", doc, re.S | re.M)
    now = int(time.time())
    issuer = TestIssuer()
    code = issuer.credential("metro", ["MOLI-METRO20"], now=now).qr_text
    setup = (f"const rootJwk = {json.dumps(issuer.root_public_jwk)};\n"
             f"const trustListUrl = {json.dumps('data:text/plain,' + urllib.parse.quote(issuer.trust_list(now - 60)))};\n"
             f"const scannedText = {json.dumps(code)};\n"
             "const openGate = (perks) => console.log('OPEN ' + perks.join(','));\n"
             "const show = (status) => console.log('REFUSED ' + status);\n")
    imports = re.findall(r"^import .*$", block, re.M)
    body = re.sub(r"^import .*$", "", block, flags=re.M)
    script = tmp_path / "example.mjs"
    script.write_text("\n".join(imports).replace("./clients/js/", (ROOT / "clients" / "js").as_uri() + "/")
                      + "\n" + setup + body)
    r = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "OPEN MOLI-METRO20"


def test_constants_json_is_the_sdks():
    """assets/credential-format/constants.json, the spec's constants for other languages, says what the SDK does
    (clients/js checks its own constants against the same file)."""
    c = json.loads((ASSETS / "constants.json").read_text())
    whole = {name: regex.pattern.removeprefix("^").removesuffix("\\Z") for name, regex in
             (("audience", fmt.AUDIENCE_RE), ("scheme", fmt.SCHEME_RE), ("perk_code", fmt.PERK_CODE_RE),
              ("band", fmt.BAND_RE), ("id", fmt.ID_RE))}
    assert {k: v for k, v in c["patterns"].items() if k in whole} == whole
    assert c["patterns"]["withdrawn_certificate_id"] == f"[A-Za-z0-9_-]{{{trust.REVOKED_ID_CHARS}}}"
    assert (c["transport"]["max_qr_text_characters"], c["transport"]["signature_bytes"]) == (fmt.MAX_QR_TEXT,
                                                                                            fmt.SIGNATURE_LEN)
    assert (c["pp1"]["alg"], c["pp1"]["typ"], set(c["pp1"]["header_members"])) == (
        fmt.ALGORITHM, fmt.CREDENTIAL_TYP, fmt.ALLOWED_HEADER_KEYS)
    assert (c["pp1"]["max_inflated_bytes"], c["pp1"]["max_lifetime_seconds"], c["pp1"]["max_perks"],
            c["pp1"]["payload_max_depth"]) == (fmt.MAX_INFLATED, fmt.MAX_LIFETIME, fmt.MAX_PERKS, fmt.MAX_JSON_DEPTH)
    for name, dictionary in (("pp1", fmt.PRESET_DICTIONARY), ("pp2", pp2.PRESET_DICTIONARY)):
        d = c[name]["preset_dictionary"]
        assert (ASSETS / d["file"]).read_bytes() == dictionary
        assert (d["bytes"], d["sha256"]) == (len(dictionary), hashlib.sha256(dictionary).hexdigest())
    p = c["pp2"]
    assert (p["certificate_format"], p["kid_reference_bytes"], p["certificate_id_bytes"]) == (
        pp2.CERT_FORMAT, pp2.KID_REF_LEN, pp2.CERT_ID_BYTES)
    assert {int(k): v["bytes"] for k, v in p["key_types"].items()} == pp2.DEVICE_KEY_LEN
    assert (p["max_certificate_lifetime_seconds"], p["max_claims_block_bytes"], p["max_claims_inflated_bytes"],
            p["max_presentation_window_seconds"], p["slot_seconds"], p["max_reuse_interval_seconds"]) == (
        pp2.MAX_CERT_LIFETIME, pp2.MAX_CLAIMS_BLOCK, pp2.MAX_CLAIMS_INFLATED, pp2.MAX_PRESENTATION_WINDOW,
        pp2.SLOT_SECONDS, pp2.MAX_REUSE_INTERVAL)
    assert (p["certificate_context"].encode(), p["presentation_context"].encode()) == (pp2.CERT_CONTEXT,
                                                                                     pp2.PRESENTATION_CONTEXT)
    assert pp2.min_reuse_interval(60, 5) == 130 and p["min_reuse_interval"] == "2 * (presentation window + leeway)"
    t = c["trust_list"]
    assert (t["typ"], t["root_statement_typ"], t["max_bytes"], t["max_root_chain"], t["revoked_id_characters"]) == (
        fmt.TRUST_LIST_TYP, trust.ROOT_STATEMENT_TYP, trust.MAX_TRUST_LIST_BYTES, trust.MAX_ROOT_CHAIN,
        trust.REVOKED_ID_CHARS)
    assert (c["verifier"]["max_leeway_seconds"], c["verifier"]["max_epoch"]) == (fmt.MAX_LEEWAY, fmt.MAX_EPOCH)
    k = c["curves"]
    assert [int(k[n]) for n in ("ed25519_p", "ed25519_l", "p256_p", "p256_n")] == [
        keyprofile.ED25519_P, keyprofile.ED25519_L, keyprofile.P256_P, keyprofile.P256_N]
    assert {bytes.fromhex(h) for h in k["ed25519_small_order_encodings"]} == keyprofile.SMALL_ORDER_ED25519
    v = c["venue_types"]
    assert (v["max_venue_types"], v["max_perks_per_venue_type"], v["max_label_characters"], tuple(v["label_languages"]),
            v["max_grace_seconds"], v["max_reuse_interval_seconds"], v["fallback_grace_seconds"],
            v["fallback_reuse_interval_seconds"]) == (
        venue_policy.MAX_VENUE_TYPES, venue_policy.MAX_PERKS_PER_VENUE_TYPE, venue_policy.MAX_LABEL_CHARS,
        venue_policy.LANGUAGES, venue_policy.MAX_GRACE, venue_policy.MAX_REUSE_INTERVAL, venue_policy.FALLBACK_GRACE,
        venue_policy.FALLBACK_REUSE_INTERVAL)
    assert v["perk_rule_pattern"] == venue_policy._PERK.__self__.pattern
    v1 = venue_policy.policy_for(None, "metro")
    assert (v["without_member"]["grace_seconds"], v["without_member"]["reuse_interval_seconds"]) == (
        v1.grace_after_next_update, v1.reuse_interval)
