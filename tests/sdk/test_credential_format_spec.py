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
from partner_sdk import keyprofile, pp2, trust
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
