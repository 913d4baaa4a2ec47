"""Rules for the tests themselves (the browser tests first), found the hard way.

Playwright's ``wait_for_function`` evaluates its string with ``eval`` on every poll unless the string is
a function, whose first evaluation (inside the DevTools call, where Chromium lets ``eval`` past the CSP)
is cached. Our pages forbid ``unsafe-eval``, so an expression predicate passes only when it is already
true on the first try and fails with "EvalError ... Content Security Policy" when it has to wait — a
timing-dependent failure that reached CI once. Every predicate must therefore be an arrow function.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _predicates():
    for path in sorted([*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "wait_for_function" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node.args[0].value


def _is_function(source: str) -> bool:
    text = source.strip()
    return text.startswith(("(", "async (", "function", "async function")) and "=>" in text or text.startswith("function")


def test_every_wait_for_function_predicate_is_a_function():
    found = list(_predicates())
    assert len(found) >= 5, "the scan no longer finds the browser tests' predicates"
    expressions = [where for where, source in found if not _is_function(source)]
    assert not expressions, f"use an arrow function, not an expression (CSP blocks eval on re-poll): {expressions}"


def test_the_rule_tells_expressions_from_functions():
    assert _is_function("() => document.title")
    assert _is_function("(j) => { return j; }")
    assert _is_function("async () => { await 1; }")
    assert not _is_function("document.title.length > 0")
    assert not _is_function("[...document.images].every(i => i.complete)")


def test_no_test_imports_a_bare_conftest():
    # tests/backend, tests/kiosk, tests/browser each have a conftest.py; "import conftest" gets whichever pytest
    # put on sys.path first, which depends on the order the suite collects (it broke CI once): name the package
    bare = []
    for path in sorted(ROOT.glob("tests/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            from_conftest = isinstance(node, ast.ImportFrom) and node.module == "conftest" and node.level == 0
            import_conftest = isinstance(node, ast.Import) and any(a.name == "conftest" for a in node.names)
            if from_conftest or import_conftest:
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bare, f"import from tests.<folder>.conftest instead: {bare}"
