"""Small cryptographic helpers: passphrase encryption at rest, hashing of tokens and codes."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from partner_sdk.format import b64url_decode, b64url_encode

_PREFIX = "scrypt-aesgcm-v1"
_R, _P = 8, 1
DEFAULT_COST = 15  # scrypt N = 2**15 (about 32 MiB, ~0.1 s); stored with each blob so it can change


class DecryptionError(Exception):
    """Wrong passphrase or tampered ciphertext."""


@lru_cache(maxsize=64)
def _derive(passphrase: str, salt: bytes, cost: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=2 ** cost, r=_R, p=_P).derive(passphrase.encode("utf-8"))


def encrypt(passphrase: str, plaintext: bytes, *, aad: bytes = b"", cost: int = DEFAULT_COST) -> str:
    """``scrypt-aesgcm-v1$<cost>$<salt>$<nonce>$<ciphertext>`` (AES-256-GCM, key from scrypt)."""
    if not 10 <= cost <= 20:
        raise ValueError("scrypt cost must be 10..20")
    salt = os.urandom(16)
    nonce = os.urandom(12)
    ct = AESGCM(_derive(passphrase, salt, cost)).encrypt(nonce, plaintext, aad)
    return "$".join([_PREFIX, str(cost), b64url(salt), b64url(nonce), b64url(ct)])


def decrypt(passphrase: str, blob: str, *, aad: bytes = b"") -> bytes:
    try:
        parts = blob.split("$")
        if len(parts) == 4:  # the first format of this session's development databases: cost 15 implied
            parts.insert(1, str(DEFAULT_COST))
        prefix, cost, salt, nonce, ct = parts
        if prefix != _PREFIX or not 10 <= int(cost) <= 20:
            raise ValueError(prefix)
        return AESGCM(_derive(passphrase, unb64url(salt), int(cost))).decrypt(unb64url(nonce), unb64url(ct), aad)
    except Exception as exc:  # InvalidTag, ValueError
        raise DecryptionError("cannot decrypt: wrong PERKPASS_KEY_PASSPHRASE or damaged data") from exc


def sha256_hex(value: str | bytes) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return hashlib.sha256(value).hexdigest()


def keyed_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def random_token(prefix: str, nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


_HUMAN = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: survives typing and HID scanners


def human_code(groups: int = 3, size: int = 4) -> str:
    return "-".join("".join(secrets.choice(_HUMAN) for _ in range(size)) for _ in range(groups))


# The SDK's base64url (no padding, strict alphabet), under the names the backend uses.
b64url = b64url_encode
unb64url = b64url_decode
