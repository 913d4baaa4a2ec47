import time

from marshmallow import ValidationError, fields, validate, validates

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
    id = Text(required=True, max_length=36, validate=[validate.Regexp(UUID_RE)])
    jti = Text(required=True, max_length=64, validate=[validate.Regexp(r"^[A-Za-z0-9_-]{8,64}\Z")])
    pseudonym = Text(required=True, max_length=64, validate=[validate.Regexp(r"^[A-Za-z0-9_-]{8,64}\Z")])
    perk = Text(required=True, max_length=32, validate=[validate.Regexp(r"^[A-Z0-9][A-Z0-9-]{0,31}\Z")])
    scanned_at = Int(required=True)

    @validates("scanned_at")
    def _sane_time(self, value, **_kw):
        if value < 1_577_836_800 or value > int(time.time()) + 86_400:  # 2020-01-01 .. tomorrow
            raise ValidationError("scanned_at must be epoch seconds between 2020 and tomorrow.")


class RedemptionBatchIn(Base):
    redemptions = fields.List(fields.Nested(RedemptionIn), required=True,
                              validate=validate.Length(min=1, max=500))


class RedemptionResult(Base):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["accepted", "duplicate"]))


class RedemptionBatchOut(Base):
    results = fields.List(fields.Nested(RedemptionResult), required=True)
    accepted = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
