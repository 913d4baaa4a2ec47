"""Benchmark: PP3 unlinkable codes (issue 23): SDK verify, Python proof generation, QR version.

    python bench/pp3.py [--n 40] [--rounds 5]

Baselines measured in the same run, interleaved, on this (noisy) machine: the bare pairing check a BBS
proof needs at the end (two pairings, arkworks, what no implementation can skip) and a bare Ed25519 verify
(what a PP1 code costs). Reported: median wall-clock milliseconds per operation and ratios. The SDK's verify
is ``Verifier.verify`` end to end (parse, BBS proof with pseudonym, policy, replay memory), each code a
different holder's. Goals (issue 23): SDK verify <= 5 ms, QR <= v17-M with three perks (aim v15).
The phone's side in JavaScript is not measured here (the page does not make PP3 codes yet).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

from partner_sdk import Verifier, pp3
from partner_sdk import format as fmt
from partner_sdk.testing import TestIssuer

T0 = 1_795_000_000
PERKS = {1: ["MOLI-METRO20"], 3: ["MOLI-METRO20", "OSM-TRANSIT", "SES-BIKE-NODEPOSIT"],
         6: ["MOLI-METRO20", "OSM-TRANSIT", "SES-BIKE-NODEPOSIT", "SES-CAR-NODEPOSIT", "SES-FLAT-NODEPOSIT",
             "RC-LOAN"]}


class _NoMemory:
    """A replay cache that remembers nothing: the bench verifies many codes at one instant."""

    def check_and_remember(self, key: str, expires_at: float, now: float) -> bool:
        return True


def _ms(fn, items) -> float:
    t = time.perf_counter()
    for it in items:
        fn(it)
    return (time.perf_counter() - t) / len(items) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    issuer = TestIssuer(issuer="perkpass.bench", key_window=(T0 - 86_400, T0 + 30 * 86_400))
    store = issuer.trust_store(now=T0 - 60, bbs_keys=issuer.bbs_keys())
    verifier = Verifier(store, "metro", replay_cache=_NoMemory())  # type: ignore[arg-type]
    holders = [issuer.pp3_certificate("metro", PERKS[3], T0 // 86_400) for _ in range(args.n)]
    window = pp3.quota_window(verifier.policy.usage_interval(tuple(sorted(PERKS[3]))))
    pk = issuer.bbs_public_key

    def make(h):
        return pp3.present(h[0], h[1], pk, issuer.issuer, T0, window)

    codes = [make(h) for h in holders]
    assert all(verifier.verify(c, now=T0).granted for c in codes)

    a, b = G1Point() * Scalar(7), G2Point()
    pairs = [([a, -a], [b, b])] * args.n
    ed = Ed25519PrivateKey.generate()
    msg = b"x" * 200
    sig = ed.sign(msg)
    pub = ed.public_key()

    rows: dict[str, list[float]] = {"sdk_verify": [], "bare_pairing_check": [], "bare_ed25519_verify": [],
                                    "python_proof_gen": []}
    for _ in range(args.rounds):
        rows["sdk_verify"].append(_ms(lambda c: verifier.verify(c, now=T0), codes))
        rows["bare_pairing_check"].append(_ms(lambda p: GT.pairing_check(*p), pairs))
        rows["bare_ed25519_verify"].append(_ms(lambda _: pub.verify(sig, msg), range(args.n)))
        rows["python_proof_gen"].append(_ms(make, holders[: max(5, args.n // 4)]))
    med = {k: statistics.median(v) for k, v in rows.items()}

    versions = {}
    for n, perks in PERKS.items():
        cert, secret = issuer.pp3_certificate("metro", perks, T0 // 86_400)
        code = pp3.present(cert, secret, pk, issuer.issuer, T0, window)
        versions[f"qr_version_m_{n}_perks"] = fmt.qr_version_m(code)
        versions[f"qr_chars_{n}_perks"] = len(code)
    out = {
        "sdk_verify_ms": round(med["sdk_verify"], 3),
        "bare_pairing_check_ms": round(med["bare_pairing_check"], 3),
        "bare_ed25519_verify_ms": round(med["bare_ed25519_verify"], 4),
        "python_proof_gen_ms": round(med["python_proof_gen"], 3),
        "ratio_sdk_verify_to_pairing_check": round(med["sdk_verify"] / med["bare_pairing_check"], 2),
        "ratio_sdk_verify_to_ed25519_verify": round(med["sdk_verify"] / med["bare_ed25519_verify"], 1),
        **versions,
        "n": args.n, "rounds": args.rounds, "load_average": [round(x, 1) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
