"""The signed trust list (root-signed, monotonic sequence) and the JWKS document."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from partner_sdk import TrustListTooLargeError
from partner_sdk.trust import build_trust_list

from ..settings import settings
from ..extensions import db
from ..models import TrustListVersion
from . import certificates
from . import keys as key_service
from . import pp3_issuance
from .errors import Conflict
from .perks import get_catalogue
from .venue_types import get_venue_types


def venue_types_member() -> dict:
    """Each venue type's policy and its perks' usage rules, as verifiers learn them (partner_sdk.venue_policy)."""
    return get_venue_types().trust_list_member(get_catalogue().usage_rules())


def _fingerprint(now: int) -> tuple[str, list, list[str]]:
    cfg = settings()
    trusted = key_service.trusted_keys(now)
    material: dict[str, Any] = {
        "issuer": cfg.issuer,
        "keys": [[k.kid, key_service.crypto.b64url(k.public_key.public_bytes_raw()), k.not_before, k.not_after,
                  k.revoked_at] for k in trusted],
        "root": key_service.root(now)[0].kid,  # a root rotation publishes a list signed by the new root at once
        "perks": get_catalogue().trust_list_perks(),
        "venue_types": venue_types_member(),
        "next_update_in": cfg.trust_list_next_update,
        "valid_for": cfg.trust_list_valid_for,
        "revoked": certificates.revoked_ids(now),
    }
    bbs_keys = [k.to_member() for k in pp3_issuance.trust_list_keys(now)]
    if bbs_keys:  # only with PP3 on: otherwise the fingerprint, and so the published list, stays as it was
        material["bbs_keys"] = bbs_keys
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return digest, trusted, material["revoked"]


def current(now: int) -> TrustListVersion:
    """The trust list to serve now: the stored one if its content is unchanged and it is less than
    half its refresh interval old, else a newly signed one with the next sequence number."""
    cfg = settings()
    next_update = cfg.trust_list_next_update
    fingerprint, trusted, revoked = _fingerprint(now)
    for _attempt in range(5):
        latest = db.session.scalars(select(TrustListVersion).order_by(TrustListVersion.sequence.desc())
                                    .limit(1)).first()
        if latest is not None and latest.fingerprint == fingerprint and now - latest.issued_at < next_update // 2 \
                and latest.issued_at <= now:
            return latest
        sequence = (latest.sequence + 1) if latest is not None else 1
        root_row, root_priv = key_service.root(now)
        try:
            jws = build_trust_list(root_key=root_priv, issuer=cfg.issuer, keys=trusted, sequence=sequence,
                                   now=now, next_update_in=next_update,
                                   valid_for=cfg.trust_list_valid_for,
                                   perks=get_catalogue().trust_list_perks(), revoked=revoked,
                                   root_kid=root_row.kid,  # the kid of the root JWK /api/v1/trust-root publishes
                                   root_chain=key_service.root_chain(), venue_types=venue_types_member(),
                                   bbs_keys=pp3_issuance.trust_list_keys(now))
        except TrustListTooLargeError as exc:
            # Nothing is published: verifiers would refuse the list and keep the previous one anyway. Dropping
            # ids to make it fit would silently re-validate withdrawn certificates, so the operator is told.
            raise Conflict(f"Cannot publish a trust list: {exc}. Withdrawals this large need a key compromise "
                           f"drill (keys compromise) or shorter certificate lifetimes.",
                           code="trust_list_over_capacity") from None
        row = TrustListVersion(sequence=sequence, fingerprint=fingerprint, jws=jws, issued_at=now,
                               expires_at=now + cfg.trust_list_valid_for)
        db.session.add(row)
        try:
            db.session.commit()
            return row
        except IntegrityError:  # another worker published this sequence first; look again
            db.session.rollback()
    raise RuntimeError("could not publish a trust list after 5 attempts")


def etag(row: TrustListVersion) -> str:
    return f'"tl-{row.sequence}-{row.fingerprint[:16]}"'


def root_jwk() -> dict:
    row, _priv = key_service.root()
    return key_service.jwk(row)


def jwks(now: int) -> dict:
    # a compromised key stays in the trust list (marked revoked_at) but leaves the JWKS at once: a plain JOSE
    # client cannot read revoked_at, so for it the key must simply be gone
    return {"keys": [key_service.jwk(r) for r in key_service.published(now) if r.compromised_at is None]}
