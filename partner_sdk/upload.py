"""The kiosk's redemption upload, both ends of it: the one definition of ``POST /api/v1/kiosk/redemptions``.

A kiosk logs a grant locally and sends it later; the backend checks each item and answers it. Both sides
import this module (kiosk/store.py and kiosk/sync.py; backend/schemas/kiosk.py, api/kiosk.py and
services/redemptions.py), so the item's fields, their limits, the outcomes and the refusal reasons are written
once. It lives in the SDK because the SDK is what kiosks and the server share, and it needs nothing but the
standard library: importing it pulls in neither Flask nor Kivy.

The wire format is the one kiosks in the field upload since their first sync (docs/contracts.md); it has no
version field, so any change to it must keep a current kiosk's body valid and its answer readable::

    -> {"redemptions": [{"id": "<uuid4>", "jti": "...", "pseudonym": "...", "perk": "...", "scanned_at": 1796000000}]}
    <- {"results": [{"id": "<uuid4>", "status": "accepted" | "duplicate" | "rejected", "reason": "..."}],
        "accepted": 1, "duplicates": 0, "rejected": 0}
"""
from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from typing import Final, NotRequired, TypedDict

PATH: Final = "/api/v1/kiosk/redemptions"

MAX_ITEMS: Final = 500  # per request; a backend may be configured to take fewer (PERKPASS_BATCH_MAX), never more

# Characters each text field may have, at most. An id is a UUID: always 36.
MAX_LENGTHS: Final[Mapping[str, int]] = {"id": 36, "jti": 64, "pseudonym": 64, "perk": 32}
FIELDS: Final = ("id", "jti", "pseudonym", "perk", "scanned_at")

UUID_PATTERN: Final = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
_UUID = re.compile(UUID_PATTERN)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # what the backend's text fields refuse


class RedemptionItem(TypedDict):
    """One granted perk as a kiosk reports it: one item per perk of a grant."""
    id: str          # a UUID the kiosk made when it logged the grant: the idempotency key of the upload
    jti: str         # partner_sdk.Decision.jti
    pseudonym: str   # partner_sdk.Decision.pseudonym
    perk: str        # the perk code granted
    scanned_at: int  # epoch seconds, the kiosk's clock


class Outcome(enum.StrEnum):
    """What the backend answers for one item. Every outcome ends the item's journey: the kiosk marks it done."""
    ACCEPTED = "accepted"    # stored now
    DUPLICATE = "duplicate"  # stored before: this id was sent already (a retry, a re-sent batch)
    REJECTED = "rejected"    # refused, with a Reason; never stored as a redemption, never shown to a citizen


class Reason(enum.StrEnum):
    """Why an item was refused: stable codes a kiosk can log and an operator can look up (docs/contracts.md).
    A kiosk must accept a reason it does not know (a newer backend may add one): see :func:`acknowledged`."""
    MALFORMED_JTI = "malformed_jti"
    MALFORMED_PSEUDONYM = "malformed_pseudonym"
    UNKNOWN_PERK = "unknown_perk"
    WRONG_AUDIENCE = "wrong_audience"
    PERK_NOT_OFFERED = "perk_not_offered"
    PERK_NOT_CERTIFIED = "perk_not_certified"
    UNKNOWN_CERTIFICATE = "unknown_certificate"
    OUTSIDE_CERTIFICATE_VALIDITY = "outside_certificate_validity"
    SCANNED_IN_FUTURE = "scanned_in_future"
    SCANNED_BEFORE_POSSIBLE = "scanned_before_possible"
    SCAN_TIME_MISMATCH = "scan_time_mismatch"

    @property
    def text(self) -> str:
        return _REASON_TEXT[self]


_REASON_TEXT: Final[Mapping[Reason, str]] = {
    Reason.MALFORMED_JTI: ("The jti is neither a PP1 code id, a PP2 '<certificate id>-<slot>' nor a PP3 "
                           "'pp3-<code id>'."),
    Reason.MALFORMED_PSEUDONYM: "The pseudonym does not have the form the code type gives it.",
    Reason.UNKNOWN_PERK: "No perk has this code.",
    Reason.WRONG_AUDIENCE: "The perk or certificate is for another venue type than this kiosk's venue.",
    Reason.PERK_NOT_OFFERED: "This kiosk's venue does not offer the perk.",
    Reason.PERK_NOT_CERTIFIED: "The certificate does not carry the perk.",
    Reason.UNKNOWN_CERTIFICATE: "No certificate has this id.",
    Reason.OUTSIDE_CERTIFICATE_VALIDITY: "The code's time slot lies outside its certificate's validity.",
    Reason.SCANNED_IN_FUTURE: "scanned_at is later than the server's clock allows.",
    Reason.SCANNED_BEFORE_POSSIBLE: "scanned_at is earlier than such a code could exist at this venue.",
    Reason.SCAN_TIME_MISMATCH: "scanned_at is too far from the time the code was made.",
}


