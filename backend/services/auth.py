"""Citizen log-in with phone + one-time code, sign-up with recorded consent, access tokens."""
from __future__ import annotations

import functools
import logging
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError

from ..settings import settings
from . import consent as consent_texts
from ..extensions import db, rows_changed
from ..models import AccessToken, Citizen, Consent, LoginCode
from . import crypto, read_conn
from .errors import Conflict, InvalidInput, TryLater, Unavailable
from .secrets_store import CODE_PEPPER, PHONE_PEPPER, get_secret

log = logging.getLogger("perkpass.auth")

E164 = re.compile(r"^\+[1-9][0-9]{6,14}\Z")
CN_MOBILE = re.compile(r"^1[3-9][0-9]{9}\Z")


def normalise_phone(raw: str) -> str | None:
    """E.164 form of a phone number; a bare 11-digit Chinese mobile number gets +86."""
    s = re.sub(r"[\s\-().]", "", raw or "")
    if s.startswith("00"):
        s = "+" + s[2:]
    if CN_MOBILE.match(s):
        s = "+86" + s
    return s if E164.match(s) else None


def citizen_phone(raw: str) -> str:
    """The E.164 phone a citizen typed to log in or join; InvalidInput when it is not a phone number."""
    phone = normalise_phone(raw)
    if phone is None:
        raise InvalidInput("That is not a valid phone number.",
                           {"phone": ["Use international form like +8613800138000."]})
    return phone


def phone_hash(phone: str) -> str:
    return crypto.keyed_hash(get_secret(PHONE_PEPPER), phone)


def _code_hash(p_hash: str, code: str) -> str:
    return crypto.keyed_hash(get_secret(CODE_PEPPER), p_hash + ":" + code)


def sender():
    app = current_app
    s = app.extensions.get("perkpass_sender")
    if s is None:
        from .senders import load_sender
        s = load_sender(settings().sms_sender)
        app.extensions["perkpass_sender"] = s
    return s


