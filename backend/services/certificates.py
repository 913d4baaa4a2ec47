"""PP2 holders: register a phone's device key, certify it per venue type, revoke what a citizen lost.

The phone proves it holds the private key by signing a fresh challenge; from then on it asks for perk
certificates (partner_sdk.pp2) whenever it is online and makes its codes offline. A certificate carries a
fresh random id, never a stable pseudonym. When a citizen loses a perk, removes a device or opts out,
the live certificates go on the revocation list that the next trust list carries.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.orm import Session

from partner_sdk import keyprofile, pp2

from ..settings import settings
from ..extensions import db, rows_changed
from ..models import (CertificateRevocation, Citizen, CitizenScheme, DeviceChallenge, HolderDevice, PerkCertificate,
                      Scheme)
from .errors import Conflict, InvalidInput, NotFound
from .issuance import memberships, offers, signing_key

CHALLENGE_TTL = 120
REGISTRATION_CONTEXT = b"perkpass-device-registration\x00"
KEY_TYPES = {"Ed25519": pp2.KEY_ED25519, "P-256": pp2.KEY_P256}
KEY_TYPE_NAMES = {v: k for k, v in KEY_TYPES.items()}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ------------------------------------------------------------------------------------ registration

def new_challenge(citizen_id: int, now: int) -> dict:
    challenge = secrets.token_bytes(32)
    db.session.execute(delete(DeviceChallenge).where(DeviceChallenge.citizen_id == citizen_id,
                                                     DeviceChallenge.expires_at <= now))
    db.session.add(DeviceChallenge(citizen_id=citizen_id, challenge_hash=hashlib.sha256(challenge).hexdigest(),
                                   expires_at=now + CHALLENGE_TTL))
    db.session.commit()
    return {"challenge": b64url(challenge), "expires_at": now + CHALLENGE_TTL,
            "sign": "perkpass-device-registration 0x00 || challenge || public key (as sent)"}


def _load_public_key(key_type: int, raw: bytes):
    """The device key from WebCrypto's raw export (Ed25519 32 bytes; P-256 65 bytes, uncompressed), checked
    against the whole key profile (partner_sdk.keyprofile) before anything is stored or certified: a small-order
    Ed25519 key would let anyone forge this holder's codes, since its proof of possession can be forged too."""
    problem = keyprofile.registration_problem(KEY_TYPE_NAMES[key_type], raw)
    if problem is None:
        try:
            return pp2.load_device_key(key_type, raw)
        except ValueError as exc:
            problem = str(exc)
    raise InvalidInput(f"The public key is not a valid {KEY_TYPE_NAMES[key_type]} device key: {problem}.",
                       {"public_key": [problem]}, code="device_key_invalid")


def register(citizen: Citizen, *, algorithm: str, public_key: str, challenge: str, signature: str, label: str,
             now: int) -> HolderDevice:
    """Register a phone's device key on proof of possession (a signed one-time challenge). InvalidInput for
    base64url that decodes to nothing sensible, an unknown challenge or a signature that does not verify."""
    try:
        return _register(citizen, algorithm=algorithm, public_key=public_key, challenge=challenge,
                         signature=signature, label=label, now=now)
    except ValueError:  # base64url that decodes to nothing sensible (the challenge, if found, stays used)
        raise InvalidInput("Malformed key, challenge or signature.") from None


def _register(citizen: Citizen, *, algorithm: str, public_key: str, challenge: str, signature: str, label: str,
              now: int) -> HolderDevice:
    key_type = KEY_TYPES[algorithm]
    raw = b64url_decode(public_key)
    key = _load_public_key(key_type, raw)
    ch = db.session.scalars(select(DeviceChallenge).where(
        DeviceChallenge.challenge_hash == hashlib.sha256(b64url_decode(challenge)).hexdigest(),
        DeviceChallenge.citizen_id == citizen.id)).first()
    if ch is None or ch.used_at is not None or ch.expires_at <= now:
        raise InvalidInput("The challenge is unknown, used or expired: ask for a new one.",
                           {"challenge": ["Unknown, used or expired."]},
                           code="challenge_invalid")
    ch.used_at = now  # one try per challenge, whatever the outcome
    db.session.commit()
    signed = REGISTRATION_CONTEXT + b64url_decode(challenge) + raw
    if not pp2.device_signature_ok(key, b64url_decode(signature), signed):
        raise InvalidInput("The signature does not prove possession of this key.",
                           {"signature": ["Does not verify."]},
                           code="proof_invalid")
    _, cert_form = pp2.device_key_bytes(key)
    stored = b64url(cert_form)
    existing = db.session.scalars(select(HolderDevice).where(HolderDevice.public_key == stored)).first()
    if existing is not None:
        if existing.citizen_id != citizen.id:
            raise Conflict("This device key is already registered.")
        return existing
    count = len(db.session.scalars(select(HolderDevice.id).where(HolderDevice.citizen_id == citizen.id)).all())
    if count >= settings().max_holder_devices:
        raise Conflict("You have registered the most devices allowed: remove one first.", code="too_many_devices")
    device = HolderDevice(public_id="hd_" + secrets.token_urlsafe(12), citizen_id=citizen.id, key_type=key_type,
                          public_key=stored, label=label, created_at=now)
    db.session.add(device)
    db.session.commit()
    return device


