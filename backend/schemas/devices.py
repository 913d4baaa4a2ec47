"""Citizens' phones as PP2 holders: device registration and perk certificates."""
from marshmallow import fields, validate

from .common import Base, I18nText, Text

B64URL = r"^[A-Za-z0-9_-]+\Z"


class ChallengeOut(Base):
    challenge = fields.String(required=True,
                              metadata={"description": "32 random bytes, base64url; valid 2 minutes, once."})
    expires_at = fields.Integer(required=True)
    sign = fields.String(required=True, metadata={"description": "What the device signs."})


class HolderDeviceIn(Base):
    algorithm = Text(required=True, max_length=8, validate=[validate.OneOf(["Ed25519", "P-256"])])
    public_key = Text(required=True, max_length=100, validate=[validate.Regexp(B64URL)], metadata={
        "description": "WebCrypto raw export, base64url: Ed25519 32 bytes, P-256 65 (or compressed 33) bytes."})
    challenge = Text(required=True, max_length=64, validate=[validate.Regexp(B64URL)])
    signature = Text(required=True, max_length=100, validate=[validate.Regexp(B64URL)], metadata={
        "description": "Ed25519, or ECDSA P-256/SHA-256 as r||s (WebCrypto's form), base64url."})
    label = Text(required=True, max_length=64)


class HolderDeviceOut(Base):
    id = fields.String(required=True)
    label = fields.String(required=True)
    algorithm = fields.String(required=True)
    created_at = fields.Integer(required=True)
    last_certified_at = fields.Integer(allow_none=True, required=True)


class HolderDeviceListOut(Base):
    devices = fields.List(fields.Nested(HolderDeviceOut), required=True)
    max_devices = fields.Integer(required=True)


class HolderDeviceRemovedOut(Base):
    removed = fields.Boolean(required=True)
    certificates_revoked = fields.Integer(required=True)


class CertPerkOut(Base):
    code = fields.String(required=True)
    title = fields.Nested(I18nText, required=True)


class CertificateOut(Base):
    cert_id = fields.String(required=True, metadata={"description": "Fresh random id: the venue's only handle."})
    audience = fields.String(required=True)
    scheme = fields.String(required=True)
    perks = fields.List(fields.Nested(CertPerkOut), required=True)
    not_before = fields.Integer(required=True)
    not_after = fields.Integer(required=True)
    renew_after = fields.Integer(required=True, metadata={"description": "Ask again after this instant when online."})
    certificate = fields.String(required=True, metadata={"description": "base64url certificate (partner_sdk.pp2)."})


class CertificatesOut(Base):
    server_time = fields.Integer(required=True, metadata={"description": "For the phone's clock offset."})
    presentation_window = fields.Integer(required=True)
    slot_seconds = fields.Integer(required=True)
    pp3_pending = fields.Integer(required=True, metadata={
        "description": "PP3 certificates the citizen can get today (POST /api/v1/me/pp3/certificates); 0 when off."})
    certificates = fields.List(fields.Nested(CertificateOut), required=True)
