"""Providers' references are identifiers, not text.

Each provider registers the format of its references in the catalogue (approved by a second operator): a
template of fixed capital letters, digits, ``-`` and ``/``, with ``#`` for each digit that varies, such as
``FZ-TP-####-######``. A reference must match its provider's template exactly, so the only thing it can
carry beyond the approved fixed part is digits. The ledger stores a keyed digest of it (HMAC-SHA-256 with
``PERKPASS_REFERENCE_KEY``), never the readable reference: the provider sends the reference again to
withdraw an event or ask about it, and the digest is recomputed. Without the key the digests cannot be
recomputed from a guessed ticket number.

Rotation, as with a multi-key Fernet: ``PERKPASS_REFERENCE_KEY`` lists keys newest first (separated by
spaces or commas). New events are stored under the first; an event stored under an older key is still
found (a re-sent batch is a duplicate, a withdrawal finds it) because every key's digest is looked up. The
readable references are not stored, so stored digests cannot be re-keyed: an old key is dropped from the list
only when its events no longer need finding (after the retention of provider events).
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import re

from flask import current_app

from ...settings import settings_of
from ..errors import InvalidInput

# the template: 4..40 characters, at least 4 digit places, fixed part of capitals, digits, - and /
FORMAT_RE = re.compile(r"^[A-Z0-9#/-]{4,40}\Z")
MIN_DIGIT_PLACES = 4
MAX_FIXED_LETTERS = 12  # an agency prefix, not words


def check_format(template: object) -> str:
    """The template, or :class:`InvalidInput` saying what is wrong with it."""
    if not isinstance(template, str) or not FORMAT_RE.match(template):
        raise InvalidInput("A reference format is 4 to 40 characters: capital letters, digits, - and /, with # for "
                           "each digit that varies (like FZ-TP-####-######).", {"reference_format": ["Bad format."]})
    if template.count("#") < MIN_DIGIT_PLACES:
        raise InvalidInput("A reference format needs at least 4 digit places (#).",
                           {"reference_format": ["At least 4 #."]})
    if sum(ch.isalpha() for ch in template) > MAX_FIXED_LETTERS:
        raise InvalidInput(f"A reference format's fixed part has at most {MAX_FIXED_LETTERS} letters (a prefix, "
                           "not words).", {"reference_format": ["Too many letters."]})
    return template


@functools.lru_cache(maxsize=256)
def compile_format(template: str) -> re.Pattern:
    """The anchored, ASCII-only regular expression of a (checked) template."""
    parts = []
    for ch in template:
        parts.append(r"[0-9]" if ch == "#" else re.escape(ch))
    return re.compile("^" + "".join(parts) + r"\Z", re.ASCII)


def matches(template: str, reference: object) -> bool:
    return isinstance(reference, str) and reference.isascii() and bool(compile_format(template).match(reference))


def reference_keys(app=None) -> tuple[bytes, ...]:
    """The HMAC keys, newest first: the first digests new references, every one is looked up. They are a
    setting (backend/settings.py): production refuses to start without strong ones (fail closed); elsewhere
    a key derived from SECRET_KEY keeps development and tests working."""
    return settings_of(app or current_app).reference_keys


def reference_key(app=None) -> bytes:
    """The key new references are digested with (the newest)."""
    return reference_keys(app)[0]


def digest(key: bytes, provider_code: str, reference: str) -> str:
    """The keyed digest stored for a provider's reference (64 hex characters)."""
    return hmac.new(key, f"{provider_code}\x00{reference}".encode(), hashlib.sha256).hexdigest()


def digests(keys: tuple[bytes, ...], provider_code: str, reference: str) -> list[str]:
    """The reference's digest under every key, newest first: what a lookup of a stored event searches."""
    return [digest(k, provider_code, reference) for k in keys]
