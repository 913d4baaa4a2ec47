"""Offline verification: a scanned text in, a typed :class:`Decision` out. Never raises on a bad code."""

from __future__ import annotations

import functools
import logging
import time
from datetime import datetime
from typing import Any, NamedTuple

from jwt.algorithms import OKPAlgorithm

from . import format as fmt
from . import keyprofile, pp2, pp3, venue_policy
from .messages import CATALOGUE
from .replay import MemoryReplayCache, ReplayCache
from .status import Status as Status  # re-exported: partner_sdk.verify.Status is public
from .trust import TrustList, TrustStore

log = logging.getLogger("partner_sdk.verify")


# What a member of staff reads, (English, Chinese): the catalogue's staff texts (partner_sdk.messages), kept
# under this name because integrators import it.
MESSAGES: dict[Status, tuple[str, str]] = {s: (t.staff.en, t.staff.zh) for s, t in CATALOGUE.items()}


class Decision(NamedTuple):
    """The answer to one scan. Carries no score and no band unless the credential discloses one.

    Immutable. A NamedTuple rather than a frozen dataclass because a verifier builds one per scan and a
    frozen dataclass spends ~3 µs on ``object.__setattr__`` per field (measured by bench/verify.py).
    """

    status: Status
    perks: tuple[str, ...] = ()
    pseudonym: str | None = None
    jti: str | None = None
    issuer: str | None = None
    audience: str | None = None
    scheme: str | None = None
    band: str | None = None
    issued_at: int | None = None
    expires_at: int | None = None
    kid: str | None = None
    detail: str = ""

    @property
    def granted(self) -> bool:
        return self.status is Status.GRANTED

    @property
    def message(self) -> str:
        return MESSAGES[self.status][0]

    @property
    def message_zh(self) -> str:
        return MESSAGES[self.status][1]

    def to_dict(self) -> dict[str, Any]:
        d = self._asdict()
        d["status"] = self.status.value
        d["perks"] = list(self.perks)
        d["granted"] = self.granted
        d["message"] = self.message
        d["message_zh"] = self.message_zh
        return d


