"""Benchmark: a trust list with the most withdrawn PP2 certificates a verifier accepts (issue 18 part 3).

    python bench/trust_list.py [--rounds 7] [--scans 300] [--json]

Three lists signed by the same test issuer, measured in the same run:
  empty      no withdrawals: the baseline;
  largest    as many withdrawn ids as fit in MAX_TRUST_LIST_BYTES (1,000,000), in the ``revoked`` string form;
  old form   the JSON list form of SDK 0.1.0 with as many ids as fitted it (~39,000), still read for one release.
Load = ``TrustStore.load_bytes`` (root signature, JSON, every check, the set of ids), CPU time of this process,
median of interleaved rounds; restart = a ``TrustStore`` reading its cache directory (a kiosk starting), CPU
time too (the file is in the page cache). Memory = tracemalloc: the peak while loading and what the store keeps.
Per scan: ``cert_id in revoked`` (hit and miss) and ``Verifier.verify`` of PP2 codes that are GRANTED, against
the largest list vs the empty one, interleaved batches, CPU time; and the cost of a REVOKED answer.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from partner_sdk import MemoryReplayCache, Status, TrustListTooLargeError, TrustStore, Verifier, pp2
from partner_sdk import format as fmt
from partner_sdk.testing import TestIssuer
from partner_sdk.trust import MAX_TRUST_LIST_BYTES

T0 = 1_795_000_000


def random_ids(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [fmt.b64url_encode(rng.randbytes(pp2.CERT_ID_BYTES)) for _ in range(n)]


def largest(fits, n_max: int) -> tuple[str, int]:
    """The list ``fits(n)`` makes with the largest n that is not refused as too large (binary search)."""
    lo, hi = 0, n_max
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            fits(mid)
            lo = mid
        except TrustListTooLargeError:
            hi = mid - 1
    return fits(lo), lo


def old_form_list(issuer: TestIssuer, ids: list[str]) -> str:
    """A list as an SDK 0.1.0 issuer signed it: ``revoked`` a JSON list of the sorted ids."""
    payload = json.loads(fmt.b64url_decode(issuer.trust_list(T0, sequence=2).split(".")[1]))
    payload["revoked"] = sorted(ids)
    jws = jwt.PyJWS(algorithms=["EdDSA"]).encode(fmt.canonical_json(payload), issuer.root_key, algorithm="EdDSA",
                                                 headers={"kid": "root", "typ": fmt.TRUST_LIST_TYP})
    if len(jws) > MAX_TRUST_LIST_BYTES:
        raise TrustListTooLargeError("over the limit")
    return jws


def cpu_per_op(fn, repeat: int) -> float:
    t = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t) / repeat


def memory(issuer: TestIssuer, jws: str) -> tuple[int, int]:
    """(peak bytes allocated while loading, bytes the loaded store keeps)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = TrustStore(issuer.root_public_jwk)
    store.load_bytes(jws, now=T0)
    gc.collect()
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert store.current is not None
    return peak - before, kept - before


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--scans", type=int, default=300, help="PP2 codes verified per round and list")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    issuer = TestIssuer(issuer="perkpass.fuzhou", key_window=(T0 - 86_400, T0 + 30 * 86_400))
    device = Ed25519PrivateKey.generate()
    certs = [issuer.certificate("metro", ["MOLI-METRO20"], device.public_key(), now=T0) for _ in range(2 * args.scans)]
    withdrawn, kept = certs[: args.scans], certs[args.scans:]
    pool = [c.cert_id for c in withdrawn] + random_ids(60_000, seed=18)
    lists = {"empty": (issuer.trust_list(T0, sequence=2), 0)}
    lists["largest"] = largest(lambda n: issuer.trust_list(T0, sequence=2, revoked=pool[:n]), len(pool))
    lists["old_form"] = largest(lambda n: old_form_list(issuer, pool[:n]), len(pool))

    stores = {}
    for name, (jws, n) in lists.items():
        stores[name] = TrustStore(issuer.root_public_jwk)
        assert len(stores[name].load_bytes(jws, now=T0).revoked) == n

    # load: interleaved rounds; a small list is loaded many times per round so its time is well above the clock's
    repeat = {"empty": 200, "largest": 5, "old_form": 5}
    load: dict[str, list[float]] = {k: [] for k in lists}
    restart: dict[str, list[float]] = {k: [] for k in lists}
    caches = {}
    for name, (jws, _n) in lists.items():
        caches[name] = tempfile.mkdtemp(prefix=f"trust-bench-{name}-")
        TrustStore(issuer.root_public_jwk, cache_dir=caches[name]).load_bytes(jws, now=T0)
    for _ in range(args.rounds):
        for name, (jws, _n) in lists.items():
            load[name].append(cpu_per_op(lambda j=jws: TrustStore(issuer.root_public_jwk).load_bytes(j, now=T0),
                                         repeat[name]))
            restart[name].append(cpu_per_op(lambda c=caches[name]: TrustStore(issuer.root_public_jwk, cache_dir=c),
                                            repeat[name]))
    for cache in caches.values():
        shutil.rmtree(cache)
    mem = {name: memory(issuer, jws) for name, (jws, _n) in lists.items()}

    # per scan
    big, empty = stores["largest"].current, stores["empty"].current
    assert big is not None and empty is not None
    hits, misses = [c.cert_id for c in withdrawn], [c.cert_id for c in kept]
    lookup_hit = statistics.median(cpu_per_op(lambda: [i in big.revoked for i in hits], 200) / len(hits)
                                   for _ in range(args.rounds))
    lookup_miss = statistics.median(cpu_per_op(lambda: [i in big.revoked for i in misses], 200) / len(misses)
                                    for _ in range(args.rounds))
    at = T0 + 10
    granted_codes = [pp2.sign_presentation(c.raw, device, at) for c in kept]
    revoked_codes = [pp2.sign_presentation(c.raw, device, at) for c in withdrawn]
    verify: dict[str, list[float]] = {"largest": [], "empty": [], "revoked": []}
    for _ in range(args.rounds):
        for name in ("largest", "empty"):
            v = Verifier(stores[name], "metro", replay_cache=MemoryReplayCache())
            decisions: list = []
            verify[name].append(cpu_per_op(lambda v=v, d=decisions: [d.append(v.verify(c, now=at)) for c in granted_codes], 1)
                                / len(granted_codes))
            assert all(d.status is Status.GRANTED for d in decisions)
        v = Verifier(stores["largest"], "metro", replay_cache=MemoryReplayCache())
        refused: list = []
        verify["revoked"].append(cpu_per_op(lambda v=v, d=refused: [d.append(v.verify(c, now=at)) for c in revoked_codes], 1)
                                 / len(revoked_codes))
        assert all(d.status is Status.REVOKED for d in refused)

    med = {k: statistics.median(v) for k, v in load.items()}
    med_restart = {k: statistics.median(v) for k, v in restart.items()}
    result = {
        "max_trust_list_bytes": MAX_TRUST_LIST_BYTES,
        "largest_ids": lists["largest"][1], "largest_bytes": len(lists["largest"][0]),
        "old_form_ids": lists["old_form"][1], "old_form_bytes": len(lists["old_form"][0]),
        "empty_bytes": len(lists["empty"][0]),
        "bytes_per_id": round((len(lists["largest"][0]) - len(lists["empty"][0])) / lists["largest"][1], 2),
        "old_form_bytes_per_id": round((len(lists["old_form"][0]) - len(lists["empty"][0])) / lists["old_form"][1], 2),
        "load_ms": {k: round(v * 1e3, 3) for k, v in med.items()},
        "load_ratio_largest_over_empty": round(med["largest"] / med["empty"], 1),
        "load_ratio_largest_over_old_form": round(med["largest"] / med["old_form"], 2),
        "restart_from_cache_ms": {k: round(v * 1e3, 3) for k, v in med_restart.items()},
        "load_peak_kib": {k: round(p / 1024, 1) for k, (p, _) in mem.items()},
        "kept_kib": {k: round(kb / 1024, 1) for k, (_, kb) in mem.items()},
        "peak_ratio_largest_over_empty": round(mem["largest"][0] / mem["empty"][0], 1),
        "lookup_ns": {"hit": round(lookup_hit * 1e9), "miss": round(lookup_miss * 1e9)},
        "pp2_verify_granted_us": {k: round(statistics.median(verify[k]) * 1e6, 1) for k in ("largest", "empty")},
        "pp2_verify_ratio_largest_over_empty": round(statistics.median(
            a / b for a, b in zip(verify["largest"], verify["empty"], strict=True)), 3),
        "pp2_verify_revoked_us": round(statistics.median(verify["revoked"]) * 1e6, 1),
    }
    if args.json:
        print(json.dumps(result))
        return result
    print(f"== trust list with withdrawn PP2 certificates (median of {args.rounds} interleaved rounds) ==")
    print(f"{'list':<10} {'ids':>7} {'bytes':>10} {'load ms CPU':>12} {'restart ms CPU':>15} {'peak KiB':>9} {'kept KiB':>9}")
    for name, (jws, n) in lists.items():
        print(f"{name:<10} {n:>7,} {len(jws):>10,} {result['load_ms'][name]:>12} {result['restart_from_cache_ms'][name]:>15} "
              f"{result['load_peak_kib'][name]:>9} {result['kept_kib'][name]:>9}")
    print(f"bytes per withdrawn id: {result['bytes_per_id']} (old list form {result['old_form_bytes_per_id']})")
    print(f"largest / empty: load {result['load_ratio_largest_over_empty']}x, peak memory "
          f"{result['peak_ratio_largest_over_empty']}x; largest / old form load {result['load_ratio_largest_over_old_form']}x")
    print(f"per scan: id lookup {result['lookup_ns']['hit']} ns (hit), {result['lookup_ns']['miss']} ns (miss); "
          f"PP2 verify GRANTED {result['pp2_verify_granted_us']['largest']} us vs {result['pp2_verify_granted_us']['empty']} us "
          f"with no withdrawals ({result['pp2_verify_ratio_largest_over_empty']}x); REVOKED answer {result['pp2_verify_revoked_us']} us")
    return result


if __name__ == "__main__":
    main()
