from marshmallow import fields, validate

from partner_sdk import upload

from .common import Base, Int, JWKSchema, PerkSchema, Text


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


# The upload's shape is partner_sdk.upload's (the kiosk builds its body from the same module): these schemas
# give it marshmallow's field-by-field errors and the OpenAPI document, with the limits taken from there.
_LONGEST = upload.MAX_LENGTHS


class RedemptionIn(Base):
    """The shape of one item (partner_sdk.upload.RedemptionItem). What it says (formats, venue, perk, time) is
    checked per item by backend.services.redemptions.check_items, so one implausible item is answered
    'rejected' and does not block the rest of the batch."""
    id = Text(required=True, max_length=_LONGEST["id"], validate=[validate.Regexp(upload.UUID_PATTERN)])
    jti = Text(required=True, max_length=_LONGEST["jti"])
    pseudonym = Text(required=True, max_length=_LONGEST["pseudonym"])
    perk = Text(required=True, max_length=_LONGEST["perk"])
    scanned_at = Int(required=True, metadata={"description": "Epoch seconds, the kiosk's clock."})


class RedemptionBatchIn(Base):
    redemptions = fields.List(fields.Nested(RedemptionIn), required=True,
                              validate=validate.Length(min=1, max=upload.MAX_ITEMS))


class RedemptionResult(Base):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf([o.value for o in upload.Outcome]))
    reason = fields.String(metadata={"description": "Only with 'rejected': a stable code (a client must accept one "
                                                    "it does not know): "
                                                    + ", ".join(f"{r.value} ({r.text})" for r in upload.Reason)})


class RedemptionBatchOut(Base):
    results = fields.List(fields.Nested(RedemptionResult), required=True)
    accepted = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
