from marshmallow import fields

from .auth import CitizenBrief
from .common import Base, I18nText, PerkFullSchema, Text


class BandOut(Base):
    code = fields.String(required=True)
    label = fields.Nested(I18nText, required=True)


class RangeOut(Base):
    min = fields.Integer(required=True)
    max = fields.Integer(required=True)


class MembershipOut(Base):
    scheme = fields.String(required=True)
    name = fields.Nested(I18nText, required=True)
    score = fields.Integer(required=True, metadata={"description": "The citizen's own score: shown only to them."})
    band = fields.Nested(BandOut, required=True)
    range = fields.Nested(RangeOut, required=True)
    updated_at = fields.Integer(required=True)
    perks = fields.List(fields.Nested(PerkFullSchema), required=True)


class MeOut(CitizenBrief):
    schemes = fields.List(fields.Nested(MembershipOut), required=True)


class JoinSchemeIn(Base):
    scheme = Text(required=True, max_length=32)


class MyPerksOut(Base):
    perks = fields.List(fields.Nested(PerkFullSchema), required=True)
    audiences = fields.List(fields.String(), required=True, metadata={
        "description": "Audiences where the citizen can get a code."})


class VenueBrief(Base):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_zh = fields.String(allow_none=True, metadata={"description": "The venue's name in Chinese, when known."})


class MyRedemptionOut(Base):
    id = fields.String(required=True)
    perk = fields.String(required=True)
    perk_title = fields.Nested(I18nText, required=True)
    scanned_at = fields.Integer(required=True)
    audience = fields.String(required=True)
    venue = fields.Nested(VenueBrief, required=True)
    flagged_replay = fields.Boolean(required=True, metadata={
        "description": "The same code was also accepted at another venue: maybe someone copied it."})


class MyRedemptionsOut(Base):
    redemptions = fields.List(fields.Nested(MyRedemptionOut), required=True)
    retention_days = fields.Integer(required=True, metadata={
        "description": "Records older than this many days are deleted (PERKPASS_RETENTION_DAYS)."})


class OptOutIn(Base):
    confirm = fields.Boolean(required=True, truthy={True}, falsy={False}, metadata={
        "description": "Must be true: deletes the account and all personal data."})


class OptOutOut(Base):
    deleted = fields.Boolean(required=True)
    memberships_deleted = fields.Integer(required=True)
    redemptions_deleted = fields.Integer(required=True)
