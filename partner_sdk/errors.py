"""The one exception hierarchy of the partner SDK.

Like pyjwt, it separates a *bad configuration* (the integrator must fix something: a wrong root key, an
unreadable or forged trust list) from a *bad code* shown by a citizen. Bad codes never raise: they are
answered with a :class:`partner_sdk.verify.Decision`. Only configuration and issuer-side misuse raise.
"""

from __future__ import annotations


class PerkpassError(Exception):
    """Base class of every exception the SDK raises."""


class ConfigurationError(PerkpassError):
    """The verifier or issuer is set up wrongly; no citizen input can cause this."""


class InvalidClockError(ConfigurationError, ValueError):
    """The ``now`` given to the SDK is not a usable time: NaN, infinite, a bool, a naive datetime, before
    1970 or absurdly far ahead. A caller's programming error, never a citizen's: raised, never answered
    with a Decision, so a broken clock can never grant."""


class InvalidKeyError(ConfigurationError):
    """A key (root, issuer or signing key) could not be read or is not an Ed25519 key."""


class TrustListError(ConfigurationError):
    """A trust list could not be read or used."""


class TrustListSignatureError(TrustListError):
    """The trust list is not signed by the pinned root key, or is not a Perkpass trust list at all."""


class TrustListRollbackError(TrustListError):
    """The trust list is older (lower sequence number) than the one already held: possible rollback."""


class TrustListExpiredError(TrustListError):
    """The trust list had already expired (``exp``) at the time it was loaded: it is not adopted."""


class TrustListTooLargeError(TrustListError):
    """The trust list is (or, for an issuer building one, would be) over ``MAX_TRUST_LIST_BYTES``."""


class TrustListUnavailableError(TrustListError):
    """No trust list could be fetched and none is cached."""


class IssuanceError(PerkpassError):
    """The issuer was asked for a credential the format does not allow (bad audience, too long a lifetime…)."""