def devices(citizen_id: int) -> list[HolderDevice]:
    return list(db.session.scalars(select(HolderDevice).where(HolderDevice.citizen_id == citizen_id)
                                   .order_by(HolderDevice.created_at, HolderDevice.id)))


def device_for(citizen_id: int, public_id: str) -> HolderDevice:
    """The citizen's own device; someone else's answers exactly like a missing one (no enumeration)."""
    d = db.session.scalars(select(HolderDevice).where(HolderDevice.public_id == public_id,
                                                      HolderDevice.citizen_id == citizen_id)).first()
    if d is None:
        raise NotFound("No such device.")
    return d


def device_out(d: HolderDevice) -> dict:
    return {"id": d.public_id, "label": d.label, "algorithm": KEY_TYPE_NAMES[d.key_type], "created_at": d.created_at,
            "last_certified_at": d.last_certified_at}


def remove_device(device: HolderDevice, now: int) -> int:
    """Forget a device; its live certificates go on the revocation list. Returns how many were revoked."""
    n = _revoke(db.session.connection(), now, PerkCertificate.device_id == device.id)
    db.session.delete(device)
    db.session.commit()
    return n


# ------------------------------------------------------------------------------------ certificates

@dataclass
class CertOut:
    row: PerkCertificate
    titles: dict
    renew_after: int  # half-way: until then the same certificate is handed out again


