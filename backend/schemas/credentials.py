from marshmallow import fields, validate

from .common import Base, PerkSchema, Text


class IssueIn(Base):
    audience = Text(required=True, max_length=32, validate=[validate.Regexp(r"^[a-z][a-z0-9-]{1,31}\Z")])
    scheme = Text(max_length=32, validate=[validate.Regexp(r"^[a-z][a-z0-9-]{1,31}\Z")])
    render = fields.List(fields.String(validate=validate.OneOf(["svg", "png"])), validate=validate.Length(max=2),
                         load_default=list)


class IssueOut(Base):
    eligible = fields.Boolean(required=True)
    audience = fields.String(required=True)
    scheme = fields.String(allow_none=True)
    perks = fields.List(fields.Nested(PerkSchema), required=True)
    qr_text = fields.String(allow_none=True, metadata={"description": "PP1 transport text to render as a QR code."})
    jti = fields.String(allow_none=True)
    issued_at = fields.Integer(allow_none=True)
    expires_at = fields.Integer(allow_none=True)
    refresh_after = fields.Integer(allow_none=True,
                                   metadata={"description": "Seconds after which to fetch a new code."})
    qr_version = fields.Integer(allow_none=True)
    qr_svg = fields.String(metadata={"description": "SVG image when render contains 'svg'."})
    qr_png = fields.String(metadata={"description": "data:image/png;base64 URI when render contains 'png'."})
    other_schemes = fields.List(fields.String(), metadata={"description": "Other schemes giving perks here."})
    message = fields.String(allow_none=True)
    message_zh = fields.String(allow_none=True)
