"""Run the linters and then the whole test suite, the way CI does.

ruff and mypy run first (tools/lint.py); the tests run even when a linter failed, so one run shows both,
and the exit status is then non-zero. Kivy tests need a screen: when there is no $DISPLAY and Xvfb is
installed, the suite runs under a private Xvfb server. pytest's exit code 5 (no tests collected) is a
failure here, never a silent pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import lint  # tools/lint.py: this script's directory is first on sys.path


def main() -> int:
    lint_rc = lint.main()
    args = [sys.executable, "-m", "pytest", *sys.argv[1:]]
    env = dict(os.environ)
    if not env.get("DISPLAY") and shutil.which("xvfb-run"):
        args = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", *args]
    rc = subprocess.call(args, env=env)
    if rc == 5:
        print("no tests were collected: treating as a failure", file=sys.stderr)
        rc = 1
    if lint_rc != 0:
        print("make test: the tests ran, but a linter failed (its findings are at the top)", file=sys.stderr)
        return rc or lint_rc
    return rc


if __name__ == "__main__":
    sys.exit(main())
