"""OpenAPI 3 document generated from the endpoint registry and the marshmallow schemas."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from ..schemas.common import ErrorSchema
from .bearer import BEARER_ROLES
from .common import REGISTRY

_STATUS_TEXT = {
    400: "Malformed JSON, wrong types, unknown fields or invalid values.",
    401: "Missing or invalid bearer token.",
    403: "Forbidden.",
    404: "Not found.",
    409: "Conflict.",
    413: "Request body too large.",
    415: "Body is not application/json.",
    429: "Rate limited.",
    503: "Unavailable.",
}


def _path(rule: str) -> tuple[str, list]:
    params = []

    def repl(m):
        conv, name = m.group(1), m.group(2)
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer" if conv == "int" else "string"}})
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", repl, rule), params


def build_spec(app) -> dict:
    from .. import __version__
    spec = APISpec(title="Perkpass issuer API", version=__version__, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Enrols citizens, issues perk credentials, publishes the trust list, "
                                        "enrols kiosks and collects redemptions. Errors are always "
                                        "{\"error\": {\"code\", \"message\", \"fields\"}}."})
    spec.components.schema("Error", schema=ErrorSchema)
    for role in BEARER_ROLES.values():
        spec.components.security_scheme(role.name, {"type": "http", "scheme": "bearer",
                                                    "description": role.description})
    paths: dict[str, dict] = {}
    for ep in REGISTRY:
        path, params = _path(ep.rule)
        op: dict = {"summary": ep.summary, "tags": [ep.tag], "operationId": f"{ep.tag}_{ep.method}_{path}"
                    .replace("/", "_").replace("{", "").replace("}", "").replace("-", "_")}
        if ep.description:
            op["description"] = ep.description
        if params:
            op["parameters"] = params
        if ep.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ep.body}}}
        ok: dict = {"description": "Success"}
        if ep.response is not None:
            ok["content"] = {"application/json": {"schema": ep.response}}
        for ctype, schema in ep.produces.items():
            ok.setdefault("content", {})[ctype] = {"schema": schema}
        responses = {str(ep.status): ok}
        codes = set(ep.errors)
        if ep.body is not None:
            codes |= {400, 413, 415}
        if ep.auth is not None:
            codes.add(401)
            op["security"] = [{ep.auth: []}]
        for c in sorted(codes):
            responses[str(c)] = {"description": _STATUS_TEXT.get(c, "Error"),
                                 "content": {"application/json": {"schema": "Error"}}}
        op["responses"] = responses
        paths.setdefault(path, {})[ep.method] = op
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return spec.to_dict()
