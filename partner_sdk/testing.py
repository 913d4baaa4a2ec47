"""Fixtures for integrators' own tests: a throw-away issuer that signs trust lists and credentials.

    from partner_sdk.testing import TestIssuer
    issuer = TestIssuer()
    store = issuer.trust_store(now=T)
    code = issuer.credential("library", ["BAILU-LIB-NODEPOSIT"], now=T).qr_text
    assert Verifier(store, "library").verify(code, now=T).granted

Keys are derived from ``seed`` so the same seed gives the same keys (and, Ed25519 being deterministic,
the same signatures): that is how ``assets/test-vectors`` are reproducible.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import bbs, pp3
from .format import pairwise_pseudonym
from .issue import IssuedCredential, issue_credential
from .keys import public_jwk
from .pp2 import DEFAULT_CERT_LIFETIME, IssuedCertificate, _sign_certificate, issue_certificate
from .trust import TrustedKey, TrustStore, build_root_statement, build_trust_list


def derived_key(seed: bytes, label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed + b"\x00" + label.encode()).digest())


class TestIssuer:
    __test__ = False  # not a pytest test class

    def __init__(self, issuer: str = "perkpass.test", seed: bytes = b"perkpass-test", kid: str = "test-key-1",
                 key_window: tuple[int, int] = (0, 2**33)) -> None:
        self.issuer = issuer
        self.seed = seed
        self.root_key = derived_key(seed, "root")
        self.signing_key = derived_key(seed, kid)
        self.kid = kid
        self.key_window = key_window
        self.pseudonym_secret = hashlib.sha256(seed + b"pseudonyms").digest()
        self.root_chain: list[str] = []  # root statements, one per rotate_root()
        self.bbs_kid = f"{kid}-bbs"
        self.bbs_secret_key = bbs.keygen(hashlib.sha256(seed + b"\x00bbs").digest(), kid.encode())
        self.bbs_public_key = bbs.sk_to_pk(self.bbs_secret_key)

    @property
    def root_public_jwk(self) -> dict[str, str]:
        return public_jwk(self.root_key)

    def rotate_root(self, now: int | float | datetime) -> str:
        """Replace the root key by the next derived one, announced by a statement the old root signs."""
        version = len(self.root_chain) + 2
        new_root = derived_key(self.seed, f"root-{version}")
        statement = build_root_statement(old_root=self.root_key, new_root=new_root.public_key(), issuer=self.issuer,
                                         version=version, now=now)
        self.root_chain.append(statement)
        self.root_key = new_root
        return statement

    def trusted_keys(self) -> list[TrustedKey]:
        return [TrustedKey(self.kid, self.signing_key.public_key(), *self.key_window)]

    def trust_list(self, now: int | float | datetime, sequence: int = 1, keys: Sequence[TrustedKey] | None = None,
                   next_update_in: int = 86_400, valid_for: int = 7 * 86_400, perks: dict[str, Any] | None = None,
                   revoked: Sequence[str] = (), venue_types: dict[str, Any] | None = None,
                   bbs_keys: Sequence[pp3.BbsKey] = ()) -> str:
        return build_trust_list(root_key=self.root_key, issuer=self.issuer,
                                keys=self.trusted_keys() if keys is None else keys, sequence=sequence, now=now,
                                next_update_in=next_update_in, valid_for=valid_for, perks=perks, revoked=revoked,
                                root_chain=self.root_chain, venue_types=venue_types, bbs_keys=bbs_keys)

    def bbs_keys(self) -> list[pp3.BbsKey]:
        """This issuer's BBS key for PP3 codes, to pass as ``trust_list(bbs_keys=...)`` (lists carry none by
        default, so the published test vectors stay byte for byte what they were)."""
        return [pp3.BbsKey(self.bbs_kid, self.bbs_public_key, *self.key_window)]

    def pp3_certificate(self, audience: str, perks: Sequence[str], day: int,
                        scheme: str = "moli") -> tuple[pp3.Certificate, pp3.HolderSecret]:
        """A PP3 certificate by blind issuance, both sides played here: the phone's commitment, this issuer's
        blind signature. The holder then calls :func:`partner_sdk.pp3.present` with the secret."""
        request = pp3.holder_request()
        cert, entropy = pp3.blind_sign_certificate(self.bbs_secret_key, self.bbs_kid, self.issuer, audience, perks,
                                                   day, scheme, request.commitment)
        return cert, pp3.holder_secret(request, entropy)

    def trust_store(self, now: int | float | datetime, **kwargs: Any) -> TrustStore:
        store = TrustStore(self.root_public_jwk)
        store.load_bytes(self.trust_list(now, **kwargs), now=now)
        return store

    def credential(self, audience: str, perks: Sequence[str], now: int | float | datetime, citizen: str = "citizen-1",
                   scheme: str = "moli", lifetime: int = 90, jti: str | None = None, band: str | None = None,
                   signing_key: Ed25519PrivateKey | None = None, kid: str | None = None,
                   issuer: str | None = None) -> IssuedCredential:
        return issue_credential(
            signing_key=signing_key or self.signing_key, kid=kid or self.kid, issuer=issuer or self.issuer,
            audience=audience, subject=pairwise_pseudonym(self.pseudonym_secret, citizen, audience), perks=perks,
            scheme=scheme, now=now, lifetime=lifetime, jti=jti, band=band,
        )

    def certificate(self, audience: str, perks: Sequence[str], device_public_key: Any, now: int | float | datetime,
                    scheme: str = "moli", lifetime: int = DEFAULT_CERT_LIFETIME, band: str | None = None,
                    signing_key: Ed25519PrivateKey | None = None, kid: str | None = None,
                    issuer: str | None = None, cert_id: bytes | None = None) -> IssuedCertificate:
        """A PP2 perk certificate for a device key; the holder then calls :func:`partner_sdk.pp2.sign_presentation`."""
        return issue_certificate(
            signing_key=signing_key or self.signing_key, kid=kid or self.kid, issuer=issuer or self.issuer,
            audience=audience, scheme=scheme, perks=perks, device_public_key=device_public_key, now=now,
            lifetime=lifetime, band=band, cert_id=cert_id,
        )

    def hostile_certificate(self, audience: str, perks: Sequence[str], key_type: int, device_key_bytes: bytes,
                            not_before: int, not_after: int, scheme: str = "moli",
                            cert_id: bytes = b"hostile-cert") -> IssuedCertificate:
        """A certificate the issuer would never sign (any device key bytes, any validity), signed by this
        issuer's real key: what a verifier must still refuse. For test vectors and hostile tests only."""
        return _sign_certificate(self.signing_key, self.kid, self.issuer, key_type, device_key_bytes, audience,
                                 scheme, None, sorted(set(perks)), int(not_before), int(not_after), cert_id)
