"""The linters `make test` runs before the test suite: ruff over the whole tree, then mypy.

Both are configured in pyproject.toml ([tool.ruff], [tool.mypy]): mypy checks partner_sdk strictly (it
ships py.typed) and kiosk/ and backend/ at its default level. Exit status 0 when both pass; otherwise the
names of the linters that failed are printed last. `python tools/lint.py` runs them alone.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LINTERS = [
    ("ruff", [sys.executable, "-m", "ruff", "check", "--no-fix", "."]),
    ("mypy", [sys.executable, "-m", "mypy"]),  # the files, and a cache in .mypy_cache, from pyproject.toml
]


def main() -> int:
    failed = []
    for name, cmd in LINTERS:
        t0 = time.monotonic()
        print(f"lint: {' '.join([name, *cmd[3:]])}", flush=True)
        rc = subprocess.call(cmd, cwd=ROOT)
        took = time.monotonic() - t0
        if rc != 0:
            failed.append(name)
            print(f"lint: {name} FAILED (exit {rc}, {took:.1f} s)", flush=True)
        else:
            print(f"lint: {name} passed ({took:.1f} s)", flush=True)
    if failed:
        print(f"lint failed: {', '.join(failed)} (see its findings above; config in pyproject.toml)",
              file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
