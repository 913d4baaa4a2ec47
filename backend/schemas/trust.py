from marshmallow import fields

from .common import Base, JWKSchema


class PublishedJWK(JWKSchema):
    pass


class JWKSOut(Base):
    keys = fields.List(fields.Nested(PublishedJWK), required=True)


class RootKeyOut(Base):
    issuer = fields.String(required=True)
    root_public_key = fields.Nested(JWKSchema, required=True)