class ItemResult(TypedDict):
    id: str
    status: Outcome
    reason: NotRequired[str]  # with REJECTED only: a Reason's value (a kiosk must take one it does not know)


class BatchAnswer(TypedDict):
    results: list[ItemResult]  # one per item sent, in the order sent
    accepted: int
    duplicates: int
    rejected: int


# What a kiosk can truthfully report (partner_sdk.Decision.jti / .pseudonym), by code type:
#   PP1: jti = format.JTI_BYTES (12) random bytes in base64url (16 chars); pseudonym = format.PSEUDONYM_BYTES (14)
#        of pairwise HMAC in base32 (23 chars: 112 bits, so the last one's 3 low bits are 0)
#   PP2: pseudonym = the certificate id (pp2.CERT_ID_BYTES = 12 bytes, 16 base64url chars);
#        jti = "<certificate id>-<30 s slot>"
PP1_JTI_RE: Final = re.compile(r"[A-Za-z0-9_-]{16}\Z")
PP1_PSEUDONYM_RE: Final = re.compile(r"[A-Z2-7]{22}[AIQY]\Z")
PP2_JTI_RE: Final = re.compile(r"([A-Za-z0-9_-]{16})-(0|[1-9][0-9]{0,10})\Z")
PP2_JTI_MIN: Final = 18  # "<16 chars>-<slot>": longer than any PP1 jti (16), so a length test skips the regex
#   PP3 (issue 23): jti = "pp3-" + 12 bytes of SHA-256(the code's proof) in base64url, different for every code;
#        pseudonym = PP3_PSEUDONYM: a kiosk reports no pseudonym for a PP3 grant (the quota pseudonym stays on
#        the gate), so nothing in an upload joins a PP3 redemption to a citizen or to another redemption
PP3_JTI_RE: Final = re.compile(r"pp3-[A-Za-z0-9_-]{16}\Z")
PP3_PSEUDONYM: Final = "pp3"


def reported_pseudonym(jti: str | None, pseudonym: str | None) -> str | None:
    """What a kiosk logs and uploads as a grant's pseudonym: the decision's, but never a PP3 quota pseudonym."""
    return PP3_PSEUDONYM if jti is not None and PP3_JTI_RE.match(jti) else pseudonym


def certificate_named(jti: str) -> str | None:
    """The PP2 certificate id a jti names (its pseudonym must be the same id), or None for any other jti."""
    if len(jti) < PP2_JTI_MIN:
        return None
    m = PP2_JTI_RE.match(jti)
    return None if m is None else m.group(1)


def plain_batch(body: object) -> list[RedemptionItem] | None:
    """The items of a well-formed body ``{"redemptions": [...]}``, every item exactly the five fields with their
    types and limits, checked without a schema library (the backend's hot path); None for anything else (which
    the backend's schema then loads and answers with the field at fault). It decides the shape only: whether an
    item is plausible (its identifiers, venue, perk, time) is the backend's per-item check."""
    if type(body) is not dict or len(body) != 1:
        return None
    items = body.get("redemptions")
    if type(items) is not list or not 1 <= len(items) <= MAX_ITEMS:
        return None
    texts = []
    limits = tuple(MAX_LENGTHS.items())
    for it in items:
        if type(it) is not dict or len(it) != 5 or type(it.get("scanned_at")) is not int:
            return None
        for name, longest in limits:
            v = it.get(name)
            if type(v) is not str or not 1 <= len(v) <= longest:
                return None
            texts.append(v)
        if not _UUID.match(it["id"]):
            return None
    if _CONTROL.search("".join(texts)):  # one search over every string: a control character in any of them
        return None
    return items  # each item has exactly the five fields, all checked


def acknowledged(answer: Mapping[str, object], sent: Iterable[str]) -> list[tuple[str, Outcome, str | None]]:
    """The items of a backend's answer that are done: (id, outcome, reason) for each result naming an id that was
    sent with an outcome this kiosk knows. A reason is passed on as the backend wrote it (a newer backend may
    know reasons this kiosk does not); anything else in the answer is ignored, so the item is sent again."""
    sent_ids = set(sent)
    results = answer.get("results")
    done: list[tuple[str, Outcome, str | None]] = []
    if not isinstance(results, list):
        return done
    for result in results:
        if not isinstance(result, dict):
            continue
        rid, status, reason = result.get("id"), result.get("status"), result.get("reason")
        if isinstance(rid, str) and rid in sent_ids and status in _OUTCOMES:
            done.append((rid, Outcome(status), reason if isinstance(reason, str) else None))
    return done


_OUTCOMES: Final = frozenset(o.value for o in Outcome)
