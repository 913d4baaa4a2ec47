"""Perkpass partner SDK: verify Perkpass perk codes offline.

    from partner_sdk import TrustStore, Verifier
    store = TrustStore(root_public_key=ROOT_JWK, cache_dir="~/.cache/perkpass")
    store.load_url("https://perkpass.example.city/api/v1/trust-list")
    decision = Verifier(store, audience="library").verify(scanned_text)
    if decision.granted: ...

The credential format lives in :mod:`partner_sdk.format`; the issuer (backend) imports it from here.
"""

from .errors import (
    ConfigurationError,
    InvalidClockError,
    InvalidKeyError,
    IssuanceError,
    PerkpassError,
    TrustListError,
    TrustListExpiredError,
    TrustListRollbackError,
    TrustListSignatureError,
    TrustListTooLargeError,
    TrustListUnavailableError,
)
from .format import DEFAULT_LIFETIME, MAX_LIFETIME, QR_PREFIX, pairwise_pseudonym, qr_version_m
from .issue import IssuedCredential, issue_credential
from .keys import generate_key, jwk_thumbprint, load_public_key, private_key_from_pem, private_key_to_pem, public_jwk
from .replay import MemoryReplayCache, SQLiteReplayCache
from .trust import (
    Freshness, FreshnessState, TrustedKey, TrustList, TrustStore, build_root_statement, build_trust_list,
)
from .verify import Decision, Status, Verifier

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError", "InvalidClockError", "InvalidKeyError", "IssuanceError", "PerkpassError", "TrustListError",
    "TrustListExpiredError", "TrustListRollbackError", "TrustListSignatureError", "TrustListTooLargeError",
    "TrustListUnavailableError",
    "DEFAULT_LIFETIME", "MAX_LIFETIME", "QR_PREFIX", "pairwise_pseudonym", "qr_version_m",
    "IssuedCredential", "issue_credential",
    "generate_key", "jwk_thumbprint", "load_public_key", "private_key_from_pem", "private_key_to_pem", "public_jwk",
    "MemoryReplayCache", "SQLiteReplayCache",
    "Freshness", "FreshnessState", "TrustedKey", "TrustList", "TrustStore", "build_root_statement",
    "build_trust_list",
    "Decision", "Status", "Verifier",
]
