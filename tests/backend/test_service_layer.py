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
