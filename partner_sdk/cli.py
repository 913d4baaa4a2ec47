"""``perkpass-verify``: verify perk codes offline from the command line and print each Decision as JSON.

A gate script calls it once per code, or pipes a scanner into ``perkpass-verify … -`` (one code a line,
one JSON answer a line). Granted codes are remembered across runs (see ``--replay-db``). Exit statuses are
listed in ``EXIT_STATUSES`` (and ``--help``); every error is one line on standard error with its code.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from . import __version__
from . import format as fmt
from .errors import InvalidKeyError, PerkpassError, TrustListUnavailableError
from .keys import load_public_key, pinned_root
from .replay import MemoryReplayCache, ReplayCache, SQLiteReplayCache
from .trust import TrustStore
from .verify import Decision, Status, Verifier

PROG = "perkpass-verify"
GRANTED, REFUSED, CONFIG_ERROR, OUTPUT_CLOSED = 0, 1, 2, 3
EXIT_STATUSES = {
    GRANTED: "granted (with '-': the last code read was granted)",
    REFUSED: "refused: the JSON answer's status and message say why",
    CONFIG_ERROR: "usage or configuration error (root key, trust list, replay file…): one line on stderr",
    OUTPUT_CLOSED: "the answer could not be written (standard output closed)",
}
MAX_LINE = 16_384  # longer than any code: a longer line is answered MALFORMED, not held in memory
MAX_ROOT_DOCUMENT = 65_536
REPLAY_FILE = "replay.db"


class CliError(Exception):
    """An operator's or integrator's mistake: printed as one line, ``perkpass-verify: error [code]: …``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's two-line usage error, as one line with its code
        self.exit(CONFIG_ERROR, f"{PROG}: error [usage]: {message} (see {PROG} --help)\n")


def default_replay_db(cache_dir: str | None, environ: dict[str, str] | None = None) -> Path:
    """Where granted codes are remembered when --replay-db is not given: the cache directory, else the
    user's state directory ($XDG_STATE_HOME/perkpass, default ~/.local/state/perkpass)."""
    if cache_dir:
        return Path(cache_dir).expanduser() / REPLAY_FILE
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(state) / "perkpass" / REPLAY_FILE


def _epoch_seconds(value: str) -> float:
    """--now: finite epoch seconds ("nan", "inf" and negatives are a usage error, not a grant)."""
    try:
        return fmt.to_epoch(float(value))
    except ValueError as exc:  # InvalidClockError is a ValueError
        raise argparse.ArgumentTypeError(f"not a usable epoch time: {value!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    exits = "\n".join(f"  {code}  {text}" for code, text in EXIT_STATUSES.items())
    ap = _Parser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Verify Perkpass perk codes offline and print each decision as JSON.",
        epilog=f"exit status:\n{exits}\n\nerrors: one line on stderr, '{PROG}: error [code]: message'.\n"
               "Granted codes are remembered in CACHE_DIR/replay.db, else ~/.local/state/perkpass/replay.db\n"
               "(the answer's 'replay_db' says which file); --no-replay-db forgets them when the run ends.")
    ap.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    ap.add_argument("code", nargs="?", help="the scanned text (PP1…/PP2…); '-' reads one code a line from standard "
                                            "input and answers one JSON line each")
    ap.add_argument("--image", help="an image file with the QR code (needs zxing-cpp: pip install 'perkpass[qr]')")
    ap.add_argument("--root-key", required=True,
                    help="pinned root public key: a file or the text of a JWK, a PEM key or the issuer's "
                         "/api/v1/trust-root answer; an https URL of that answer together with --root-thumbprint")
    ap.add_argument("--root-thumbprint",
                    help="refuse a root key whose RFC 7638 SHA-256 thumbprint (base64url) is not this one; "
                         "the operator reads it to you out of band (flask --app backend keys root)")
    ap.add_argument("--trust-list", required=True, help="trust list: a file path or an http(s) URL")
    ap.add_argument("--cache-dir", help="keep the trust list (and the replay file) here so later runs work offline")
    ap.add_argument("--audience", required=True, help="this venue's type, e.g. library, metro, hospital")
    ap.add_argument("--perk", help="require this perk code")
    replay = ap.add_mutually_exclusive_group()
    replay.add_argument("--replay-db", help="SQLite file remembering granted codes across runs "
                                            "(default: CACHE_DIR/replay.db, else ~/.local/state/perkpass/replay.db)")
    replay.add_argument("--no-replay-db", action="store_true",
                        help="remember granted codes for this run only (a code is then granted again next run)")
    ap.add_argument("--leeway", type=int, default=5, help="clock tolerance in seconds (default 5)")
    ap.add_argument("--now", type=_epoch_seconds, help="verify as if at this epoch time (testing)")
    return ap


