"""The SDK is installable and usable alone, and its type hints (py.typed) are checked."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sdk_imports_nothing_beyond_pyjwt_and_cryptography():
    code = (
        "import sys, partner_sdk, partner_sdk.cli, partner_sdk.testing\n"
        "heavy = {'flask', 'sqlalchemy', 'kivy', 'qrcode', 'PIL', 'zxingcpp', 'numpy', 'cv2', 'requests'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_py_typed_marker_is_packaged():
    assert (ROOT / "partner_sdk" / "py.typed").exists()
    assert '"py.typed"' in (ROOT / "pyproject.toml").read_text()


def test_sdk_passes_mypy_strict():
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "partner_sdk"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
