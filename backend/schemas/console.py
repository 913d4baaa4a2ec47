"""Bodies of the console API and of the kiosk's self-report (issue 13)."""
from __future__ import annotations

from marshmallow import fields, validate

from .common import Base, Int, Text

STATUS_KEY = validate.Regexp(r"^[A-Z][A-Z_]{1,31}\Z", error="Result names look like GRANTED or EXPIRED.")


class TrustListState(Base):
    seq = Int(validate=validate.Range(min=0, max=2 ** 40), allow_none=True)
    issued_at = Int(validate=validate.Range(min=0, max=2 ** 40), allow_none=True)
    next_update = Int(validate=validate.Range(min=0, max=2 ** 40), allow_none=True)


class ScanDay(Base):
    day = Text(required=True, max_length=10, validate=[validate.Regexp(r"^\d{4}-\d{2}-\d{2}\Z")])
    counts = fields.Dict(keys=fields.String(validate=STATUS_KEY),
                         values=Int(validate=validate.Range(min=0, max=2 ** 31 - 1)), required=True,
                         validate=validate.Length(max=32))


class KioskReportIn(Base):
    app_version = Text(max_length=40, validate=[validate.Regexp(r"^[A-Za-z0-9._+-]{1,40}\Z")])
    trust_list = fields.Nested(TrustListState)
    pending = Int(validate=validate.Range(min=0, max=2 ** 31 - 1))
    scans = fields.List(fields.Nested(ScanDay), validate=validate.Length(max=62), metadata={
        "description": "Whole-day totals by result on the kiosk's local days (GRANTED once per perk); "
                       "a re-sent day replaces the stored one. Counts only: no code, no pseudonym."})


class KioskReportOut(Base):
    stored = fields.Integer(required=True)


class LoginIn(Base):
    username = Text(required=True, max_length=64)
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))
    code = Text(required=True, max_length=12)


class PasswordIn(Base):
    old_password = fields.String(required=True, validate=validate.Length(min=1, max=256))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class AccountIn(Base):
    username = Text(required=True, max_length=64)
    role = fields.String(required=True, validate=validate.OneOf(["operator", "reviewer"]))


class DecisionIn(Base):
    decision = fields.String(required=True, validate=validate.OneOf(["confirm", "reverse"]))
    reason = Text(required=True, min_length=10, max_length=2000)


class EnrolmentCodeIn(Base):
    ttl_hours = Int(validate=validate.Range(min=1, max=24 * 30))
