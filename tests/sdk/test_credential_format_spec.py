"""docs/credential-format.md is enough to build a verifier from (issue 18.4): the constants it publishes are the
ones the SDK uses, and the JavaScript verifier written from it (clients/js) passes every test vector.

The Node tests run here, so `make test` and CI run them; a machine without Node 20 fails this test instead of
skipping it (a second implementation that silently stops being checked would drift from the spec)."""

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from partner_sdk import format as fmt
from partner_sdk import keyprofile, pp2, trust

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