def _root_key(args: argparse.Namespace) -> Any:
    value: str = args.root_key
    if value.startswith(("http://", "https://")):
        if not args.root_thumbprint:
            raise CliError("root_key", "a root key fetched from a URL must be checked: add --root-thumbprint "
                                       "(the operator gives it to you out of band)")
        value = _fetch_root_document(value)
    elif not value.lstrip().startswith(("{", "-----BEGIN")):
        path = Path(value).expanduser()
        try:
            value = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise CliError("root_key", f"no root key file {path} (give a file, or the key's JSON or PEM text)") \
                from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError("root_key", f"cannot read root key file {path}: {exc}") from exc
    try:
        return pinned_root(value, args.root_thumbprint) if args.root_thumbprint else load_public_key(value)
    except InvalidKeyError as exc:
        raise CliError("root_key", str(exc)) from exc


def _fetch_root_document(url: str) -> str:
    req = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "perkpass-sdk"})  # noqa: S310 - http(s) checked by the caller
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - http(s) checked by the caller
            body: bytes = resp.read(MAX_ROOT_DOCUMENT + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise CliError("root_key", f"cannot fetch the root key from {url}: {exc}") from exc
    if len(body) > MAX_ROOT_DOCUMENT:
        raise CliError("root_key", f"the answer of {url} is too large to be a root key")
    return body.decode("utf-8", "replace")


def _store(args: argparse.Namespace) -> TrustStore:
    root = _root_key(args)
    try:
        store = TrustStore(root, cache_dir=Path(args.cache_dir).expanduser() if args.cache_dir else None)
    except OSError as exc:
        raise CliError("cache_dir", f"cannot use cache directory {args.cache_dir}: {exc.strerror or exc}") from exc
    try:
        if args.trust_list.startswith(("http://", "https://")):
            store.load_url(args.trust_list, now=args.now)
        else:
            store.load_file(args.trust_list, now=args.now)
    except TrustListUnavailableError as exc:
        raise CliError("trust_list_unavailable", str(exc)) from exc
    except PerkpassError as exc:
        raise CliError("trust_list", str(exc)) from exc
    return store


def _replay_cache(args: argparse.Namespace) -> tuple[ReplayCache, Path | None]:
    if args.no_replay_db:
        return MemoryReplayCache(), None
    path = Path(args.replay_db).expanduser() if args.replay_db else default_replay_db(args.cache_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        cache = SQLiteReplayCache(path)  # opens the file now: unusable, it is one configuration error
    except (OSError, sqlite3.Error) as exc:
        raise CliError("replay_db", f"cannot use replay file {path}: {exc} (or run with --no-replay-db)") from exc
    return cache, path


def _codes(args: argparse.Namespace, stdin: IO[bytes]) -> Iterator[str | Decision]:
    """The codes to verify: the argument, the image's QR code, or one a line of standard input."""
    if args.image:
        from .qr import decode_image

        try:
            texts = decode_image(args.image)
        except (PerkpassError, OSError) as exc:
            raise CliError("image", f"cannot read {args.image}: {exc}") from exc
        yield texts[0] if texts else Decision(Status.MALFORMED, detail="no QR code found in the image")
        return
    if args.code is None:
        raise CliError("usage", "give the code, '-' to read codes from standard input, or --image FILE")
    if args.code != "-":
        yield args.code
        return
    while line := stdin.readline(MAX_LINE):
        if len(line) == MAX_LINE and not line.endswith(b"\n"):
            while (rest := stdin.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
            yield Decision(Status.MALFORMED, detail="the line is longer than any code")
            continue
        text = line.decode("utf-8", "replace").strip()
        if text:
            yield text


def _answer(decision: Decision, store: TrustStore, args: argparse.Namespace, replay_db: Path | None,
            one_line: bool) -> str:
    out = decision.to_dict()
    out["trust_list"] = store.freshness(args.now).describe()
    out["replay_db"] = str(replay_db) if replay_db else None
    return json.dumps(out, ensure_ascii=False, indent=None if one_line else 2)


def run(args: argparse.Namespace, stdin: IO[bytes], stdout: IO[str]) -> int:
    store = _store(args)
    cache, replay_db = _replay_cache(args)
    try:
        verifier = Verifier(store, audience=args.audience, replay_cache=cache, leeway=args.leeway)
    except (PerkpassError, ValueError) as exc:
        raise CliError("usage", str(exc)) from exc
    status = REFUSED
    for item in _codes(args, stdin):
        decision = item if isinstance(item, Decision) else verifier.verify(item, perk=args.perk, now=args.now)
        stdout.write(_answer(decision, store, args, replay_db, one_line=args.code == "-") + "\n")
        stdout.flush()  # a gate waits for this line
        status = GRANTED if decision.granted else REFUSED
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args, sys.stdin.buffer, sys.stdout)
    except CliError as exc:
        print(f"{PROG}: error [{exc.code}]: {exc}", file=sys.stderr)
        return CONFIG_ERROR
    except BrokenPipeError:
        # the reader went away (`| head`): no traceback, and nothing more to write to it at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return OUTPUT_CLOSED
    except KeyboardInterrupt:  # Ctrl-C ends a scanner loop: the shell's usual status, no traceback
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
