"""Ed25519 key management: encrypted at rest, published before signing, retired gracefully.

Life of a signing key::

    created (published in the trust list) -> activates_at (starts signing)
      -> signs_until (a successor activated, or retired) -> not_after (dropped from the trust list)

``not_after`` = ``signs_until`` + credential lifetime + clock leeway, so every credential a key
signed has expired before verifiers forget the key. The root key (role ``root``) only signs the
trust list and is never used for credentials.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy import select

from partner_sdk import TrustedKey, load_public_key
from partner_sdk.keys import generate_key, public_jwk
from partner_sdk.trust import build_root_statement

from ..settings import settings
from ..extensions import db
from ..models import SigningKey
from . import crypto

SIGNING = "signing"
ROOT = "root"

_private_cache: dict[tuple[str, str], Ed25519PrivateKey] = {}
_lock = threading.Lock()


class KeyError_(RuntimeError):
    """A key operation is not possible (no active key, unknown kid, ...)."""


def _passphrase() -> str:
    return settings().key_passphrase


def _grace() -> int:
    # a retired key stays published until everything it signed has expired: PP1 codes (seconds) and
    # PP2 perk certificates (a day by default) that phones keep using offline
    cfg = settings()
    longest = max(cfg.credential_lifetime, cfg.certificate_lifetime)
    return longest + cfg.clock_leeway * 2 + 60


def _raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def _raw_public(key) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _cli_safe(kid: str) -> bool:
    # A base64url thumbprint starts with "-" one time in 64; an operator then cannot type
    # ``flask keys retire <kid>`` because the shell word reads as an option. Draw another key.
    return not kid.startswith("-")


def _new_key_and_kid() -> tuple[Ed25519PrivateKey, str]:
    while True:
        key = generate_key()
        kid = public_jwk(key).get("kid") or crypto.sha256_hex(_raw_public(key.public_key()))[:16]
        if _cli_safe(kid):
            return key, kid


def _new_row(role: str, now: int, activates_at: int) -> SigningKey:
    key, kid = _new_key_and_kid()
    if role == ROOT:
        kid = "root-" + kid
    row = SigningKey(kid=kid, role=role, public_x=crypto.b64url(_raw_public(key.public_key())),
                     encrypted_private=crypto.encrypt(_passphrase(), _raw_private(key), aad=kid.encode(),
                                                     cost=settings().kdf_cost),
                     created_at=now, activates_at=activates_at)
    _private_cache[(row.kid, row.public_x)] = key
    return row


def private_key(row: SigningKey) -> Ed25519PrivateKey:
    cache_key = (row.kid, row.public_x)
    key = _private_cache.get(cache_key)
    if key is None:
        raw = crypto.decrypt(_passphrase(), row.encrypted_private, aad=row.kid.encode())
        key = Ed25519PrivateKey.from_private_bytes(raw)
        if crypto.b64url(_raw_public(key.public_key())) != row.public_x:
            raise KeyError_(f"key {row.kid}: decrypted private key does not match the stored public key")
        _private_cache[cache_key] = key
    return key


def public_key(row: SigningKey):
    return load_public_key(crypto.unb64url(row.public_x))


def jwk(row: SigningKey) -> dict:
    out = dict(public_jwk(public_key(row), kid=row.kid))
    out.setdefault("kid", row.kid)
    out["use"] = "sig"
    out["alg"] = "EdDSA"
    return out


def state(row: SigningKey, now: int) -> str:
    if row.role == ROOT:
        return "root" if row.retired_at is None else "retired root"
    if row.compromised_at is not None:
        return "compromised"
    if row.not_after is not None and now >= row.not_after:
        return "expired"
    if row.signs_until is not None and now >= row.signs_until:
        return "retiring"
    if row.signs_until is not None and row.signs_until <= row.activates_at:
        return "superseded"
    if now < row.activates_at:
        return "pending"
    return "active"


def invalidate_cache() -> None:
    current_app.extensions.pop("perkpass_key_cache", None)
    current_app.extensions.pop("perkpass_active_key", None)


def _rows(fresh: bool = False) -> list[SigningKey]:
    """All signing-role keys, cached per worker for PERKPASS_KEY_CACHE_SECONDS (issuance), or read
    now (``fresh``: the trust list and the JWKS must never lag behind a rotation)."""
    ttl = settings().key_cache_seconds
    mono = time.monotonic()
    cached = current_app.extensions.get("perkpass_key_cache")
    if not fresh and cached is not None and ttl > 0 and mono - cached[0] < ttl:
        return cached[1]
    rows = list(db.session.scalars(select(SigningKey).where(SigningKey.role == SIGNING).order_by(SigningKey.id)))
    for r in rows:
        db.session.expunge(r)  # detached snapshot shared by requests
    current_app.extensions["perkpass_key_cache"] = (mono, rows)
    return rows


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    private: Ed25519PrivateKey


def current_signing_key(now: int) -> ActiveKey:
    rows = _rows()
    # The choice only changes when some key activates or stops signing: remember it until then for
    # this snapshot of the key table (every issuance asks; the table is re-read every few seconds).
    memo = current_app.extensions.get("perkpass_active_key")
    if memo is not None and memo[0] is rows and memo[1] <= now < memo[2]:
        return memo[3]
    active = _choose(rows, now)
    edges = [r.activates_at for r in rows if r.activates_at > now]
    edges += [r.signs_until for r in rows if r.signs_until is not None and r.signs_until > now]
    current_app.extensions["perkpass_active_key"] = (rows, now, min(edges, default=float("inf")), active)
    return active


def _choose(rows: list[SigningKey], now: int) -> ActiveKey:
    best = None
    for r in rows:
        usable = r.activates_at <= now and (r.signs_until is None or now < r.signs_until) and r.compromised_at is None
        if usable and (best is None or r.activates_at > best.activates_at):
            best = r
    if best is None:
        raise KeyError_("no signing key is active; run `flask --app backend keys rotate --now`")
    return ActiveKey(best.kid, private_key(best))


def published(now: int) -> list[SigningKey]:
    return [r for r in _rows(fresh=True) if r.not_after is None or now < r.not_after]


def trusted_keys(now: int, rows: list[SigningKey] | None = None) -> list:
    max_age = settings().signing_key_max_age
    out = []
    for r in (rows if rows is not None else published(now)):
        not_after = r.not_after if r.not_after is not None else r.activates_at + max_age
        out.append(TrustedKey(kid=r.kid, public_key=public_key(r), not_before=r.activates_at, not_after=not_after,
                              revoked_at=r.compromised_at))
    return out


def root(now: int | None = None) -> tuple[SigningKey, Ed25519PrivateKey]:
    row = db.session.scalars(select(SigningKey).where(SigningKey.role == ROOT, SigningKey.retired_at.is_(None))
                             .order_by(SigningKey.id.desc())).first()
    if row is None:
        raise KeyError_("no root key; run `flask --app backend init-db`")
    return row, private_key(row)


def root_rows() -> list[SigningKey]:
    """Every root key, oldest first: the root of version N is the N-th."""
    return list(db.session.scalars(select(SigningKey).where(SigningKey.role == ROOT).order_by(SigningKey.id)))


def root_chain() -> list[str]:
    """The root statements from the first root to the current one (empty before the first rotation)."""
    return [r.root_statement for r in root_rows()[1:] if r.root_statement]


def rotate_root(now: int) -> SigningKey:
    """Replace the root key: the current root signs a statement announcing the new one (root N+1 signed
    by root N), the new root signs every trust list from now on and carries the chain, so verifiers that
    pinned any earlier root follow it on their next sync. The old root then signs nothing more."""
    rows = root_rows()
    old_row, old_priv = root(now)
    new = _new_row(ROOT, now, now)
    new.root_statement = build_root_statement(
        old_root=old_priv, new_root=public_key_of(new), issuer=settings().issuer,
        version=len(rows) + 1, now=now, old_kid=old_row.kid, new_kid=new.kid)
    old_row.retired_at = now
    db.session.add(new)
    db.session.commit()
    invalidate_cache()
    return new


def public_key_of(row: SigningKey):
    return load_public_key(crypto.unb64url(row.public_x))


def compromise(kid: str, now: int, at: int | None = None) -> tuple[SigningKey, SigningKey | None]:
    """Key-compromise drill: stop believing signing key ``kid`` from instant ``at`` (default now).

    A fresh key starts signing at once if ``kid`` was signing (citizens' pages get codes under it on
    their next refresh); ``kid`` stays in the trust list marked ``revoked_at`` = ``at`` for
    PERKPASS_COMPROMISED_KEY_LISTED seconds, so verifiers answer REVOKED for every code it signed - even
    one whose ``iat`` a thief backdated - instead of forgetting the key. Returns (row, new key or None)."""
    at = now if at is None else int(at)
    if at > now:
        raise KeyError_("the compromise instant cannot be in the future")
    row = db.session.scalars(select(SigningKey).where(SigningKey.kid == kid)).first()
    if row is None:
        raise KeyError_(f"unknown key {kid!r}")
    if row.role != SIGNING:
        raise KeyError_("only signing keys are handled this way (a root key: `keys rotate-root`)")
    new = None
    signing_now = row.activates_at <= now and (row.signs_until is None or row.signs_until > now)
    pending_successor = any(
        r.id != row.id and r.compromised_at is None and r.activates_at > now
        for r in db.session.scalars(select(SigningKey).where(SigningKey.role == SIGNING)))
    if signing_now or pending_successor:
        new = rotate(now, 0)  # also overtakes a pending successor, which then never signs
    row = db.session.get_one(SigningKey, row.id)
    listed_for = settings().compromised_key_listed
    row.compromised_at = at if row.compromised_at is None else min(row.compromised_at, at)
    row.retired_at = row.retired_at or now
    row.signs_until = min(row.signs_until if row.signs_until is not None else now, now)
    row.not_after = max(row.not_after or 0, now + listed_for)
    db.session.commit()
    invalidate_cache()
    return row, new


def ensure_keys(now: int) -> list[str]:
    """Create the root key and a first signing key if missing (used by init-db). Returns created kids."""
    created = []
    with _lock:
        has_root = db.session.scalars(select(SigningKey.id).where(SigningKey.role == ROOT)).first()
        if has_root is None:
            row = _new_row(ROOT, now, now)
            db.session.add(row)
            created.append(row.kid)
        has_signing = db.session.scalars(select(SigningKey.id).where(
            SigningKey.role == SIGNING, SigningKey.signs_until.is_(None))).first()
        if has_signing is None:
            # first key: nothing can have cached a trust list without it, so it is active at once
            row = _new_row(SIGNING, now, now)
            db.session.add(row)
            created.append(row.kid)
        db.session.commit()
    invalidate_cache()
    return created


def rotate(now: int, activate_in: int | None = None) -> SigningKey:
    """Publish a new signing key now; it starts signing after ``activate_in`` seconds (default
    PERKPASS_KEY_ACTIVATION_DELAY, the time verifiers need to fetch the new trust list). Keys that
    would still sign after that moment stop signing then and stay published for the grace period."""
    if activate_in is None:
        activate_in = settings().key_activation_delay
    if activate_in < 0:
        raise KeyError_("activation delay cannot be negative")
    activates_at = now + activate_in
    new = _new_row(SIGNING, now, activates_at)
    for r in db.session.scalars(select(SigningKey).where(SigningKey.role == SIGNING)):
        if r.signs_until is None or r.signs_until > activates_at:
            if r.activates_at > now and r.activates_at >= activates_at:
                # a pending key overtaken by this one: it never signs, so it leaves the trust list now
                r.signs_until = r.activates_at
                r.not_after = now
            else:
                r.signs_until = activates_at
                r.not_after = activates_at + _grace()
    db.session.add(new)
    db.session.commit()
    invalidate_cache()
    return new


def retire(kid: str, now: int, *, force: bool = False, compromised: bool = False) -> SigningKey:
    """Stop a signing key now. It stays in the trust list until its credentials expired, unless
    ``compromised`` (then it is dropped at once and its outstanding codes stop verifying)."""
    row = db.session.scalars(select(SigningKey).where(SigningKey.kid == kid)).first()
    if row is None:
        raise KeyError_(f"unknown key {kid!r}")
    if row.role == ROOT:
        raise KeyError_("the root key cannot be retired this way")
    if not force:
        others = [r for r in db.session.scalars(select(SigningKey).where(
            SigningKey.role == SIGNING, SigningKey.id != row.id))
            if r.activates_at <= now and (r.signs_until is None or r.signs_until > now)]
        signing_now = row.activates_at <= now and (row.signs_until is None or row.signs_until > now)
        if signing_now and not others:
            raise KeyError_("this is the only key signing now: rotate first (`keys rotate --now`) or pass --force")
    if row.signs_until is None or row.signs_until > now:
        row.signs_until = now
    row.retired_at = now
    row.not_after = now if compromised else min(row.not_after or (now + _grace()), now + _grace())
    if row.not_after < now:
        row.not_after = now
    db.session.commit()
    invalidate_cache()
    return row


def listing(now: int) -> list[dict]:
    rows = list(db.session.scalars(select(SigningKey).order_by(SigningKey.id)))
    return [{
        "kid": r.kid, "role": r.role, "state": state(r, now), "created_at": r.created_at,
        "activates_at": r.activates_at, "signs_until": r.signs_until, "not_after": r.not_after,
        "retired_at": r.retired_at, "published": r.role == SIGNING and (r.not_after is None or now < r.not_after),
        "compromised_at": r.compromised_at,
    } for r in rows]
