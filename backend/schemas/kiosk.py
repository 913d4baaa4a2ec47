from marshmallow import fields, validate

from .common import Base, Int, JWKSchema, PerkSchema, Text

UUID_RE = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"


class EnrolIn(Base):
    enrolment_code = Text(required=True, max_length=40)
    device_name = Text(required=True, max_length=120)


class VenueConfigVenue(Base):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    audience = fields.String(required=True)
    perks = fields.List(fields.Nested(PerkSchema), required=True)


class VenueConfigOut(Base):
    device_id = fields.String(allow_none=True)
    venue = fields.Nested(VenueConfigVenue, required=True)
    issuer = fields.String(required=True)
    root_public_key = fields.Nested(JWKSchema, required=True)
    trust_list = fields.String(required=True, metadata={"description": "Compact JWS signed by the root key."})
    trust_list_url = fields.String(required=True)


class EnrolOut(VenueConfigOut):
    device_token = fields.String(required=True, metadata={"description": "Bearer token; shown once, stored hashed."})


class RedemptionIn(Base):
    """The shape of one item. What it says (formats, venue, perk, time) is checked per item by
    backend.services.redemptions.check_item, so one implausible item is answered 'rejected' and does not
    block the rest of the batch."""
    id = Text(required=True, max_length=36, validate=[validate.Regexp(UUID_RE)])
    jti = Text(required=True, max_length=64)
    pseudonym = Text(required=True, max_length=64)
    perk = Text(required=True, max_length=32)
    scanned_at = Int(required=True, metadata={"description": "Epoch seconds, the kiosk's clock."})


class RedemptionBatchIn(Base):
    redemptions = fields.List(fields.Nested(RedemptionIn), required=True,
                              validate=validate.Length(min=1, max=500))


class RedemptionResult(Base):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["accepted", "duplicate", "rejected"]))
    reason = fields.String(metadata={"description": "Only with 'rejected': a stable code such as wrong_audience, "
                                                    "perk_not_offered, unknown_certificate, scanned_in_future."})


class RedemptionBatchOut(Base):
    results = fields.List(fields.Nested(RedemptionResult), required=True)
    accepted = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
