"""Perkpass partner SDK: verify Perkpass perk codes offline.

    from partner_sdk import TrustStore, Verifier
    store = TrustStore(root_public_key=ROOT_JWK, cache_dir="~/.cache/perkpass")
    store.load_url("https://perkpass.example.city/api/v1/trust-list")
    decision = Verifier(store, audience="library").verify(scanned_text)
    if decision.granted: ...

The top level is a verifier's surface: the trust store, the verifier and its decision, replay memory, the
root pinning helpers and the configuration errors. Issuing is not part of it: an issuer (the backend, test
helpers, tools) imports it from its modules — :mod:`partner_sdk.issue` (credentials), :mod:`partner_sdk.keys`
(key generation, PEM), :mod:`partner_sdk.trust` (building trust lists and root statements),
:mod:`partner_sdk.format` (the credential format: pseudonyms, lifetimes, QR text) — and
:mod:`partner_sdk.testing` signs with throw-away keys for integration tests.
"""

from .errors import (
    ConfigurationError,
    InvalidClockError,
    InvalidKeyError,
    PerkpassError,
    TrustListError,
    TrustListExpiredError,
    TrustListRollbackError,
    TrustListSignatureError,
    TrustListTooLargeError,
    TrustListUnavailableError,
)
from .keys import load_public_key, pinned_root, root_thumbprint
from .replay import MemoryReplayCache, ReplayCache, SQLiteReplayCache
from .trust import Freshness, FreshnessState, TrustedKey, TrustList, TrustStore
from .verify import Decision, Status, Verifier

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError", "InvalidClockError", "InvalidKeyError", "PerkpassError", "TrustListError",
    "TrustListExpiredError", "TrustListRollbackError", "TrustListSignatureError", "TrustListTooLargeError",
    "TrustListUnavailableError",
    "load_public_key", "pinned_root", "root_thumbprint",
    "MemoryReplayCache", "ReplayCache", "SQLiteReplayCache",
    "Freshness", "FreshnessState", "TrustedKey", "TrustList", "TrustStore",
    "Decision", "Status", "Verifier",
]
