"""The one rule for a staff PIN: 4 to 12 digits. Enrolment, the PIN screen, the store and the HID router
all ask here, so the rule cannot drift between them."""
from __future__ import annotations

PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 12


def is_valid_pin(pin: object) -> bool:
    return isinstance(pin, str) and pin.isdigit() and PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS


def could_be_pin(typed: str) -> bool:
    """True when keys typed on the PIN screen may be a PIN attempt (wrong or not); False when they can only be
    a code from a hand scanner (letters, or more digits than a PIN has), which is then checked as a scan."""
    return not typed or (typed.isdigit() and len(typed) <= PIN_MAX_DIGITS)
