"""PP3 in the JavaScript verifier (issue 23): clients/js, given the page's BBS module
(backend/static/app/vendor/pp3-holder.mjs, pure JavaScript on @noble/curves) as its ``bbs`` option, answers
every PP3 case as the Python SDK does: a granted code, the second scan of it, the quota's second code, wrong
slot, day, window, disclosure, issuer, pseudonym of another venue type or holder, identity points, flipped
bytes, truncation, another key, a withdrawn key, time and audience refusals. Without the module it answers
UNSUPPORTED_VERSION, never a guess.

``python -m tests.sdk.test_js_pp3 --write`` writes the same cases with Python's answers to
clients/js/test/pp3-vectors.json, which ``node --test`` in clients/js checks on its own
(tests/sdk/test_credential_format_spec.py runs it). A missing Node fails, it never skips."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from partner_sdk import Verifier, bbs, pp3
from partner_sdk import format as fmt
from partner_sdk.testing import TestIssuer

ROOT = Path(__file__).resolve().parents[2]
BBS_MODULE = ROOT / "backend" / "static" / "app" / "vendor" / "pp3-holder.mjs"
VECTORS = ROOT / "clients" / "js" / "test" / "pp3-vectors.json"
T0 = 1_795_000_000
DAY = 86_400
TODAY = T0 // DAY
PERKS = ("MOLI-METRO20", "OSM-TRANSIT", "SES-BIKE-NODEPOSIT")


def _code(data: bytes) -> str:
    return pp3.QR_PREFIX + fmt.bytes_to_digits(data)


def _replace(data: bytes, start: int, new: bytes) -> bytes:
    return data[:start] + new + data[start + len(new):]


def build_cases() -> tuple[dict[str, str], list[dict[str, Any]]]:
    """(root JWK, cases in tools/decide.mjs's form, each with Python's answers under "python")."""
    issuer = TestIssuer(issuer="perkpass.pp3js", seed=b"pp3-js", kid="pp3js-key-1",
                        key_window=(T0 - DAY, T0 + 30 * DAY))
    with_key = issuer.trust_list(T0 - 60, bbs_keys=issuer.bbs_keys())
    without_key = issuer.trust_list(T0 - 60, sequence=2)
    withdrawn = issuer.trust_list(T0 - 60, sequence=3, bbs_keys=[
        pp3.BbsKey(k.kid, k.public_key, k.not_before, k.not_after, revoked_at=T0 - 1) for k in issuer.bbs_keys()])
    cert, secret = issuer.pp3_certificate("metro", PERKS, TODAY)

    def code(now: int, window: int | None = 130, who=(cert, secret), name: str = issuer.issuer) -> str:
        return pp3.present(who[0], who[1], issuer.bbs_public_key, name, now, window)

    good = code(T0)
    data = fmt.digits_to_bytes(good[3:])
    n = data[9]
    head = pp3.HEAD_LEN
    nym_at, proof_at = head + n + 4, head + n + 52
    bob = issuer.pp3_certificate("metro", PERKS, TODAY)
    identity = bbs.G1Point.identity().to_compressed_bytes()
    lib_nym = bbs.calculate_pseudonym(pp3.nym_context(issuer.issuer, "library", 130, T0 // 30), secret.nym_secret,
                                      pp3.API_ID)
    fewer = pp3.claims_block("metro", ("MOLI-METRO20",))
    rogue = bbs.keygen(b"r" * 32)
    request = pp3.holder_request()
    rogue_cert, entropy = pp3.blind_sign_certificate(rogue, issuer.bbs_kid, issuer.issuer, "metro", PERKS, TODAY,
                                                     "moli", request.commitment)
    rogue_code = pp3.present(rogue_cert, pp3.holder_secret(request, entropy), bbs.sk_to_pk(rogue), issuer.issuer,
                             T0, 130)
    yesterday = issuer.pp3_certificate("metro", PERKS, TODAY - 1)
    tomorrow = issuer.pp3_certificate("metro", PERKS, TODAY + 1)
    museum = issuer.pp3_certificate("museum", ("CITY-MUSEUM-FREE",), TODAY)
    cases: list[dict[str, Any]] = [
        {"why": "granted", "qr_text": good, "now": T0 + 1},
        {"why": "granted, any case and white space", "qr_text": "  pp3" + good[3:] + "\r\n", "now": T0 + 1},
        {"why": "the same code scanned twice", "qr_text": good, "now": T0 + 1, "repeat": 2},
        {"why": "a perk asked for", "qr_text": good, "now": T0 + 1, "perk": "OSM-TRANSIT"},
        {"why": "a perk not in the code", "qr_text": good, "now": T0 + 1, "perk": "MOLI-GOV-ASSIST"},
        {"why": "the quota: a second code in the same window", "qr_text": code(T0 + 1), "now": T0 + 2,
         "prior": [{"qr_text": good, "now": T0 + 1}]},
        {"why": "another holder in the same window", "qr_text": code(T0 + 1, who=bob), "now": T0 + 2,
         "prior": [{"qr_text": good, "now": T0 + 1}]},
        {"why": "wrong slot", "qr_text": _code(_replace(data, 5, ((T0 + 30) // 30).to_bytes(4, "big"))),
         "now": T0 + 1},
        {"why": "wrong day (the slot moved to the next day)",
         "qr_text": _code(_replace(data, 5, ((T0 + DAY) // 30).to_bytes(4, "big"))), "now": T0 + DAY},
        {"why": "tampered disclosure",
         "qr_text": _code(data[:head - 1] + bytes([len(fewer)]) + fewer + data[head + n:]), "now": T0 + 1},
        {"why": "another quota window", "qr_text": _code(_replace(data, head + n, (260).to_bytes(4, "big"))),
         "now": T0 + 1},
        {"why": "window below the floor", "qr_text": _code(_replace(data, head + n, (60).to_bytes(4, "big"))),
         "now": T0 + 1},
        {"why": "the holder's pseudonym of another venue type", "qr_text": _code(_replace(data, nym_at, lib_nym)),
         "now": T0 + 1},
        {"why": "another holder's pseudonym",
         "qr_text": _code(_replace(data, nym_at, pp3.parse_qr_text(code(T0, who=bob)).pseudonym or b"")),
         "now": T0 + 1},
        {"why": "identity pseudonym", "qr_text": _code(_replace(data, nym_at, identity)), "now": T0 + 1},
        *({"why": f"identity proof point {i}", "qr_text": _code(_replace(data, proof_at + 48 * i, identity)),
           "now": T0 + 1} for i in range(3)),
        *({"why": f"byte {pos} flipped", "qr_text": _code(_replace(data, pos, bytes([data[pos] ^ 0x40]))),
           "now": T0 + 1} for pos in range(0, len(data), 17)),
        {"why": "a proof for another issuer name", "qr_text": code(T0, name="perkpass.elsewhere"), "now": T0 + 1},
        {"why": "truncated", "qr_text": _code(data[:-1]), "now": T0 + 1},
        {"why": "extended", "qr_text": _code(data + b"\x00"), "now": T0 + 1},
        {"why": "unknown flags", "qr_text": _code(bytes([0x33]) + data[1:]), "now": T0 + 1},
        {"why": "no pseudonym", "qr_text": code(T0, window=None), "now": T0 + 1},
        {"why": "signed by a key not in the list", "qr_text": rogue_code, "now": T0 + 1},
        {"why": "wrong venue type", "qr_text": good, "now": T0 + 1, "audience": "library"},
        {"why": "presented 400 s ago", "qr_text": good, "now": T0 + 400},
        {"why": "presented 70 s ahead", "qr_text": good, "now": T0 - 70},
        {"why": "yesterday's certificate", "qr_text": code(TODAY * DAY - 10, who=yesterday),
         "now": TODAY * DAY + 5 * 3600},
        {"why": "tomorrow's certificate", "qr_text": code((TODAY + 1) * DAY, who=tomorrow), "now": T0},
        {"why": "no BBS key in the list", "qr_text": good, "now": T0 + 1, "trust_list": without_key},
        {"why": "the BBS key withdrawn", "qr_text": good, "now": T0 + 1, "trust_list": withdrawn},
        {"why": "a venue type the list does not name (fallback policy: a day's window)",
         "qr_text": code(T0, who=museum, window=DAY), "now": T0 + 1, "audience": "museum"},
        {"why": "not digits", "qr_text": "PP3" + "12x4", "now": T0},
    ]
    for c in cases:
        c.setdefault("audience", "metro")
        c.setdefault("trust_list", with_key)
        c["python"] = python_answers(issuer, c)
    return issuer.root_public_jwk, cases


def python_answers(issuer: TestIssuer, c: dict[str, Any]) -> list[str]:
    from partner_sdk import TrustStore
    store = TrustStore(issuer.root_public_jwk)
    store.load_bytes(c["trust_list"].encode(), now=json.loads(fmt.b64url_decode(c["trust_list"].split(".")[1]))["iat"])
    verifier = Verifier(store, c["audience"])
    for p in c.get("prior", []):
        verifier.verify(p["qr_text"], now=p["now"], perk=p.get("perk"))
    return [verifier.verify(c["qr_text"], now=c["now"], perk=c.get("perk")).status.value
            for _ in range(c.get("repeat", 1))]


def decide(root: dict[str, str], cases: list[dict[str, Any]], with_bbs: bool) -> list[list[str]]:
    node = shutil.which("node")
    assert node, "Node.js >= 20 is required to test clients/js (the JavaScript verifier): install nodejs"
    request = {"root_public_key": root, "cases": cases, **({"bbs": BBS_MODULE.as_uri()} if with_bbs else {})}
    r = subprocess.run([node, str(ROOT / "clients" / "js" / "tools" / "decide.mjs")], input=json.dumps(request),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_the_javascript_verifier_with_the_bbs_module_answers_pp3_as_python_does():
    root, cases = build_cases()
    answers = decide(root, cases, with_bbs=True)
    differ = [(c["why"], c["python"], js) for c, js in zip(cases, answers, strict=True) if c["python"] != js]
    assert not differ, differ
    by_why = {c["why"]: c["python"] for c in cases}
    # the cases reach what they are named for (they could all be MALFORMED otherwise)
    assert by_why["granted"] == ["GRANTED"] and by_why["the same code scanned twice"] == ["GRANTED", "REPLAYED"]
    assert by_why["the quota: a second code in the same window"] == ["REPLAYED"]
    assert by_why["another holder in the same window"] == ["GRANTED"]
    assert by_why["tampered disclosure"] == ["BAD_SIGNATURE"] and by_why["the BBS key withdrawn"] == ["REVOKED"]
    assert by_why["no BBS key in the list"] == ["UNKNOWN_KEY"] and by_why["wrong venue type"] == ["WRONG_AUDIENCE"]


def test_without_the_bbs_module_a_pp3_code_is_unsupported_never_a_guess():
    root, cases = build_cases()
    answers = decide(root, cases[:3], with_bbs=False)
    assert answers == [["UNSUPPORTED_VERSION"]] * 2 + [["UNSUPPORTED_VERSION"] * 2]


def test_the_node_tests_vectors_are_current():
    """clients/js/test/pp3-vectors.json holds cases and Python's answers (node --test checks the JS verifier
    against them); they must still be Python's answers."""
    vectors = json.loads(VECTORS.read_text())
    issuer = TestIssuer(issuer="perkpass.pp3js", seed=b"pp3-js", kid="pp3js-key-1", key_window=(T0 - DAY, T0 + 30 * DAY))
    assert vectors["root_public_key"] == issuer.root_public_jwk
    assert len(vectors["cases"]) >= 40
    for c in vectors["cases"]:
        assert python_answers(issuer, c) == c["python"], c["why"]


if __name__ == "__main__" and "--write" in sys.argv:
    root_jwk, all_cases = build_cases()
    VECTORS.write_text(json.dumps({"description": "PP3 cases (tests/sdk/test_js_pp3.py --write): verify each with "
                                   "a fresh replay memory, 'prior' codes first, 'repeat' times; 'python' is the "
                                   "Python SDK's answers", "root_public_key": root_jwk, "cases": all_cases},
                                  indent=1) + "\n")
    print(f"wrote {len(all_cases)} cases to {VECTORS}")
