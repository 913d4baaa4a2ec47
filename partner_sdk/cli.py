"""``perkpass-verify``: verify one code offline from the command line and print the Decision as JSON.

Exit status: 0 granted, 1 refused (any other status), 2 configuration problem (bad root key, trust list).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from collections.abc import Sequence

from . import format as fmt
from .errors import PerkpassError
from .replay import MemoryReplayCache, SQLiteReplayCache
from .trust import TrustStore
from .verify import Decision, Status, Verifier


def _read_root_key(value: str) -> str:
    p = Path(value)
    return p.read_text() if p.exists() else value


def _epoch_seconds(value: str) -> float:
    """--now: finite epoch seconds ("nan", "inf" and negatives are a usage error, not a grant)."""
    try:
        return fmt.to_epoch(float(value))
    except ValueError as exc:  # InvalidClockError is a ValueError
        raise argparse.ArgumentTypeError(f"not a usable epoch time: {value!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="perkpass-verify", description="Verify a Perkpass perk code offline.")
    ap.add_argument("code", nargs="?", help="the scanned text (PP1…); '-' reads standard input")
    ap.add_argument("--image", help="an image file with the QR code (needs zxing-cpp)")
    ap.add_argument("--root-key", required=True, help="pinned root public key: JWK/PEM file or JWK JSON text")
    ap.add_argument("--trust-list", required=True, help="trust list: a file path or an http(s) URL")
    ap.add_argument("--cache-dir", help="keep the trust list here so later runs work offline")
    ap.add_argument("--audience", required=True, help="this venue's type, e.g. library, metro, hospital")
    ap.add_argument("--perk", help="require this perk code")
    ap.add_argument("--replay-db", help="SQLite file remembering granted codes across runs")
    ap.add_argument("--leeway", type=int, default=5, help="clock tolerance in seconds (default 5)")
    ap.add_argument("--now", type=_epoch_seconds, help="verify as if at this epoch time (testing)")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        store = TrustStore(_read_root_key(args.root_key), cache_dir=args.cache_dir)
        if args.trust_list.startswith(("http://", "https://")):
            store.load_url(args.trust_list, now=args.now)
        else:
            store.load_file(args.trust_list, now=args.now)
        cache = SQLiteReplayCache(args.replay_db) if args.replay_db else MemoryReplayCache()
        verifier = Verifier(store, audience=args.audience, replay_cache=cache, leeway=args.leeway)
        if args.image:
            from .qr import decode_image

            texts = decode_image(args.image)
            if not texts:
                decision = Decision(Status.MALFORMED, detail="no QR code found in the image")
                print(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
                return 1
            code = texts[0]
        elif args.code == "-" or args.code is None:
            code = sys.stdin.read(4096)
        else:
            code = args.code
    except (PerkpassError, OSError, ValueError) as exc:
        print(f"perkpass-verify: configuration error: {exc}", file=sys.stderr)
        return 2
    decision = verifier.verify(code, perk=args.perk, now=args.now)
    out = decision.to_dict()
    out["trust_list"] = store.freshness(args.now).describe()
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0 if decision.granted else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