class Verifier:
    """Verifies codes for one audience (venue type) against a :class:`TrustStore`, fully offline.

    ``leeway`` (seconds) absorbs clock drift between the phone's issuer and this device.
    ``issuer``, when given, must equal the trust list's issuer (defence against a mixed-up store).
    ``reuse_interval`` (PP2, seconds): how long a granted certificate is refused as ``REPLAYED`` for the same
    perk; default the venue type's policy in the trust list (:mod:`partner_sdk.venue_policy`), never below
    ``2 x (presentation_window + leeway)``. A perk's own usage rule in the list ("once a day") lengthens it.

    The venue type's policy comes from the trust list held at each scan (:attr:`policy`): its grace after
    ``next_update``, its reuse intervals. A venue type the list has no policy for gets the safest answer, and
    the verifier logs that once per list.
    """

    def __init__(
        self,
        trust_store: TrustStore,
        audience: str,
        replay_cache: ReplayCache | None = None,
        leeway: int = 5,
        issuer: str | None = None,
        presentation_window: int = pp2.DEFAULT_PRESENTATION_WINDOW,
        reuse_interval: int | None = None,
    ) -> None:
        if not fmt.AUDIENCE_RE.match(audience or ""):
            raise ValueError(f"bad audience {audience!r}")
        if not (0 <= leeway <= fmt.MAX_LEEWAY):
            raise ValueError(f"leeway must be 0..{fmt.MAX_LEEWAY} seconds")
        self.trust_store = trust_store
        self.audience = audience
        self.replay_cache: ReplayCache = replay_cache if replay_cache is not None else MemoryReplayCache()
        self.leeway = leeway
        self.issuer = issuer
        if not (type(presentation_window) is int and 5 <= presentation_window <= pp2.MAX_PRESENTATION_WINDOW):
            raise ValueError(f"presentation_window must be 5..{pp2.MAX_PRESENTATION_WINDOW} seconds")
        self.presentation_window = presentation_window
        # PP2: after a grant, the same certificate (for the same perk) is REPLAYED for this long. Never less
        # than the time any presentation dated around the grant can still be accepted, 2 x (window + leeway).
        floor = pp2.min_reuse_interval(presentation_window, leeway)
        if reuse_interval is not None and not (
                type(reuse_interval) is int and floor <= reuse_interval <= pp2.MAX_REUSE_INTERVAL):
            raise ValueError(f"reuse_interval must be {floor}..{pp2.MAX_REUSE_INTERVAL} seconds "
                             f"(at least 2 x (presentation window + leeway))")
        self._reuse_floor = floor
        self._reuse_override = reuse_interval
        self._kid_refs: tuple[object, dict[bytes, list[Any]]] = (None, {})
        # the trust list these were worked out for: (list, policy, stop granting at, venue type's reuse interval)
        self._policy_state: tuple[object, venue_policy.VenuePolicy, float, int] = (None, *self._policy_of(None))

    def _policy_of(self, trust: TrustList | None) -> tuple[venue_policy.VenuePolicy, float, int]:
        policy = venue_policy.policy_for(trust.venue_types if trust is not None else None, self.audience)
        stop = venue_policy.stop_at(policy, trust.next_update, trust.expires_at) if trust is not None else 0.0
        reuse = self._reuse_override if self._reuse_override is not None else max(policy.reuse_interval,
                                                                                  self._reuse_floor)
        return policy, stop, reuse

    def _policy_for(self, trust: TrustList) -> tuple[object, venue_policy.VenuePolicy, float, int]:
        state = self._policy_state
        if state[0] is not trust:  # a newly loaded list: once per list, not per scan
            state = self._policy_state = (trust, *self._policy_of(trust))
            if state[1].source is venue_policy.PolicySource.NOT_LISTED:
                log.warning("%s (trust list #%s)", state[1].describe(), trust.sequence)
        return state

    @property
    def policy(self) -> venue_policy.VenuePolicy:
        """This venue type's policy under the trust list held now (says where it came from: ``source``)."""
        trust = self.trust_store.current
        return self._policy_for(trust)[1] if trust is not None else self._policy_state[1]

    @property
    def reuse_interval(self) -> int:
        """Seconds a granted PP2 certificate is refused for the same perk (a perk's own rule may lengthen it)."""
        trust = self.trust_store.current
        return self._policy_for(trust)[3] if trust is not None else self._policy_state[3]

    def policy_answer(self, now: int | float | datetime | None = None) -> venue_policy.PolicyAnswer | None:
        """Fresh, grace or stopped under this venue type's policy (None without a trust list)."""
        trust = self.trust_store.current
        if trust is None:
            return None
        t = time.time() if now is None else fmt.to_epoch(now)
        return venue_policy.evaluate(self._policy_for(trust)[1], trust.next_update, trust.expires_at, t)

    def verify(self, qr_text: Any, perk: str | None = None, now: int | float | datetime | None = None) -> Decision:
        """Decide on one scanned code. ``perk`` asks for one specific perk; None accepts any perk in the code.

        Never raises on what a citizen shows. Raises :class:`InvalidClockError` when ``now`` is not a usable
        time (NaN, infinite, a bool, a naive datetime, negative): a caller's bug must not become a grant.
        """
        # Checked once, here, outside the catch-all: every format path below gets a finite float.
        if now is None:
            now = time.time()
        elif (type(now) is not float and type(now) is not int) or not (0 <= now < fmt.MAX_EPOCH):
            now = fmt.to_epoch(now)  # datetimes; raises for NaN (fails the range test), inf, bools, …
        else:
            now = float(now)
        try:
            return self._verify(qr_text, perk, now)
        except Exception as exc:  # last line of defence: a scan must never crash a gate
            log.exception("unexpected error while verifying a code")
            return Decision(Status.MALFORMED, detail=f"internal: {type(exc).__name__}")

    def _verify(self, qr_text: Any, perk: str | None, now: float) -> Decision:
        if type(qr_text) is not str:  # one check on the common path
            if isinstance(qr_text, (bytes, bytearray)):
                if len(qr_text) > fmt.MAX_QR_TEXT:
                    return Decision(Status.MALFORMED, detail="code too long")
                qr_text = bytes(qr_text).decode("ascii", "replace")
            elif isinstance(qr_text, str):
                qr_text = str(qr_text)
            else:
                return Decision(Status.MALFORMED, detail="not text")
        if qr_text[:3].upper() == pp2.QR_PREFIX or qr_text.lstrip()[:3].upper() == pp2.QR_PREFIX:
            return self._verify_pp2(qr_text, perk, now)
        if qr_text[:3].upper() == pp3.QR_PREFIX or qr_text.lstrip()[:3].upper() == pp3.QR_PREFIX:
            return self._verify_pp3(qr_text, perk, now)
        try:
            raw = fmt.parse_qr_text(qr_text)
        except fmt.UnsupportedVersionError as exc:
            return Decision(Status.UNSUPPORTED_VERSION, detail=str(exc))
        except fmt.TransportError as exc:
            return Decision(Status.MALFORMED, detail=str(exc))

        trust = self.trust_store.current
        if trust is None:
            return Decision(Status.TRUST_LIST_EXPIRED, detail=self.trust_store.freshness(now).describe())
        policy_state = self._policy_state
        if policy_state[0] is not trust:
            policy_state = self._policy_for(trust)
        if now >= policy_state[2]:
            return self._stopped(trust, policy_state[1], now)

        bad_header, kid, detail = _check_header(raw.header_json)
        if bad_header is not None or kid is None:
            return Decision(bad_header or Status.MALFORMED, kid=kid, detail=detail)
        key = trust.keys.get(kid)
        if key is None:
            return Decision(Status.UNKNOWN_KEY, kid=kid, detail="kid not in trust list")

        # pyjwt's EdDSA algorithm object (pinned: the header check above refused every other alg) checks the
        # signature over the exact signed bytes.
        if not _EDDSA_VERIFY(raw.signing_input, key.public_key, raw.signature):
            return Decision(Status.BAD_SIGNATURE, kid=kid, detail="signature does not match")

        try:
            iss, aud, iat, exp, jti, sub, sch, prk, bnd = fmt.claims_from_payload_json(raw.payload_json)
        except (ValueError, fmt.TransportError) as exc:
            return Decision(Status.MALFORMED, kid=kid, detail=f"claims: {exc}")
        # positional, in Decision's field order (perks … kid): this runs on every scan
        info = (prk, sub, jti, iss, aud, sch, bnd, iat, exp, kid)
        leeway = self.leeway

        if iss != trust.issuer or (self.issuer is not None and iss != self.issuer):
            return Decision(Status.WRONG_ISSUER, *info)
        if exp <= iat or exp - iat > fmt.MAX_LIFETIME:
            return Decision(Status.MALFORMED, *info, detail="lifetime outside the format's limits")
        if key.revoked_at is not None and (now >= key.revoked_at or iat >= key.revoked_at):
            return Decision(Status.REVOKED, *info, detail="signing key withdrawn (compromised)")
        if not (key.not_before - leeway <= iat <= key.not_after + leeway):
            return Decision(Status.UNKNOWN_KEY, *info, detail="signed outside the key's validity window")
        if aud != self.audience:
            return Decision(Status.WRONG_AUDIENCE, *info)
        if now + leeway < iat:
            return Decision(Status.NOT_YET_VALID, *info)
        if now - leeway >= exp:
            return Decision(Status.EXPIRED, *info)
        if not prk or (perk is not None and perk not in prk):
            return Decision(Status.NOT_ENTITLED, *info)
        # Remembered until exp plus the largest leeway *any* verifier may use: a replay cache shared with a
        # more lenient verifier must not forget the code while that verifier would still accept it.
        if not self.replay_cache.check_and_remember(f"{iss}|{jti}", exp + fmt.MAX_LEEWAY, now):
            return Decision(Status.REPLAYED, *info)
        policy = policy_state[1]
        if policy.perk_reuse or policy.reuse_interval:
            # A usage rule ("once a day here") needs someone to count: a PP1 code's pseudonym is that citizen's
            # at this venue type for one UTC day, so the rule holds until the pseudonym changes at midnight UTC,
            # never across days (no stable identifier reaches a verifier; docs/partner-sdk.md).
            usage = policy.usage_interval((perk,) if perk is not None else prk)
            if usage and not self.replay_cache.check_and_remember(f"{iss}|pp1|{sub}|{perk or '*'}", now + usage, now):
                return Decision(Status.REPLAYED, *info,
                                detail=f"this pseudonym was already granted here within the last {usage} s")
        return _new_decision((_GRANTED, *info, ""))

    def _stopped(self, trust: TrustList, policy: venue_policy.VenuePolicy, now: float) -> Decision:
        if now >= trust.expires_at:
            return Decision(Status.TRUST_LIST_EXPIRED, detail=self.trust_store.freshness(now).describe())
        return Decision(Status.TRUST_LIST_EXPIRED,
                        detail=f"trust list past next_update + the venue type's grace: {policy.describe()}")


    def _verify_pp2(self, qr_text: str, perk: str | None, now: float) -> Decision:
        """A holder-bound code: the issuer's certificate, then the device's presentation (see partner_sdk.pp2)."""
        try:
            p = pp2.parse_qr_text(qr_text)
        except fmt.TransportError as exc:
            return Decision(Status.MALFORMED, detail=str(exc))
        trust = self.trust_store.current
        if trust is None:
            return Decision(Status.TRUST_LIST_EXPIRED, detail=self.trust_store.freshness(now).describe())
        policy_state = self._policy_state
        if policy_state[0] is not trust:
            policy_state = self._policy_for(trust)
        if now >= policy_state[2]:
            return self._stopped(trust, policy_state[1], now)
        c = p.certificate
        # the certificate names its key by an 8-byte reference; two kids sharing one is possible, so try each
        if self._kid_refs[0] is not trust:
            refs: dict[bytes, list[Any]] = {}
            for k in trust.keys.values():
                refs.setdefault(pp2.kid_reference(k.kid), []).append(k)
            self._kid_refs = (trust, refs)
        candidates = self._kid_refs[1].get(c.kid_ref)
        if not candidates:
            return Decision(Status.UNKNOWN_KEY, pseudonym=c.cert_id, detail="certificate key not in trust list")
        signed = pp2.cert_signed_input(trust.issuer, c.body)
        key = next((k for k in candidates if _EDDSA_VERIFY(signed, k.public_key, c.signature)), None)
        if key is None:
            return Decision(Status.BAD_SIGNATURE, pseudonym=c.cert_id, detail="certificate signature does not match")
        presentation_id = p.presentation_id
        info = (c.perks, c.cert_id, presentation_id, trust.issuer, c.audience, c.scheme, c.band, p.presented_at,
                c.not_after, key.kid)
        leeway = self.leeway
        if c.not_after <= c.not_before or c.not_after - c.not_before > pp2.MAX_CERT_LIFETIME:
            return Decision(Status.MALFORMED, *info, detail="certificate lifetime outside the format's limits")
        if key.revoked_at is not None and (now >= key.revoked_at or c.not_before >= key.revoked_at):
            return Decision(Status.REVOKED, *info, detail="certifying key withdrawn (compromised)")
        if not (key.not_before - leeway <= c.not_before <= key.not_after + leeway):
            return Decision(Status.UNKNOWN_KEY, *info, detail="certified outside the key's validity window")
        try:
            device_key = pp2.load_device_key(c.key_type, c.device_key)
        except ValueError as exc:
            return Decision(Status.MALFORMED, *info, detail=f"certificate device key refused: {exc}")
        if not pp2.device_signature_ok(device_key, p.signature, p.signed_input):
            # Whether the key bytes are a point at all costs a square root, so it is asked only here: the
            # signature check has already refused such a key, and the answer is MALFORMED, not BAD_SIGNATURE.
            if c.key_type == pp2.KEY_ED25519:
                try:
                    keyprofile.ed25519_decode(c.device_key)
                except ValueError as exc:
                    return Decision(Status.MALFORMED, *info, detail=f"certificate device key refused: {exc}")
            return Decision(Status.BAD_SIGNATURE, *info, detail="presentation not signed by the certified device")
        if c.audience != self.audience:
            return Decision(Status.WRONG_AUDIENCE, *info)
        if c.cert_id in trust.revoked:
            return Decision(Status.REVOKED, *info, detail="certificate on the trust list's revocation list")
        if now + leeway < c.not_before:
            return Decision(Status.NOT_YET_VALID, *info, detail="certificate not valid yet")
        if now - leeway >= c.not_after:
            return Decision(Status.EXPIRED, *info,
                            detail="certificate expired: the phone must connect once to renew it")
        window = self.presentation_window
        if abs(now - p.presented_at) > window + leeway:
            return Decision(Status.CLOCK_SKEW, *info,
                            detail=f"presented at {p.presented_at}, {int(p.presented_at - now):+d} s from this device")
        if not (c.not_before - leeway <= p.presented_at < c.not_after + leeway):
            return Decision(Status.EXPIRED, *info, detail="presented outside the certificate's validity")
        if not c.perks or (perk is not None and perk not in c.perks):
            return Decision(Status.NOT_ENTITLED, *info)
        # One grant per certificate and perk per reuse interval: whoever holds the device key can sign a
        # presentation for every slot of the window, so remembering (certificate, slot) would let one
        # certificate through a gate several times at once. The key is the certificate, not the presentation.
        reuse = policy_state[3]
        policy = policy_state[1]
        if policy.perk_reuse:  # a perk's own usage rule ("once a day") lengthens the venue type's interval
            reuse = max(reuse, policy.usage_interval((perk,) if perk is not None else c.perks))
        grant_key = f"{trust.issuer}|pp2|{c.cert_id}|{perk or '*'}"
        if not self.replay_cache.check_and_remember(grant_key, now + reuse, now):
            return Decision(Status.REPLAYED, *info,
                            detail=f"this certificate was already granted here within the last {reuse} s")
        return _new_decision((_GRANTED, *info, ""))


    def _verify_pp3(self, qr_text: str, perk: str | None, now: float) -> Decision:
        """An unlinkable code: a BBS proof of the issuer's certificate and a quota pseudonym (partner_sdk.pp3)."""
        try:
            p = pp3.parse_qr_text(qr_text)
        except fmt.TransportError as exc:
            return Decision(Status.MALFORMED, detail=str(exc))
        trust = self.trust_store.current
        if trust is None:
            return Decision(Status.TRUST_LIST_EXPIRED, detail=self.trust_store.freshness(now).describe())
        policy_state = self._policy_for(trust)
        if now >= policy_state[2]:
            return self._stopped(trust, policy_state[1], now)
        nym = p.pseudonym_text
        candidates = [k for k in trust.bbs_keys.values() if pp3.key_reference(k.kid) == p.key_ref]
        if not candidates:
            return Decision(Status.UNKNOWN_KEY, pseudonym=nym, detail="BBS key not in trust list")
        key = next((k for k in candidates if pp3.proof_ok(p, k, trust.issuer)), None)
        if key is None:
            return Decision(Status.BAD_SIGNATURE, pseudonym=nym, detail="proof does not verify")
        day_start, day_end = p.day * pp3.DAY, (p.day + 1) * pp3.DAY
        info = (p.perks, nym, p.presentation_id, trust.issuer, p.audience, None, None, p.presented_at, day_end,
                key.kid)
        leeway = self.leeway
        if key.revoked_at is not None and (now >= key.revoked_at or day_start >= key.revoked_at):
            return Decision(Status.REVOKED, *info, detail="certifying BBS key withdrawn (compromised)")
        # the certificate says its day, not when it was signed: the day must overlap the key's window
        if not (key.not_before - leeway < day_end and day_start <= key.not_after + leeway):
            return Decision(Status.UNKNOWN_KEY, *info, detail="certified for a day outside the key's validity")
        # a retired key (the issuer rotated past it) certifies nothing after its end, even a day it overlapped
        if now - leeway > key.not_after:
            return Decision(Status.UNKNOWN_KEY, *info, detail="BBS key retired: its period ended")
        if p.audience != self.audience:
            return Decision(Status.WRONG_AUDIENCE, *info)
        if now + leeway < day_start:
            return Decision(Status.NOT_YET_VALID, *info, detail="certificate not valid yet")
        if now - leeway >= day_end:
            return Decision(Status.EXPIRED, *info,
                            detail="certificate expired: the phone must connect once to renew it")
        # the slot is the start of the phone's 30-second period: up to a slot earlier than its clock
        window = self.presentation_window
        if not -(window + leeway) <= now - p.presented_at <= window + leeway + pp3.SLOT_SECONDS:
            return Decision(Status.CLOCK_SKEW, *info,
                            detail=f"presented at {p.presented_at}, {int(p.presented_at - now):+d} s from this device")
        if not (day_start - leeway <= p.presented_at < day_end + leeway):
            return Decision(Status.EXPIRED, *info, detail="presented outside the certificate's validity")
        if perk is not None and perk not in p.perks:
            return Decision(Status.NOT_ENTITLED, *info)
        quota = pp3.quota_window(policy_state[1].usage_interval(p.perks))
        if p.window is None or p.pseudonym is None:
            return Decision(Status.MALFORMED, *info, detail="this venue type needs a quota pseudonym in the code")
        if p.window != quota:
            return Decision(Status.MALFORMED, *info,
                            detail=f"quota window {p.window} s, this venue type's policy says {quota} s")
        # The proof is fresh per code, so a second scan of one code is the same proof; the quota is the
        # pseudonym, the same for this holder here until the window ends, and never again after.
        if not self.replay_cache.check_and_remember(f"{trust.issuer}|pp3|{p.presentation_id}",
                                                    p.presented_at + pp3.SLOT_SECONDS + window + fmt.MAX_LEEWAY,
                                                    now):
            return Decision(Status.REPLAYED, *info)
        quota_key = f"{trust.issuer}|pp3nym|{p.audience}|{p.window}|{nym}|{perk or '*'}"
        if not self.replay_cache.check_and_remember(quota_key, pp3.window_end(p.window, p.slot) + fmt.MAX_LEEWAY,
                                                    now):
            return Decision(Status.REPLAYED, *info,
                            detail=f"this pseudonym was already granted here in this {p.window} s window")
        return _new_decision((_GRANTED, *info, ""))


