"""The services room keeps its rules (docs/architecture.md): services answer with domain errors, never with
the HTTP-shaped APIError; nothing in services imports the HTTP views or a command module; callers outside
the ledger package import the package, not its modules."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted((ROOT / "backend" / "services").rglob("*.py"))


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of every import in a backend file, relative imports resolved."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.append((module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: str(p.relative_to(ROOT / "backend" / "services")))
def test_a_service_raises_domain_errors_and_imports_no_view(path):
    imports = _imports(path)
    assert not [m for m, names in imports if m == "backend.http.errors"], \
        "services raise backend.services.errors (DomainError), mapped to HTTP once in backend/http/errors.py"
    assert "APIError" not in {n.id for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                              if isinstance(n, ast.Name)}
    bad = [m for m, names in imports
           if m.startswith("backend.api") or m in ("backend.cli.commands", "backend.cli.common", "backend.cli.ledger",
                                                   "backend.cli.console")]
    assert not bad, f"a service imports the HTTP or command-line layer: {bad}"


def test_outside_the_ledger_package_only_the_package_is_imported():
    inner = {"backend.services.ledger." + p.stem for p in (ROOT / "backend" / "services" / "ledger").glob("*.py")}
    inner.discard("backend.services.ledger.__init__")
    package = ROOT / "backend" / "services" / "ledger"
    offenders = []
    for path in sorted((ROOT / "backend").rglob("*.py")):
        if path.parent == package:
            continue  # the package's own modules import each other
        offenders += [f"{path.relative_to(ROOT)}: {m}" for m, _ in _imports(path) if m in inner]
    assert not offenders, offenders


# What a view may still answer itself: the HTTP edge, never a rule of the product (issue 20, "services decide,
# views translate"). Who is calling was not proved or the console session/CSRF token is missing; the body is
# not JSON, not an object, or fails the request's shape; the process is not ready; too many requests.
HTTP_ONLY_CODES = {
    "unauthorized", "signed_out", "csrf",                          # authentication: header, session, form token
    "invalid_json", "unsupported_media_type", "validation_error",  # request shape
    "not_ready",                                                   # the readiness probe (GET /readyz)
    "rate_limited",                                                # request throttling (backend/http/ratelimit.py)
}
EDGE = sorted([*(ROOT / "backend" / "api").glob("*.py"), *(ROOT / "backend" / "http").glob("*.py")])


def _api_errors(path: Path) -> list[tuple[int, str | None]]:
    """(line, code) of every ``APIError(status, code, ...)`` built in a file; code None when not a literal."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "APIError":
            code = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "code"),
                                                                  None)
            out.append((node.lineno, code.value if isinstance(code, ast.Constant) else None))
    return out


@pytest.mark.parametrize("path", EDGE, ids=lambda p: str(p.relative_to(ROOT / "backend")))
def test_a_view_raises_apierror_only_for_http_concerns(path):
    """A business rule ("not enrolled", "device limit reached", "unknown venue") is a service's domain error
    (backend/services/errors.py), answered by the one mapping in backend/http/errors.py (DOMAIN_STATUS)."""
    found = _api_errors(path)
    rules = [f"line {line}: {code!r}" for line, code in found if code not in HTTP_ONLY_CODES]
    assert not rules, ("APIError for what is not an HTTP concern: raise a DomainError from the service instead "
                       f"(or, for a view translating a service's answer, a DomainError here): {rules}")


def test_the_http_only_rule_can_tell():
    """The check sees a business rule written as an APIError (and a code it cannot read)."""
    import tempfile
    source = ('def v():\n    raise APIError(409, "too_many_devices", "Remove one first.", {})\n'
              'def w(c):\n    raise APIError(400, c, "?")\n'
              'def x():\n    raise APIError(401, "unauthorized", "Log in.", {})\n')
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    found = _api_errors(Path(f.name))
    Path(f.name).unlink()
    assert found == [(2, "too_many_devices"), (4, None), (6, "unauthorized")]
    assert [c for _, c in found if c not in HTTP_ONLY_CODES] == ["too_many_devices", None]
