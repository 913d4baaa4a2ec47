"""The signed trust list and the JWKS of published signing keys."""
from flask import Blueprint, Response, request

from ..settings import settings
from ..schemas.trust import JWKSOut, RootKeyOut
from ..services import trust_list as trust_service
from .common import endpoint, now

bp = Blueprint("trust", __name__)


@endpoint(bp, "/api/v1/trust-list", summary="The current trust list (compact JWS signed by the root key).",
          produces={"application/jwt": {"type": "string"}},
          description="Supports If-None-Match (304). Verifiers pin the root key and refresh at next_update.")
def trust_list():
    row = trust_service.current(now())
    tag = trust_service.etag(row)
    max_age = max(60, min(3600, settings().trust_list_next_update // 24))
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}"}
    inm = request.headers.get("If-None-Match", "")
    if tag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
        resp = Response(status=304)
    else:
        resp = Response(row.jws, mimetype="application/jwt")
    for k, v in headers.items():
        resp.headers[k] = v
    return resp


@endpoint(bp, "/.well-known/jwks.json", summary="Published credential-signing keys as a JWKS.", response=JWKSOut)
def jwks():
    out = trust_service.jwks(now())
    return out, 200, {"Cache-Control": "public, max-age=300"}


@endpoint(bp, "/api/v1/trust-root", summary="The issuer name and the root public key verifiers pin.",
          response=RootKeyOut)
def trust_root():
    return {"issuer": settings().issuer, "root_public_key": trust_service.root_jwk()}