def _serialise_phone(p_hash: str) -> None:
    """Make this transaction the only one counting and changing ``p_hash``'s codes until it ends, so
    limits hold across every worker and instance: PostgreSQL takes a transaction-scoped advisory lock
    on the phone; SQLite's first write (which the callers do next) takes the database write lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:h, 74060011))"), {"h": p_hash})


def _rate_limited(retry_after: int, code: str = "rate_limited", message: str | None = None) -> TryLater:
    return TryLater(message or "Too many requests; slow down and retry later.", code=code,
                    retry_after=max(1, int(retry_after)))


def _check_lockout(p_hash: str, now: int) -> None:
    """429 ``locked_out`` when the phone's wrong codes within the lock-out window reach the limit
    (counted in the database, so every worker sees them). A right code gives its try back, so only
    wrong codes count; the lock lifts when those tries age out of the window."""
    cfg = settings()
    window, limit = cfg.login_lockout_seconds, cfg.login_lockout_failures
    if limit <= 0:
        return
    failures, newest = db.session.execute(
        select(func.coalesce(func.sum(LoginCode.attempts), 0), func.max(LoginCode.created_at))
        .where(LoginCode.phone_hash == p_hash, LoginCode.created_at > now - window, LoginCode.attempts > 0)).one()
    if int(failures) >= limit:
        raise _rate_limited(int(newest) + window - now, "locked_out",
                            "Too many wrong codes for this phone; log-in is locked for a while. Retry later.")


def _check_code_requests(p_hash: str, now: int) -> None:
    """The per-phone code-request limits (PERKPASS_RATE_LIMIT_REQUEST_CODE, e.g. "5 per minute;30 per
    hour") counted over the phone's codes in the database: the same count in every worker."""
    from ..http.ratelimit import _items
    for item in _items(settings().rate_limits["request_code"]):
        period = int(item.get_expiry())
        recent = list(db.session.scalars(select(LoginCode.created_at).where(
            LoginCode.phone_hash == p_hash, LoginCode.created_at > now - period)
            .order_by(LoginCode.created_at.desc()).limit(item.amount)))
        if len(recent) >= item.amount:
            raise _rate_limited(recent[-1] + period - now)


def request_code(phone: str, now: int, locale: str = "zh-CN") -> str:
    """Create a code for ``phone`` (older unused codes stop working) and send it. Returns the code.
    429 when the phone is locked out or asked for too many codes (counted in the database)."""
    p_hash = phone_hash(phone)
    code = f"{secrets.randbelow(10 ** 6):06d}"
    _serialise_phone(p_hash)
    db.session.execute(update(LoginCode).where(LoginCode.phone_hash == p_hash, LoginCode.used_at.is_(None))
                       .values(used_at=now))
    try:
        _check_lockout(p_hash, now)
        _check_code_requests(p_hash, now)
    except TryLater:
        db.session.rollback()  # the old code stays valid: nothing was sent
        raise
    row = LoginCode(phone_hash=p_hash, code_hash=_code_hash(p_hash, code), created_at=now,
                    expires_at=now + settings().otp_ttl, attempts=0)
    db.session.add(row)
    db.session.commit()
    try:
        sender().send_code(phone, code, locale)
    except Exception as exc:  # a city's gateway class may fail in any way: the code was not sent
        log.warning("sms_send_failed", extra={"fields": {"type": type(exc).__name__}})
        db.session.delete(row)  # an unsent code neither works nor counts toward the phone's limits
        db.session.commit()
        raise Unavailable("The text-message service is not available; try again in a minute.",
                          code="sms_unavailable", retry_after=60) from exc
    return code


@dataclass
class LoginResult:
    citizen: Citizen
    token: str
    expires_at: int
    created: bool


def _check_code(p_hash: str, code: str, now: int) -> LoginCode:
    _check_lockout(p_hash, now)
    row = db.session.scalars(select(LoginCode).where(
        LoginCode.phone_hash == p_hash, LoginCode.used_at.is_(None), LoginCode.expires_at > now)
        .order_by(LoginCode.id.desc()).limit(1)).first()
    invalid = InvalidInput("The code is wrong or has expired; request a new one.",
                           {"code": ["Wrong or expired code."]},
                           code="invalid_code")
    if row is None:
        raise invalid
    max_attempts = settings().otp_max_attempts
    # Claim a try before comparing, in one conditional UPDATE: however many workers guess at once,
    # at most max_attempts guesses per code ever reach the comparison.
    claimed = rows_changed(update(LoginCode).where(
        LoginCode.id == row.id, LoginCode.used_at.is_(None), LoginCode.attempts < max_attempts)
        .values(attempts=LoginCode.attempts + 1))
    db.session.commit()
    if claimed != 1:
        raise invalid
    if not secrets.compare_digest(row.code_hash, _code_hash(p_hash, code)):
        # burnt after the last try: brute force stops here
        db.session.execute(update(LoginCode).where(LoginCode.id == row.id, LoginCode.attempts >= max_attempts)
                           .values(used_at=now))
        db.session.commit()
        raise invalid
    return row


def login(phone: str, code: str, consent: dict | None, now: int, locale: str | None = None) -> LoginResult:
    p_hash = phone_hash(phone)
    row = _check_code(p_hash, code, now)
    citizen = db.session.scalars(select(Citizen).where(Citizen.phone_hash == p_hash)).first()
    version = settings().consent_version
    if citizen is None and (not consent or consent.get("version") != version or consent.get("accepted") is not True):
        # the code stays valid (its try given back) so the page can show the consent text and submit again
        db.session.execute(update(LoginCode).where(LoginCode.id == row.id).values(attempts=LoginCode.attempts - 1))
        db.session.commit()
        raise InvalidInput("Joining Perkpass needs your consent to the current terms (GET /api/v1/auth/consent).",
                           {"consent": [f"Accept version {version}."]},
                           code="consent_required")
    # claim the code atomically: of two log-ins racing with one code, one gets a token
    # (and give the try back: only wrong codes count towards the lock-out)
    claimed = rows_changed(update(LoginCode).where(LoginCode.id == row.id, LoginCode.used_at.is_(None))
                           .values(used_at=now, attempts=LoginCode.attempts - 1))
    if claimed != 1:
        db.session.rollback()
        raise InvalidInput("The code is wrong or has expired; request a new one.",
                           {"code": ["Wrong or expired code."]},
                           code="invalid_code")
    created = citizen is None
    if citizen is None:
        citizen = Citizen(public_id="c_" + uuid.uuid4().hex[:24], phone_hash=p_hash, phone_hint=phone[-4:],
                          locale=locale or "zh-CN", created_at=now)
        citizen.consents.append(Consent(version=version, accepted_at=now, text_sha256=consent_texts.sha256(version)))
        db.session.add(citizen)
    token, expires_at = _new_token(citizen, now)
    try:
        db.session.commit()
    except IntegrityError:  # the same phone joined in a parallel request with another code
        db.session.rollback()
        raise Conflict("This phone joined in another request just now; log in again.") from None
    return LoginResult(citizen, token, expires_at, created)


def _new_token(citizen: Citizen, now: int) -> tuple[str, int]:
    raw = crypto.random_token("pp_at_")
    expires_at = now + settings().access_token_ttl
    tok = AccessToken(token_hash=crypto.sha256_hex(raw), created_at=now, expires_at=expires_at)
    citizen.tokens.append(tok)
    return raw, expires_at


def issue_token_for(citizen: Citizen, now: int) -> tuple[str, int]:
    """Mint an access token directly (CLI tools and the benchmark; not reachable over HTTP)."""
    raw, exp = _new_token(citizen, now)
    db.session.commit()
    return raw, exp


def _token_stmt():
    from ..models import CitizenScheme, Scheme
    return (select(Citizen.id, Citizen.public_id, Scheme.code, CitizenScheme.score)
            .select_from(AccessToken)
            .join(Citizen, AccessToken.citizen_id == Citizen.id)
            .outerjoin(CitizenScheme, CitizenScheme.citizen_id == Citizen.id)
            .outerjoin(Scheme, Scheme.id == CitizenScheme.scheme_id)
            .where(AccessToken.token_hash == bindparam("token_hash"), AccessToken.expires_at > bindparam("now")))


_TOKEN_SQL: dict[int, tuple] = {}


def _token_sql(engine) -> tuple:
    """The token query compiled once per engine to the driver's SQL and parameter style."""
    cached = _TOKEN_SQL.get(id(engine))
    if cached is None or cached[0] is not engine:
        compiled = _token_stmt().compile(dialect=engine.dialect)
        order = tuple(compiled.positiontup) if compiled.positional else None
        cached = _TOKEN_SQL[id(engine)] = (engine, str(compiled), order)
    return cached


@functools.lru_cache(maxsize=8)
def _pg_positional(sql: str) -> str:
    """The compiled statement with libpq's $n placeholders (token hash, then now) for PQprepare."""
    out = sql.replace("%(token_hash)s", "$1").replace("%(now)s", "$2")
    if "%(" in out or "$1" not in out or "$2" not in out:
        raise RuntimeError("unexpected parameters in the compiled token query")
    return out


def citizen_for_token(raw: str, now: int) -> tuple[int, str, list[tuple[str, int]]] | None:
    """(citizen id, public id, [(scheme code, score)]) of a valid access token.

    The hot path of every citizen request, so it skips the ORM: one indexed query (token -> citizen ->
    memberships), compiled once by SQLAlchemy, run on this thread's autocommit read connection
    (services/read_conn.py; an in-memory SQLite database keeps its pooled connection)."""
    engine = db.engine
    _e, sql, order = _token_sql(engine)
    params: dict[str, Any] = {"token_hash": crypto.sha256_hex(raw), "now": now}
    args = tuple(params[k] for k in order) if order is not None else params
    rows: Sequence[Any]
    if engine.dialect.name == "postgresql":
        found: Sequence[tuple[Any, ...]] = read_conn.fetch_prepared(
            engine, "perkpass_token_lookup", _pg_positional(sql), (params["token_hash"], str(now)))
        rows = [(int(r[0]), r[1], r[2], None if r[3] is None else int(r[3])) for r in found]
    elif read_conn.applies(engine):
        rows = read_conn.fetch_all(engine, sql, args)
    else:
        conn = engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute(sql, args)
            rows = cur.fetchall()
            cur.close()
        finally:
            conn.close()  # back to the pool
    if not rows:
        return None
    memberships = [(r[2], r[3]) for r in rows if r[2] is not None]
    return rows[0][0], rows[0][1], memberships


def logout(raw: str) -> None:
    db.session.query(AccessToken).filter(AccessToken.token_hash == crypto.sha256_hex(raw)).delete()
    db.session.commit()


def purge_expired(now: int) -> int:
    n = db.session.query(AccessToken).filter(AccessToken.expires_at <= now).delete()
    n += db.session.query(LoginCode).filter(LoginCode.expires_at <= now - 86400).delete()
    db.session.commit()
    return n
