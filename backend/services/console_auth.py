"""Console accounts: Argon2id passwords, a TOTP second factor (RFC 6238), lock-out after failures,
sessions that expire, and the audit of every sign-in and account change.

Everything takes ``now`` (epoch seconds); nothing reads the clock. Audit entries go to the ledger's
append-only, hash-chained log (:func:`backend.services.ledger.audit`) with the account as actor.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import case, func, or_, select, update

from ..settings import settings
from ..extensions import db, rows_changed
from ..models.console import ConsoleAccount, ConsoleSession
from . import crypto
from .errors import Conflict, Forbidden, InvalidInput, Locked, NotFound, Unauthenticated

ROLES = ("operator", "reviewer")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}\Z")
MIN_PASSWORD = 12
TOTP_STEP = 30
TOTP_DIGITS = 6
TOTP_WINDOW = 1          # accept the previous and the next 30 s step too (phone clocks drift)
MAX_FAILURES = 5         # wrong password or wrong code this many times in a row: locked
LOCK_SECONDS = 15 * 60

_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory parameters (t=3, 64 MiB, p=4)
# verified against when the username is unknown, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


# ------------------------------------------------------------------------------------------- TOTP

def new_totp_secret() -> str:
    """160 random bits in base32 without padding (what authenticator apps expect)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _b32(secret: str) -> bytes:
    s = secret.strip().replace(" ", "").upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def totp_at(secret: str, step: int) -> str:
    """The RFC 6238 code (HMAC-SHA1, 6 digits) for time step ``step`` = floor(t / 30)."""
    mac = hmac.new(_b32(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** TOTP_DIGITS).zfill(TOTP_DIGITS)


def totp_now(secret: str, now: int) -> str:
    return totp_at(secret, int(now) // TOTP_STEP)


def totp_match(secret: str, code: str, now: int) -> int | None:
    """The time step ``code`` belongs to (within the window), or None."""
    code = (code or "").strip().replace(" ", "")
    if not (len(code) == TOTP_DIGITS and code.isdigit()):
        return None
    step = int(now) // TOTP_STEP
    for s in range(step - TOTP_WINDOW, step + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp_at(secret, s), code):
            return s
    return None


def otpauth_uri(username: str, secret: str, issuer: str = "Perkpass console") -> str:
    from urllib.parse import quote
    return (f"otpauth://totp/{quote(issuer)}:{quote(username)}?secret={secret}&issuer={quote(issuer)}"
            f"&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP}")


def _seal(secret: str, username: str) -> str:
    cfg = settings()
    return crypto.encrypt(cfg.key_passphrase, secret.encode("ascii"),
                          aad=b"console-totp:" + username.encode(), cost=cfg.kdf_cost)


def account_totp_secret(acc: ConsoleAccount) -> str:
    return crypto.decrypt(settings().key_passphrase, acc.totp_secret,
                          aad=b"console-totp:" + acc.username.encode()).decode("ascii")


# ------------------------------------------------------------------------------------------- accounts

def _audit(actor: str, action: str, target_ref, details: dict, now: int) -> None:
    from .ledger import audit
    role, _, name = actor.partition(":")
    audit(role if role in ROLES else "operator", ("console:" + name) if name else actor, action, "console_account",
          target_ref, details, now)


def check_password_strength(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD or len(password) > 256:
        raise InvalidInput(f"A password needs {MIN_PASSWORD} to 256 characters.",
                           {"password": [f"At least {MIN_PASSWORD} characters."]},
                           code="weak_password")
    if len(set(password)) < 5:
        raise InvalidInput("This password repeats too few characters.",
                           {"password": ["Use more different characters."]},
                           code="weak_password")


@dataclass
class NewAccount:
    account: ConsoleAccount
    password: str        # shown once (generated when none was given)
    totp_secret: str     # shown once, for the authenticator app
    otpauth_uri: str


def create_account(username: str, role: str, now: int, *, password: str | None = None,
                   actor: str = "cli") -> NewAccount:
    """Create an operator or reviewer account. A reviewer account gets its own ledger reviewer row."""
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise InvalidInput("A username is 2-64 lower-case letters, digits, '.', '_' or '-'.",
                           {"username": ["Like 'li.wei'."]})
    if role not in ROLES:
        raise InvalidInput("role must be operator or reviewer.", {"role": list(ROLES)})
    if db.session.scalars(select(ConsoleAccount).where(ConsoleAccount.username == username)).first() is not None:
        raise Conflict(f"An account named {username!r} already exists.", {"username": ["Taken."]})
    if password is None:
        password = secrets.token_urlsafe(15)
    check_password_strength(password)
    secret = new_totp_secret()
    acc = ConsoleAccount(username=username, role=role, password_hash=_hasher.hash(password),
                         totp_secret=_seal(secret, username), failed_attempts=0, created_at=now)
    if role == "reviewer":
        acc.reviewer = _reviewer_row(username, now)
    db.session.add(acc)
    db.session.flush()
    _audit(actor, "console.account_created", acc.id, {"username": username, "role": role}, now)
    db.session.commit()
    return NewAccount(acc, password, secret, otpauth_uri(username, secret))


def _reviewer_row(username: str, now: int):
    """The ledger's reviewer for a console reviewer. Its bearer token is random and never shown: the
    person decides through the console, signed in with password and code."""
    from ..models import Reviewer
    name = f"console:{username}"
    r = db.session.scalars(select(Reviewer).where(Reviewer.name == name)).first()
    if r is None:
        r = Reviewer(name=name, token_hash=crypto.sha256_hex(crypto.random_token("pp_rv_")), created_at=now)
        db.session.add(r)
        db.session.flush()
    return r


def account_dict(a: ConsoleAccount, now: int) -> dict:
    return {"id": a.id, "username": a.username, "role": a.role, "created_at": a.created_at,
            "last_login_at": a.last_login_at, "disabled_at": a.disabled_at,
            "locked": bool(a.locked_until and a.locked_until > now), "locked_until": a.locked_until,
            "failed_attempts": a.failed_attempts}


def list_accounts(now: int) -> list[dict]:
    return [account_dict(a, now) for a in db.session.scalars(select(ConsoleAccount).order_by(ConsoleAccount.id))]


def _account(account_id: int) -> ConsoleAccount:
    a = db.session.get(ConsoleAccount, account_id) if 0 < account_id <= 2 ** 31 - 1 else None
    if a is None:
        raise NotFound("No such account.")
    return a


def disable_account(account_id: int, now: int, actor: str, *, by_account_id: int | None = None) -> ConsoleAccount:
    """Disable an account (its sessions end, its reviewer token is revoked). Conflict when ``by_account_id``,
    the person doing it, is that account: the last operator must not lock everyone out."""
    if by_account_id is not None and by_account_id == account_id:
        raise Conflict("You cannot disable your own account.")
    a = _account(account_id)
    if a.disabled_at is None:
        a.disabled_at = now
        for s in db.session.scalars(select(ConsoleSession).where(ConsoleSession.account_id == a.id,
                                                                 ConsoleSession.ended_at.is_(None))):
            s.ended_at = now
        if a.reviewer is not None and a.reviewer.revoked_at is None:
            a.reviewer.revoked_at = now
        _audit(actor, "console.account_disabled", a.id, {"username": a.username}, now)
        db.session.commit()
    return a


def unlock_account(account_id: int, now: int, actor: str) -> ConsoleAccount:
    a = _account(account_id)
    a.failed_attempts, a.locked_until = 0, None
    _audit(actor, "console.account_unlocked", a.id, {"username": a.username}, now)
    db.session.commit()
    return a


# ------------------------------------------------------------------------------------------- sign-in

@dataclass
class Session:
    account: ConsoleAccount
    row: ConsoleSession
    token: str | None = None   # the cookie value, only right after sign-in
    csrf: str | None = None    # the CSRF token, only right after sign-in


def _idle() -> int:
    return settings().console_idle_seconds


def _max_age() -> int:
    return settings().console_session_seconds


def _bad_credentials() -> Unauthenticated:
    return Unauthenticated("Wrong username, password or code.", code="invalid_credentials")


def _claim_step(account_id: int, step: int, now: int) -> bool:
    """Sign in with TOTP step ``step``: True for the one request whose UPDATE moves the account's last used
    step forward (and clears its failures), False when that step or a later one was used already or the
    account was locked meanwhile."""
    t = ConsoleAccount.__table__
    return rows_changed(
        update(t).where(t.c.id == account_id, or_(t.c.totp_last_step.is_(None), t.c.totp_last_step < step),
                        or_(t.c.locked_until.is_(None), t.c.locked_until <= now))
        .values(totp_last_step=step, failed_attempts=0, locked_until=None, last_login_at=now)) == 1


def _count_failure(account_id: int, now: int) -> bool:
    """Count one failed sign-in in the database (an increment, not a read and a write); the failure that
    reaches MAX_FAILURES locks the account for LOCK_SECONDS. True when this one locked it."""
    t = ConsoleAccount.__table__
    reaches = func.coalesce(t.c.failed_attempts, 0) + 1 >= MAX_FAILURES
    failures, locked_until = db.session.execute(
        update(t).where(t.c.id == account_id)
        .values(failed_attempts=case((reaches, 0), else_=func.coalesce(t.c.failed_attempts, 0) + 1),
                locked_until=case((reaches, now + LOCK_SECONDS), else_=t.c.locked_until))
        .returning(t.c.failed_attempts, t.c.locked_until)).one()
    return failures == 0 and locked_until == now + LOCK_SECONDS


def sign_in(username: str, password: str, code: str, now: int) -> Session:
    """Check password and TOTP code. Five failures in a row lock the account for 15 minutes; a locked
    account is refused even with the right password (and the attempt does not extend the lock)."""
    username = (username or "").strip().lower()[:64]
    acc = db.session.scalars(select(ConsoleAccount).where(ConsoleAccount.username == username)).first() \
        if username else None
    if acc is None or acc.disabled_at is not None:
        try:
            _hasher.verify(_DUMMY_HASH, password or "x")
        except VerificationError:
            pass
        raise _bad_credentials()
    if acc.locked_until is not None and acc.locked_until > now:
        raise Locked("Too many failed sign-ins: this account is locked for a while; an operator can unlock it.",
                     {"locked_until": [str(acc.locked_until)]}, code="account_locked",
                     retry_after=acc.locked_until - now)
    ok = False
    try:
        ok = _hasher.verify(acc.password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    step = totp_match(account_totp_secret(acc), code, now) if ok else None
    # Both outcomes are single conditional UPDATEs on the account row, so they hold across every worker and
    # instance: a code signs in once (the row's totp_last_step only moves forward, and only the statement
    # that moves it signs in), and every failure is counted even when several arrive at once.
    if step is not None and not _claim_step(acc.id, step, now):
        step = None  # used already, perhaps a moment ago by a parallel request: refused like a wrong code
    if not ok or step is None:
        locked = _count_failure(acc.id, now)
        _audit(f"{acc.role}:{acc.username}", "console.sign_in_failed", acc.id,
               {"why": "password" if not ok else "code", "locked": locked}, now)
        db.session.commit()
        raise _bad_credentials()
    db.session.refresh(acc)
    if _hasher.check_needs_rehash(acc.password_hash):
        acc.password_hash = _hasher.hash(password)
    token, csrf = crypto.random_token("pp_cs_"), secrets.token_urlsafe(24)
    row = ConsoleSession(account_id=acc.id, token_hash=crypto.sha256_hex(token), csrf_hash=crypto.sha256_hex(csrf),
                         created_at=now, last_seen_at=now, expires_at=now + _max_age())
    db.session.add(row)
    db.session.flush()
    _audit(f"{acc.role}:{acc.username}", "console.signed_in", acc.id, {"session": row.id}, now)
    db.session.commit()
    return Session(acc, row, token, csrf)


def session_for_token(token: str | None, now: int) -> Session | None:
    """The live session for a cookie value; an expired or idle one is ended on the way."""
    if not token or not token.startswith("pp_cs_") or len(token) > 200:
        return None
    row = db.session.scalars(select(ConsoleSession).where(
        ConsoleSession.token_hash == crypto.sha256_hex(token))).first()
    if row is None or row.ended_at is not None:
        return None
    acc = row.account
    if now >= row.expires_at or now - row.last_seen_at >= _idle() or acc.disabled_at is not None:
        row.ended_at = now
        db.session.commit()
        return None
    if now - row.last_seen_at >= 30:  # one write per half minute is enough to measure idleness
        row.last_seen_at = now
        db.session.commit()
    return Session(acc, row)


def require_role(s: Session, role: str) -> None:
    """A reviewer never manages keys, an operator never reads a case: Forbidden unless ``s`` has ``role``."""
    if s.account.role != role:
        raise Forbidden(f"This screen is for the {role} role.")


def reviewer_of(s: Session):
    """The reviewer record a review decision is made under; Forbidden for an account without one."""
    if s.account.reviewer is None:
        raise Forbidden("This account has no reviewer record.")
    return s.account.reviewer


def csrf_ok(s: Session, header_value: str | None) -> bool:
    if not header_value:
        return False
    return hmac.compare_digest(s.row.csrf_hash, crypto.sha256_hex(header_value))


def new_csrf(s: Session) -> str:
    """A fresh CSRF token for a page reload (the old one stops working)."""
    csrf = secrets.token_urlsafe(24)
    s.row.csrf_hash = crypto.sha256_hex(csrf)
    db.session.commit()
    return csrf


def sign_out(s: Session, now: int) -> None:
    if s.row.ended_at is None:
        s.row.ended_at = now
        _audit(f"{s.account.role}:{s.account.username}", "console.signed_out", s.account.id, {"session": s.row.id}, now)
        db.session.commit()


def change_password(s: Session, old: str, new: str, now: int) -> None:
    try:
        _hasher.verify(s.account.password_hash, old or "")
    except (VerificationError, InvalidHashError):
        raise InvalidInput("The current password is wrong.", {"old_password": ["Wrong."]},
                           code="invalid_credentials") from None
    check_password_strength(new)
    s.account.password_hash = _hasher.hash(new)
    for other in db.session.scalars(select(ConsoleSession).where(ConsoleSession.account_id == s.account.id,
                                                                 ConsoleSession.ended_at.is_(None),
                                                                 ConsoleSession.id != s.row.id)):
        other.ended_at = now  # a changed password signs out every other browser
    _audit(f"{s.account.role}:{s.account.username}", "console.password_changed", s.account.id, {}, now)
    db.session.commit()
