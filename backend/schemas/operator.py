from marshmallow import fields, validate

from .common import Base, Int, Text


class PartnerIn(Base):
    name = Text(required=True, max_length=200)
    contact = Text(max_length=200)


class VenueBriefOut(Base):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    audience = fields.String(required=True)
    perks = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)


class PartnerOut(Base):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    contact = fields.String(allow_none=True)
    created_at = fields.Integer(required=True)
    venues = fields.List(fields.Nested(VenueBriefOut), required=True)


class PartnerListOut(Base):
    partners = fields.List(fields.Nested(PartnerOut), required=True)


class VenueIn(Base):
    partner_id = Int(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    name = Text(required=True, max_length=200)
    name_zh = Text(max_length=200, metadata={"description": "The name citizens reading Chinese see."})
    audience = Text(required=True, max_length=32)
    perks = fields.List(Text(max_length=32), validate=validate.Length(min=1, max=32))


class VenueOut(VenueBriefOut):
    partner_id = fields.Integer(required=True)
    name_zh = fields.String(allow_none=True)
    created_at = fields.Integer(required=True)


class EnrolmentCodeIn(Base):
    ttl_seconds = Int(validate=validate.Range(min=60, max=90 * 86400))


class EnrolmentCodeOut(Base):
    venue_id = fields.Integer(required=True)
    enrolment_code = fields.String(required=True, metadata={"description": "Shown once; stored hashed."})
    expires_at = fields.Integer(required=True)


class DeviceOut(Base):
    id = fields.String(required=True)
    venue_id = fields.Integer(required=True)
    name = fields.String(required=True)
    created_at = fields.Integer(required=True)
    last_seen_at = fields.Integer(allow_none=True)
    revoked_at = fields.Integer(allow_none=True)


class DeviceListOut(Base):
    devices = fields.List(fields.Nested(DeviceOut), required=True)


class ScoreRowIn(Base):
    """The columns of an import file (backend/services/scores.py IMPORT_COLUMNS): codes and numbers, no prose."""
    phone = Text(max_length=32, metadata={"description": "The citizen's phone number; or give citizen_id."})
    citizen_id = Text(max_length=32, metadata={"description": "The citizen's id (c_ and 24 hexadecimal digits)."})
    scheme = Text(required=True, max_length=32)
    score = Int(required=True)
    reason = Text(required=True, max_length=48, metadata={"description": "A registered reason code."})
    source_system = Text(required=True, max_length=48, metadata={"description": "A registered source system."})


class ScoreImportIn(Base):
    scores = fields.List(fields.Nested(ScoreRowIn), required=True, validate=validate.Length(min=1, max=5000))


class ImportReportOut(Base):
    rows = fields.Integer(required=True)
    imported = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    pending_review = fields.Integer(required=True, metadata={
        "description": "Decreases recorded as pending_review: a reviewer decides before they count."})
    skipped_not_enrolled = fields.Integer(required=True)


class ReplayScan(Base):
    venue_id = fields.Integer(required=True)
    venue_name = fields.String(required=True)
    device_id = fields.String(required=True)
    perk = fields.String(required=True)
    scanned_at = fields.Integer(required=True)
    pseudonym = fields.String(required=True)


class ReplayOut(Base):
    jti = fields.String(required=True)
    redemptions = fields.Integer(required=True)
    first_scanned_at = fields.Integer(required=True)
    last_scanned_at = fields.Integer(required=True)
    venues = fields.List(fields.Integer(), required=True)
    scans = fields.List(fields.Nested(ReplayScan), required=True)


class ReplayReportOut(Base):
    replays = fields.List(fields.Nested(ReplayOut), required=True)


class KeyOut(Base):
    kid = fields.String(required=True)
    role = fields.String(required=True)
    state = fields.String(required=True)
    created_at = fields.Integer(required=True)
    activates_at = fields.Integer(required=True)
    signs_until = fields.Integer(allow_none=True)
    not_after = fields.Integer(allow_none=True)
    retired_at = fields.Integer(allow_none=True)
    published = fields.Boolean(required=True)


class KeyListOut(Base):
    keys = fields.List(fields.Nested(KeyOut), required=True)


class RotateIn(Base):
    activate_in = Int(validate=validate.Range(min=0, max=30 * 86400))


class SchemeBand(Base):
    code = fields.String(required=True)
    min = fields.Integer(required=True)
    label = fields.Dict(required=True)


class SchemeOut(Base):
    code = fields.String(required=True)
    name = fields.Dict(required=True)
    city = fields.Dict(required=True)
    range = fields.Dict(required=True)
    base = fields.Integer(required=True)
    bands = fields.List(fields.Nested(SchemeBand), required=True)
    perks = fields.List(fields.Dict(), required=True)


class SchemeListOut(Base):
    schemes = fields.List(fields.Nested(SchemeOut), required=True)
