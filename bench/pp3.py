"""Benchmark: PP3 unlinkable codes (issue 23): SDK verify, Python proof generation, QR version, kiosk end to end.

    python bench/pp3.py [--n 40] [--rounds 5] [--frames 24]

Baselines measured in the same run, interleaved, on this (noisy) machine: the bare pairing check a BBS
proof needs at the end (two pairings, arkworks, what no implementation can skip) and a bare Ed25519 verify
(what a PP1 code costs). Reported: median wall-clock milliseconds per operation and ratios. The SDK's verify
is ``Verifier.verify`` end to end (parse, BBS proof with pseudonym, policy, replay memory), each code a
different holder's. Goals (issue 23): SDK verify <= 5 ms, QR <= v17-M with three perks (aim v15).
The phone's side in JavaScript is measured by ``bench/pp3_browser.py``.

Kiosk end to end (goal <= 100 ms): a 1280x720 camera frame (``bench/scan_frames.py``'s "clean" condition: a
phone on a desk, the real QR image of the code, 3-5 px per module) goes through the kiosk's own path:
``kiosk.scan.camera.CameraWorker.step`` (grey conversion, view memory, zxing-cpp decode passes) hands the text
to ``kiosk.core.KioskCore.process`` (normalise, SDK verify, the venue's perk rule, SQLite scan log and replay
memory), the result the screen shows. Timed from the frame's capture to the result (the kiosk's own
``ScanResult.latency_ms``), every frame a different holder's code, granted. Baselines in the same run,
interleaved: PP1 and PP2 codes of the same perks through the same path.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

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


def kiosk_end_to_end(issuer: TestIssuer, frames_per_kind: int, rounds: int) -> dict[str, object]:
    """Camera frame to the kiosk's answer for PP3, PP1 and PP2 codes (see the module's docstring)."""
    import tempfile

    import cv2
    import numpy as np
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    from kiosk.core import KioskCore
    from kiosk.scan.camera import CameraWorker
    from kiosk.scan.sources import CaptureSource
    from partner_sdk import pp2
    from scan_frames import make_frame

    cv2.setNumThreads(1)  # as in the kiosk's worker
    now = T0
    perks = PERKS[3]
    day = now // 86_400
    work = Path(tempfile.mkdtemp(prefix="perkpass-bench-pp3-kiosk-"))
    catalogue = {p: {"audience": "metro", "title": {"en": p, "zh-CN": p}} for p in perks}
    enrolment = work / "enrol.json"
    enrolment.write_text(json.dumps({
        "device_id": "kiosk-bench-1",
        "venue": {"id": "v-1", "name": "Bench station", "audience": "metro",
                  "perks": [{"code": p, "title": {"en": p, "zh-CN": p}} for p in perks]},
        "issuer": issuer.issuer, "root_public_key": issuer.root_public_jwk,
        "trust_list": issuer.trust_list(now - 60, perks=catalogue, bbs_keys=issuer.bbs_keys()),
        "trust_list_url": "/api/v1/trust-list"}))
    core = KioskCore(work / "kiosk", sync_interval=3600, clock=lambda: float(now))
    core.enrol_from_file(enrolment, pin="2468")
    assert core.verifier is not None
    core.select_perk(perks[0])  # staff chose the perk: a PP3 quota pseudonym is then asked for one perk
    window = pp3.quota_window(core.verifier.policy.usage_interval(tuple(sorted(perks))))

    def pp3_text(i: int) -> str:
        cert, secret = issuer.pp3_certificate("metro", perks, day)
        return pp3.present(cert, secret, issuer.bbs_public_key, issuer.issuer, now, window)

    def pp1_text(i: int) -> str:
        return issuer.credential("metro", perks, now=now, citizen=f"bench-{i}").qr_text

    def pp2_text(i: int) -> str:
        key = generate_private_key(SECP256R1())
        cert = issuer.certificate("metro", perks, key.public_key(), now - 60)
        return pp2.sign_presentation(cert.raw, key, now)

    rng = np.random.default_rng(23)
    kinds = {"pp3": pp3_text, "pp1": pp1_text, "pp2": pp2_text}
    total = frames_per_kind * rounds
    frames = {k: [make_frame("clean", make(i), rng) for i in range(total)] for k, make in kinds.items()}

    class OneFrame(CaptureSource):
        name = "bench"
        frame: np.ndarray | None = None

        def read(self) -> np.ndarray | None:
            frame, self.frame = self.frame, None
            return frame

    source = OneFrame()
    results: list = []
    # the kiosk's camera worker as the app builds it, without the second reader (a clean frame is read by the
    # fast path) and with repeat suppression off (every frame is a new citizen here)
    worker = CameraWorker(source, lambda text, t: results.append(core.process(text, "camera", frame_time=t)),
                          repeat_suppress_s=0.0)
    latency: dict[str, list[float]] = {k: [] for k in kinds}
    decode: dict[str, list[float]] = {k: [] for k in kinds}
    misses: dict[str, int] = {k: 0 for k in kinds}
    for r in range(rounds):
        for k in kinds:  # interleaved: each round, a batch of each kind
            for f in frames[k][r * frames_per_kind:(r + 1) * frames_per_kind]:
                results.clear()
                source.frame = f.image.copy()
                worker.step()
                if len(results) != 1 or results[0].status != "GRANTED":
                    misses[k] += 1
                    continue
                latency[k].append(results[0].latency_ms)
                decode[k].append(worker._decode_ms[-1])
    core.close()

    def p(values: list[float], q: float) -> float:
        return round(sorted(values)[min(len(values) - 1, int(q * len(values)))], 1) if values else float("nan")

    out: dict[str, object] = {}
    for k in kinds:
        out[f"kiosk_{k}_frame_to_result_ms_median"] = round(statistics.median(latency[k]), 1)
        out[f"kiosk_{k}_frame_to_result_ms_p90"] = p(latency[k], 0.9)
        out[f"kiosk_{k}_decode_ms_median"] = round(statistics.median(decode[k]), 1)
        out[f"kiosk_{k}_qr_version"] = frames[k][0].version
        out[f"kiosk_{k}_frames_not_granted"] = misses[k]
    for base in ("pp1", "pp2"):
        out[f"ratio_kiosk_pp3_to_{base}"] = round(statistics.median(latency["pp3"])
                                                  / statistics.median(latency[base]), 2)
    out["kiosk_frames_per_kind"] = total
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frames", type=int, default=8, help="kiosk frames per kind per round")
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
        **kiosk_end_to_end(issuer, args.frames, args.rounds),
        "n": args.n, "rounds": args.rounds, "load_average": [round(x, 1) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
