from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate


class Base(Schema):
    """Strict by default: unknown fields are errors."""

    class Meta:
        unknown = RAISE
        ordered = True


class Text(fields.String):
    """A string without NUL or other control characters (PostgreSQL refuses NUL; logs hate them)."""

    _CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

    def __init__(self, *args, max_length: int = 200, min_length: int = 1, **kwargs):
        validators = list(kwargs.pop("validate", []) or [])
        validators.insert(0, validate.Length(min=min_length, max=max_length))
        super().__init__(*args, validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        out = super()._deserialize(value, attr, data, **kwargs)
        if self._CTRL.search(out):
            raise ValidationError("Control characters are not allowed.")
        return out


def Int(**kwargs):
    return fields.Integer(strict=True, **kwargs)


def Bool(**kwargs):
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


class I18nText(Base):
    en = fields.String(required=True)
    zh_CN = fields.String(required=True, data_key="zh-CN", attribute="zh-CN")


class ErrorBody(Base):
    code = fields.String(required=True, metadata={"description": "Stable machine-readable error code."})
    message = fields.String(required=True)
    field_errors = fields.Dict(required=True, data_key="fields",
                               metadata={"description": "Field name -> list of problems."})


class ErrorSchema(Base):
    error = fields.Nested(ErrorBody, required=True)


class PerkSchema(Base):
    code = fields.String(required=True)
    title = fields.Nested(I18nText, required=True)
    usage = fields.String(metadata={"description": "How often at one venue: visit (once per visit), day, month."})


class PerkFullSchema(PerkSchema):
    audience = fields.String(required=True)
    scheme = fields.String(required=True)


class JWKSchema(Base):
    kty = fields.String(required=True)
    crv = fields.String(required=True)
    x = fields.String(required=True)
    kid = fields.String(required=True)
    use = fields.String()
    alg = fields.String()


class StatusSchema(Base):
    status = fields.String(required=True)


class ReadinessSchema(Base):
    status = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={
        "description": "Each dependency and 'ok'; a failing one answers 503 not_ready with the reason per check."})
