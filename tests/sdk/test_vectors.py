"""The shipped test vectors: the SDK must answer every case as recorded, and the file must be current."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from partner_sdk import TrustListError, TrustListRollbackError, TrustListSignatureError, TrustStore, Verifier

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "assets" / "test-vectors" / "perkpass-v1.json").read_text())


def fetched_at(trust_list: str) -> int:
    """Each trust list is loaded when it was published (its iat), as a verifier online then would have."""
    payload = trust_list.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["iat"]


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_vector(case):
    store = TrustStore(VECTORS["root_public_key"])
    store.load_bytes(case["trust_list"], now=fetched_at(case["trust_list"]))
    verifier = Verifier(store, case["audience"], leeway=VECTORS["leeway"])
    for earlier in case.get("prior", []):
        verifier.verify(earlier["qr_text"], perk=earlier["perk"], now=earlier["now"])
    got = [verifier.verify(case["qr_text"], perk=case["perk"], now=case["now"]).status.value for _ in case["expected"]]
    assert got == case["expected"]


@pytest.mark.parametrize("case", VECTORS["trust_list_cases"], ids=[c["name"] for c in VECTORS["trust_list_cases"]])
def test_trust_list_vector(case):
    store = TrustStore(VECTORS["root_public_key"])
    got = []
    for tl in case["load"]:
        try:
            store.load_bytes(tl, now=fetched_at(tl))
            got.append("OK")
        except TrustListRollbackError:
            got.append("ROLLBACK")
        except TrustListSignatureError:
            got.append("BAD_SIGNATURE")
        except TrustListError:
            got.append("MALFORMED")
    assert got == case["expected"]


def test_vectors_cover_every_status():
    from partner_sdk import Status
    seen = {s for c in VECTORS["cases"] for s in c["expected"]}
    assert seen == {s.value for s in Status}


def test_pp2_vectors_cover_every_pp2_status_for_both_key_types():
    from partner_sdk import Status
    pp1_only = {Status.WRONG_ISSUER, Status.UNSUPPORTED_VERSION}  # PP2 has no iss claim and no version in-band
    for kt in ("ed25519", "p256"):
        seen = {s for c in VECTORS["cases"] if c["name"].startswith("pp2_") and c["name"].endswith(kt)
                for s in c["expected"]}
        assert seen == {s.value for s in Status} - {s.value for s in pp1_only}, kt


def test_vector_file_is_reproducible():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "make_test_vectors.py"), "--check"], cwd=ROOT)
    assert r.returncode == 0, "assets/test-vectors is stale: run python tools/make_test_vectors.py"