def certify(citizen: Citizen, device: HolderDevice, now: int) -> list[CertOut]:
    """Certificates for every (venue type, scheme) where the citizen has perks now. A live certificate with
    the same perks and more than half its lifetime left is handed out again rather than replaced."""
    cfg = settings()
    lifetime = cfg.certificate_lifetime
    device_key_raw = b64url_decode(device.public_key)
    problem = keyprofile.registration_problem(KEY_TYPE_NAMES[device.key_type], device_key_raw)
    if problem:  # registered before the key profile existed: withdraw what it holds, certify nothing more
        _revoke(db.session.connection(), now, PerkCertificate.device_id == device.id)
        db.session.commit()
        raise InvalidInput(f"This phone's key is not accepted any more ({problem}): remove the phone and add it "
                           "again.", {"device": [problem]}, code="device_key_invalid")
    known = memberships(citizen.id)
    from .perks import get_catalogue
    audiences = sorted({p.audience for code, score in known
                        if (s := get_catalogue().schemes.get(code)) is not None for p in s.eligible(score)})
    live = {(c.audience, c.scheme, c.perks): c for c in db.session.scalars(
        select(PerkCertificate).where(PerkCertificate.device_id == device.id, PerkCertificate.revoked_at.is_(None),
                                      PerkCertificate.not_after > now + lifetime // 2))}
    out: list[CertOut] = []
    key = None
    for audience in audiences:
        for offer in offers(citizen.id, audience, known):
            codes = ",".join(sorted(p.code for p in offer.perks))
            titles = {p.code: dict(p.title) for p in offer.perks}
            row = live.get((audience, offer.scheme, codes))
            if row is None:
                key = key or signing_key(now, "Certificates")
                cert = pp2.issue_certificate(
                    signing_key=key.private, kid=key.kid, issuer=cfg.issuer, audience=audience,
                    scheme=offer.scheme, perks=[p.code for p in offer.perks],
                    device_public_key=pp2.load_device_key(device.key_type, device_key_raw),
                    now=now, lifetime=lifetime, band=offer.band)
                row = PerkCertificate(cert_id=cert.cert_id, citizen_id=citizen.id, device_id=device.id,
                                      audience=audience, scheme=offer.scheme, perks=codes, raw=b64url(cert.raw),
                                      not_before=cert.not_before, not_after=cert.not_after)
                db.session.add(row)
            out.append(CertOut(row, titles, row.not_before + lifetime // 2))
    device.last_certified_at = now
    db.session.commit()
    return out


def _revoke(conn, now: int, *criteria) -> int:
    """Withdraw the live certificates that match `criteria`: marked revoked, and named on the trust list's
    revocation list until they would have expired. The one way to revoke, in Core statements on the
    session's connection, so the after-flush score listener below can use it too. Returns how many."""
    live = conn.execute(select(PerkCertificate.cert_id, PerkCertificate.not_after)
                        .where(PerkCertificate.revoked_at.is_(None), PerkCertificate.not_after > now, *criteria)).all()
    if not live:
        return 0
    ids = [cert_id for cert_id, _ in live]
    conn.execute(PerkCertificate.__table__.update().where(PerkCertificate.cert_id.in_(ids)).values(revoked_at=now))
    listed = set(conn.scalars(select(CertificateRevocation.cert_id).where(CertificateRevocation.cert_id.in_(ids))))
    rows = [{"cert_id": cert_id, "expires_at": not_after, "revoked_at": now}
            for cert_id, not_after in live if cert_id not in listed]
    if rows:
        conn.execute(CertificateRevocation.__table__.insert(), rows)
    return len(live)


def forget_citizen(citizen_id: int, now: int) -> list[str]:
    """Opt-out: revoke every live certificate (the revocation rows name no one) and delete the citizen's
    devices, challenges and certificates. Returns the certificate ids, to delete redemptions made under them."""
    db.session.flush()
    ids = cert_ids_of(citizen_id)
    _revoke(db.session.connection(), now, PerkCertificate.citizen_id == citizen_id)
    db.session.execute(delete(PerkCertificate).where(PerkCertificate.citizen_id == citizen_id))
    db.session.execute(delete(DeviceChallenge).where(DeviceChallenge.citizen_id == citizen_id))
    db.session.execute(delete(HolderDevice).where(HolderDevice.citizen_id == citizen_id))
    return ids


def cert_ids_of(citizen_id: int) -> list[str]:
    return list(db.session.scalars(select(PerkCertificate.cert_id).where(PerkCertificate.citizen_id == citizen_id)))


def revoked_ids(now: int) -> list[str]:
    """For the trust list: withdrawn certificates that have not expired yet (so the list stays bounded)."""
    return list(db.session.scalars(select(CertificateRevocation.cert_id).where(CertificateRevocation.expires_at > now)
                                   .order_by(CertificateRevocation.cert_id)))


def prune(now: int) -> int:
    """Drop revocations of certificates that have expired anyway."""
    n = rows_changed(delete(CertificateRevocation).where(CertificateRevocation.expires_at <= now))
    db.session.commit()
    return n or 0


# A score that falls (import, ledger decision, operator change) must withdraw the certificates it no longer
# justifies, whichever code path changed it: watch the column rather than every caller.
@event.listens_for(Session, "before_flush")
def _score_changes(session: Session, _ctx, _instances) -> None:
    changed = set()
    for obj in list(session.dirty) + list(session.deleted):
        # any change, not only a fall: a perk may also end at an upper band edge
        if isinstance(obj, CitizenScheme) and (
                obj in session.deleted or inspect(obj).attrs.score.history.has_changes()):
            changed.add(obj.citizen_id)
    if changed:
        session.info.setdefault("perkpass_recheck_certificates", set()).update(changed)


@event.listens_for(Session, "after_flush")
def _recheck_after_flush(session: Session, _ctx) -> None:
    pending = session.info.pop("perkpass_recheck_certificates", None)
    if not pending:
        return
    now = int(time.time())  # the flush is the outermost caller here: no request clock reaches a listener
    recheck_certificates(session.connection(), pending, now)


def recheck_certificates(conn, citizen_ids, now: int) -> None:
    """Withdraw the live PP2 certificates of these citizens that their scores no longer justify. Run by the
    listener above for ORM changes of a score, and by writers that update scores in bulk statements (the ledger's
    batches). A few queries per 500 citizens, not two per citizen."""
    from .perks import get_catalogue
    catalogue = get_catalogue()
    ids = sorted(set(citizen_ids))
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        have: dict[int, set] = {cid: set() for cid in chunk}
        for citizen_id, code, score in conn.execute(
                select(CitizenScheme.citizen_id, Scheme.code, CitizenScheme.score)
                .join(Scheme, Scheme.id == CitizenScheme.scheme_id).where(CitizenScheme.citizen_id.in_(chunk))):
            if (s := catalogue.schemes.get(code)) is not None:
                have[citizen_id].update((code, p.audience, p.code) for p in s.eligible(score))
        certs = conn.execute(select(PerkCertificate.citizen_id, PerkCertificate.cert_id, PerkCertificate.scheme,
                                    PerkCertificate.audience, PerkCertificate.perks)
                             .where(PerkCertificate.citizen_id.in_(chunk), PerkCertificate.revoked_at.is_(None),
                                    PerkCertificate.not_after > now)).all()
        lost = [cert_id for citizen_id, cert_id, scheme, audience, perks in certs
                if any((scheme, audience, code) not in have[citizen_id] for code in perks.split(","))]
        if lost:
            _revoke(conn, now, PerkCertificate.cert_id.in_(lost))