@functools.lru_cache(maxsize=64)
def _check_header(header_json: bytes) -> tuple[Status | None, str | None, str]:
    """(refusal status or None, kid, detail). Cached: a verifier sees the same few headers all day."""
    try:
        header = fmt.json_loads_bounded(header_json, max_depth=2)
    except ValueError:
        return Status.MALFORMED, None, "header is not JSON"
    if not isinstance(header, dict):
        return Status.MALFORMED, None, "header is not an object"
    if "crit" in header or set(header) - fmt.ALLOWED_HEADER_KEYS:
        return Status.MALFORMED, None, "unsupported header parameters"
    if header.get("typ") != fmt.CREDENTIAL_TYP:
        return Status.MALFORMED, None, "not a Perkpass credential (typ)"
    if header.get("alg") != fmt.ALGORITHM:
        return Status.BAD_SIGNATURE, None, f"algorithm {str(header.get('alg'))[:20]!r} is not accepted"
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        return Status.MALFORMED, None, "no kid"
    return None, kid, ""


_EDDSA_VERIFY = OKPAlgorithm().verify  # -> bool; never raises InvalidSignature
_GRANTED = Status.GRANTED
# The granted path builds its Decision without NamedTuple's Python-level __new__ (every field is given).
_new_decision = functools.partial(tuple.__new__, Decision)
