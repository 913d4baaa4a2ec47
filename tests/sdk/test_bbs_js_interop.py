"""partner_sdk.bbs against a JavaScript BBS implementation (@digitalbazaar/bbs-signatures on @noble/curves,
bundled in tests/sdk/bbs_js/): the same deterministic signatures over PP3-like messages, and each side
verifies the other's proofs and refuses them tampered. Needs Node (skipped with the reason otherwise)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from partner_sdk import bbs

BUNDLE = Path(__file__).parent / "bbs_js" / "bbs-interop.bundle.mjs"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

SK = 0x60E55110F76883A13D030B2F6BD11883422D5ABDE717569FC0731F51237169FC
MESSAGES = [b"metro", b"MOLI-METRO20,OSM-TRANSIT,SES-BIKE-NODEPOSIT", b"20775", b"moli", b"\x00" * 32]
HEADER = b"perkpass-pp3-certificate\x00perkpass.test\x00test-key-1-bbs"
DISCLOSED = [0, 1, 2]


def js(request: dict) -> dict:
    r = subprocess.run([NODE, str(BUNDLE)], input=json.dumps(request), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_javascript_signature_and_proof_agree_with_python():
    ph = (2026).to_bytes(8, "big")
    out = js({"op": "sign_and_prove", "secret_key": f"{SK:064x}", "header": HEADER.hex(), "ph": ph.hex(),
              "messages": [m.hex() for m in MESSAGES], "disclosed": DISCLOSED})
    pk = bbs.sk_to_pk(SK)
    assert out["public_key"] == pk.hex()
    assert out["signature"] == bbs.sign(SK, pk, HEADER, MESSAGES).hex(), "Sign is deterministic: same bytes"
    proof = bytes.fromhex(out["proof"])
    shown = [MESSAGES[i] for i in DISCLOSED]
    assert bbs.proof_verify(pk, proof, HEADER, ph, shown, DISCLOSED)
    assert not bbs.proof_verify(pk, proof, HEADER, ph + b"x", shown, DISCLOSED)
    assert not bbs.proof_verify(pk, proof, HEADER, ph, [b"library", *shown[1:]], DISCLOSED)


def test_python_proof_verified_by_javascript():
    pk = bbs.sk_to_pk(SK)
    ph = (2027).to_bytes(8, "big")
    signature = bbs.sign(SK, pk, HEADER, MESSAGES)
    proof = bbs.proof_gen(pk, signature, HEADER, ph, MESSAGES, DISCLOSED)
    shown = [m.hex() for m in (MESSAGES[i] for i in DISCLOSED)]
    request = {"op": "verify_proof", "public_key": pk.hex(), "proof": proof.hex(), "header": HEADER.hex(),
               "ph": ph.hex(), "messages": shown, "disclosed": DISCLOSED}
    assert js(request)["valid"] is True
    bad = bytearray(proof)
    bad[150] ^= 1
    assert js(request | {"proof": bytes(bad).hex()})["valid"] is False
    assert js(request | {"ph": (ph + b"x").hex()})["valid"] is False
