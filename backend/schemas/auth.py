from marshmallow import fields, validate

from .common import Base, Bool, I18nText, Text


class RequestCodeIn(Base):
    phone = Text(required=True, max_length=32, metadata={"example": "+8613800138000"})
    locale = fields.String(validate=validate.OneOf(["zh-CN", "en"]), load_default="zh-CN")


class RequestCodeOut(Base):
    sent = fields.Boolean(required=True)
    expires_in = fields.Integer(required=True)
    dev_code = fields.String(metadata={"description": "Only in development mode: the code that was sent."})


class ConsentIn(Base):
    version = Text(required=True, max_length=32)
    accepted = Bool(required=True)


class LoginIn(Base):
    phone = Text(required=True, max_length=32)
    code = Text(required=True, max_length=6, min_length=6, validate=[validate.Regexp(r"^[0-9]{6}\Z")])
    consent = fields.Nested(ConsentIn)
    locale = fields.String(validate=validate.OneOf(["zh-CN", "en"]))


class ConsentRecordOut(Base):
    version = fields.String(required=True)
    accepted_at = fields.Integer(required=True)


class CitizenBrief(Base):
    id = fields.String(required=True)
    phone_hint = fields.String(required=True, metadata={"description": "Last four digits only."})
    locale = fields.String(required=True)
    created_at = fields.Integer(required=True)
    consent = fields.Nested(ConsentRecordOut, allow_none=True)


class LoginOut(Base):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_at = fields.Integer(required=True)
    expires_in = fields.Integer(required=True)
    created = fields.Boolean(required=True, metadata={"description": "True when this log-in created the account."})
    citizen = fields.Nested(CitizenBrief, required=True)


class ConsentTextOut(Base):
    version = fields.String(required=True)
    text = fields.Nested(I18nText, required=True)
    sha256 = fields.String(required=True)


class LoggedOut(Base):
    logged_out = fields.Boolean(required=True)
