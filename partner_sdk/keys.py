"""Ed25519 key helpers: generation, JWK export and tolerant loading of public keys."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import InvalidKeyError
from .format import b64url_decode, b64url_encode  # re-exported: keys.b64url_* is public




def generate_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 private key (for a signing key or a root key)."""
    return Ed25519PrivateKey.generate()


def _raw_public(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidKeyError("expected an Ed25519 key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def root_thumbprint(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The whole RFC 7638 SHA-256 thumbprint, base64url (43 characters): what an integrator pins and reads
    back to the operator over a second channel (``flask --app backend keys root`` prints it)."""
    x = b64url_encode(_raw_public(key))
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())


def jwk_thumbprint(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """RFC 7638 thumbprint, base64url, truncated to 16 characters: a stable default ``kid``."""
    return root_thumbprint(key)[:16]


def pinned_root(value: Any, thumbprint: str) -> Ed25519PublicKey:
    """The root key in ``value`` (anything :func:`load_public_key` reads, the backend's trust-root document
    included) if its :func:`root_thumbprint` is ``thumbprint``; :class:`InvalidKeyError` otherwise."""
    key = load_public_key(value)
    pin = thumbprint.strip()
    if pin.lower().startswith("sha256:"):
        pin = pin[len("sha256:"):]
    if not hmac.compare_digest(root_thumbprint(key).encode(), pin.encode()):
        raise InvalidKeyError(f"root key thumbprint {root_thumbprint(key)} is not the pinned {pin}")
    return key


def public_jwk(key: Ed25519PublicKey | Ed25519PrivateKey, kid: str | None = None) -> dict[str, str]:
    """The public half of ``key`` as an OKP JWK (never includes the private part)."""
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(_raw_public(key))}
    jwk["kid"] = kid if kid is not None else jwk_thumbprint(key)
    return jwk


def load_public_key(value: Any) -> Ed25519PublicKey:
    """Read an Ed25519 public key from a JWK (dict or JSON text), PEM, raw 32 bytes or a key object; also
    the issuer's ``/api/v1/trust-root`` document, ``{"issuer": …, "root_public_key": JWK}``, as published.

    Raises :class:`InvalidKeyError` for anything else, including RSA/EC keys and private JWKs
    (a private key handed to a verifier is a configuration mistake worth stopping for).
    """
    if isinstance(value, Ed25519PublicKey):
        return value
    if isinstance(value, Ed25519PrivateKey):
        raise InvalidKeyError("a private key was given where a public key is expected")
    try:
        if isinstance(value, (bytes, bytearray)) and len(value) == 32:
            return Ed25519PublicKey.from_public_bytes(bytes(value))
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8")
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("-----BEGIN"):
                key = serialization.load_pem_public_key(text.encode())
                if not isinstance(key, Ed25519PublicKey):
                    raise InvalidKeyError("PEM key is not Ed25519")
                return key
            value = json.loads(text)
        if isinstance(value, dict) and "kty" not in value and isinstance(value.get("root_public_key"), dict):
            value = value["root_public_key"]  # the trust-root document wraps the JWK
        if isinstance(value, dict):
            if value.get("kty") != "OKP" or value.get("crv") != "Ed25519":
                raise InvalidKeyError("JWK is not an OKP Ed25519 key")
            if "d" in value:
                raise InvalidKeyError("JWK contains a private key; give the public key only")
            raw = b64url_decode(str(value["x"]))
            if len(raw) != 32:
                raise InvalidKeyError("Ed25519 public key must be 32 bytes")
            return Ed25519PublicKey.from_public_bytes(raw)
    except InvalidKeyError:
        raise
    except Exception as exc:  # every parsing failure is one configuration error
        raise InvalidKeyError(f"cannot read public key: {exc}") from exc
    raise InvalidKeyError(f"cannot read a public key from {type(value).__name__}")


def private_key_to_pem(key: Ed25519PrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with ``passphrase`` when given (keys at rest must be)."""
    enc: serialization.KeySerializationEncryption
    enc = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def private_key_from_pem(pem: bytes, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except Exception as exc:
        raise InvalidKeyError(f"cannot read private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidKeyError("private key is not Ed25519")
    return key
