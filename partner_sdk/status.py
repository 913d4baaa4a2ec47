"""The answers a verifier gives: one :class:`Status` per scan. Its own module so that the text catalogue
(:mod:`partner_sdk.messages`) and the verifier can both name statuses without importing each other."""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    GRANTED = "GRANTED"
    NOT_ENTITLED = "NOT_ENTITLED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    REPLAYED = "REPLAYED"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    UNKNOWN_KEY = "UNKNOWN_KEY"
    WRONG_AUDIENCE = "WRONG_AUDIENCE"
    WRONG_ISSUER = "WRONG_ISSUER"
    MALFORMED = "MALFORMED"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    TRUST_LIST_EXPIRED = "TRUST_LIST_EXPIRED"
    REVOKED = "REVOKED"  # PP2: the certificate was withdrawn (perk lost, device removed, opt-out)
    CLOCK_SKEW = "CLOCK_SKEW"  # PP2: the phone's time is outside the window around this device's clock
