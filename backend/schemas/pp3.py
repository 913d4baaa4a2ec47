"""PP3 (issue 23): blind issuance of unlinkable-code certificates (partner_sdk.pp3)."""
from marshmallow import fields, validate

from .common import Base, I18nText, Text

B64URL = r"^[A-Za-z0-9_-]+\Z"


class Pp3CertificatesIn(Base):
    commitments = fields.List(
        Text(required=True, max_length=200, validate=[validate.Regexp(B64URL)]), required=True,
        validate=[validate.Length(min=1, max=16)], metadata={
            "description": "Hiding commitments to the phone's pseudonym secrets (partner_sdk.pp3.holder_request, "
                           "CFRG Blind BBS CommitWithNym), base64url, one per certificate to make."})


class Pp3PerkOut(Base):
    code = fields.String(required=True)
    title = fields.Nested(I18nText, required=True)


class Pp3CertificateOut(Base):
    commitment_index = fields.Integer(required=True, metadata={"description": "Which commitment this one used."})
    kid = fields.String(required=True)
    audience = fields.String(required=True)
    scheme = fields.String(required=True)
    perks = fields.List(fields.Nested(Pp3PerkOut), required=True)
    day = fields.Integer(required=True, metadata={"description": "Valid for this UTC day (days since 1970)."})
    signature = fields.String(required=True, metadata={"description": "base64url blind BBS signature."})
    signer_nym_entropy = fields.String(required=True, metadata={
        "description": "base64url, 32 bytes: added to the phone's secret part to make its pseudonym secret."})
    quota_window = fields.Integer(required=True, metadata={
        "description": "Seconds of the pseudonym's window at this venue type (from the trust list's policy)."})
    claims_block = fields.String(required=True, metadata={
        "description": "base64url: the code's compressed venue type and perks, the same for every holder."})


class Pp3CertificatesOut(Base):
    server_time = fields.Integer(required=True)
    issuer = fields.String(required=True, metadata={"description": "The issuer name the certificates are bound to."})
    public_key = fields.String(required=True, metadata={"description": "The issuer's BBS public key, base64url."})
    slot_seconds = fields.Integer(required=True)
    certificates = fields.List(fields.Nested(Pp3CertificateOut), required=True)
