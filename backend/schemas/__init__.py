"""marshmallow schemas for every request and response body (the OpenAPI document is built from them)."""
from .common import ErrorSchema

__all__ = ["ErrorSchema"]
