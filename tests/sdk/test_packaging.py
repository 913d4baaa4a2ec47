"""Each kind of user's install, built from this checkout and installed into a fresh virtual environment.

* integrators: `pip install perkpass` -> partner_sdk and perkpass-verify, nothing of the server or the kiosk;
* operators: perkpass-server (packaging/server) -> the backend, its static files, migrations and schemes;
* venue staff: perkpass-kiosk (packaging/kiosk) -> the kiosk and perkpass-kiosk;
* developers: `make install` -> all three, editable, in .venv.

The wheels are built with this .venv's setuptools; each fresh environment gets the wheels it is about
(`pip install --no-deps`) plus, symlinked from .venv, exactly the distributions their Requires-Dist name
(recursively), so nothing is fetched and nothing else is importable.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import partner_sdk

ROOT = Path(__file__).resolve().parents[2]
DISTS = {"perkpass": ROOT, "perkpass-server": ROOT / "packaging" / "server", "perkpass-kiosk": ROOT / "packaging" / "kiosk"}
T0 = 1_795_000_000


def test_sdk_imports_nothing_beyond_pyjwt_and_cryptography():
    code = (
        "import sys, partner_sdk, partner_sdk.cli, partner_sdk.testing\n"
        "heavy = {'flask', 'sqlalchemy', 'kivy', 'qrcode', 'PIL', 'zxingcpp', 'numpy', 'cv2', 'requests'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_py_typed_marker_is_packaged(wheels):
    assert "partner_sdk/py.typed" in zipfile.ZipFile(wheels["perkpass"]).namelist()


def test_sdk_passes_mypy_strict():
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "partner_sdk"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


# ------------------------------------------------------------------ fresh environments
@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    # built from a copy of what the distributions are made of, so build/ and *.egg-info stay out of the checkout
    src_root = tmp_path_factory.mktemp("checkout")
    for item in ("pyproject.toml", "README.md", "partner_sdk", "backend", "kiosk", "assets", "packaging"):
        if (ROOT / item).is_dir():
            shutil.copytree(ROOT / item, src_root / item, ignore=shutil.ignore_patterns("__pycache__", "build"))
        else:
            shutil.copy2(ROOT / item, src_root / item)
    out = tmp_path_factory.mktemp("wheels")
    for src in DISTS.values():
        r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(out), str(src_root / src.relative_to(ROOT))],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
    built = {canonicalize_name(p.name.split("-")[0]): p for p in out.glob("*.whl")}
    assert set(built) == set(DISTS)
    return built


def _requires(metadata: str) -> list[Requirement]:
    return [Requirement(line.split(":", 1)[1].strip()) for line in metadata.splitlines()
            if line.startswith("Requires-Dist:")]


def _closure(reqs: list[Requirement], provided: set[str]) -> set[str]:
    """The distributions ``reqs`` need, recursively, as installed in this .venv (extras followed)."""
    seen: set[str] = set()
    todo = [(r, "") for r in reqs]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        for want in [""] + sorted(req.extras):
            key = f"{name}[{want}]"
            if name in provided or key in seen:
                continue
            seen.add(key)
            todo += [(Requirement(r), want) for r in md.requires(name) or []]
    return {k.split("[")[0] for k in seen}


def fresh_venv(path: Path, wheels: dict[str, Path], names: list[str]) -> Path:
    """A new virtual environment holding the wheels ``names`` and what they require; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    py = path / "bin" / "python"
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps",
                        "--no-index", *[str(wheels[n]) for n in names]], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    reqs = [req for n in names for req in _requires(_metadata(wheels[n]))]
    deps = path / "deps"
    deps.mkdir()
    for dist_name in sorted(_closure(reqs, provided=set(names))):
        dist = md.distribution(dist_name)
        site = Path(str(dist.locate_file("")))
        for top in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            if not (deps / top).exists() and (site / top).exists():
                (deps / top).symlink_to(site / top)
    site_dir = next((path / "lib").glob("python3*/site-packages"))
    (site_dir / "perkpass-test-deps.pth").write_text(str(deps) + "\n")
    return py


def _metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as z:
        return z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()


def _top_level(wheel: Path) -> set[str]:
    return {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}


def _scripts(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = z.read(names[0]).decode() if names else ""
    section = re.search(r"\[console_scripts\]\n(.*?)(\n\[|\Z)", text, re.S)
    return {line.split("=")[0].strip() for line in (section.group(1) if section else "").splitlines() if "=" in line}


def _run(py: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
         script: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [str(py.parent / script), *args] if script else [str(py), *args]
    # outside the checkout, so nothing is imported from it by accident
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd or py.parent.parent,
                          input=stdin, env={"PATH": os.environ["PATH"], "HOME": str(py.parent.parent), **(env or {})})


def _importable(py: Path, module: str) -> bool:
    return _run(py, "-c", f"import {module}").returncode == 0


def test_integrator_install_is_the_sdk_and_its_cli_alone(wheels, tmp_path):
    sdk = wheels["perkpass"]
    assert _top_level(sdk) == {"partner_sdk"}
    assert _scripts(sdk) == {"perkpass-verify"}
    assert {canonicalize_name(r.name) for r in _requires(_metadata(sdk)) if r.marker is None} == {"pyjwt", "cryptography",
                                                                                     "py-arkworks-bls12381"}

    py = fresh_venv(tmp_path / "venv", wheels, ["perkpass"])
    bin_dir = py.parent
    assert (bin_dir / "perkpass-verify").exists() and not (bin_dir / "perkpass-kiosk").exists()
    for absent in ("backend", "kiosk", "flask", "kivy"):
        assert not _importable(py, absent), absent
    r = _run(py, "--version", script="perkpass-verify")
    assert r.returncode == 0 and r.stdout.strip() == f"perkpass-verify {partner_sdk.__version__}"

    # the whole integrator path with the installed files only: a test issuer's root, list and code, verified
    make = (f"import json; from partner_sdk.testing import TestIssuer; i = TestIssuer(); T = {T0}\n"
            "open('root.jwk', 'w').write(json.dumps(i.root_public_jwk)); open('tl.jws', 'w').write(i.trust_list(T - 60))\n"
            "print(i.credential('metro', ['MOLI-METRO20'], now=T).qr_text)")
    made = _run(py, "-c", make, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip()
    args = ["--root-key", "root.jwk", "--trust-list", "tl.jws", "--audience", "metro", "--now", str(T0 + 1),
            "--cache-dir", "cache", "-"]
    first = _run(py, *args, script="perkpass-verify", cwd=tmp_path, stdin=code + "\n")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["status"] == "GRANTED"
    again = _run(py, *args, script="perkpass-verify", cwd=tmp_path, stdin=code + "\n")
    assert again.returncode == 1 and json.loads(again.stdout)["status"] == "REPLAYED"


def test_operator_install_is_the_server(wheels, tmp_path):
    server = wheels["perkpass-server"]
    assert _top_level(server) == {"backend"} and _scripts(server) == set()
    names = set(zipfile.ZipFile(server).namelist())
    for f in ("backend/bundled_assets/schemes/bailu.json", "backend/bundled_assets/point-rules/forbidden.json",
              "backend/static/app/index.html", "backend/migrations/env.py"):
        assert f in names, f
    assert "perkpass==0.1.0" in {str(r) for r in _requires(_metadata(server))}

    py = fresh_venv(tmp_path / "venv", wheels, ["perkpass", "perkpass-server"])
    assert not _importable(py, "kiosk") and not _importable(py, "kivy")
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'perkpass.db'}", "PERKPASS_ENV": "development"}
    r = _run(py, "-m", "flask", "--app", "backend", "init-db", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    probe = ("from backend import create_app; c = create_app().test_client()\n"
             "print(c.get('/api/v1/health/ready').status_code, len(c.get('/api/v1/catalogue').json['schemes']),"
             " c.get('/app/').status_code)")
    r = _run(py, "-c", probe, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-3:] == ["200", "5", "200"]


def test_venue_install_is_the_kiosk(wheels, tmp_path):
    kiosk = wheels["perkpass-kiosk"]
    assert _top_level(kiosk) == {"kiosk"} and _scripts(kiosk) == {"perkpass-kiosk"}
    assert "kiosk/screens/scan.kv" in zipfile.ZipFile(kiosk).namelist()

    py = fresh_venv(tmp_path / "venv", wheels, ["perkpass", "perkpass-kiosk"])
    assert not _importable(py, "backend") and not _importable(py, "flask")
    r = _run(py, "--help", script="perkpass-kiosk")
    assert r.returncode == 0 and "--enrol-file" in r.stdout, r.stderr
    # the screens' .kv files and sounds load from the installed package, without a window
    r = _run(py, "-c", "import kiosk.screens as s, kiosk.sounds as snd, pathlib;"
             " print(len(list(pathlib.Path(s.KV_DIR).glob('*.kv'))), len(list(pathlib.Path(snd.__file__).parent.glob('*.wav'))))",
             env={"KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"})
    assert r.returncode == 0, r.stderr
    assert [int(n) for n in r.stdout.split()[-2:]] >= [7, 3]


def test_developer_install_is_the_whole_product():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet -e '.[all]' -e ./packaging/server -e ./packaging/kiosk" in makefile
    installed = {canonicalize_name(d.metadata["Name"]) for d in md.distributions()}
    assert set(DISTS) <= installed
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "perkpass-verify").exists() and (bin_dir / "perkpass-kiosk").exists()


def test_one_version_everywhere():
    backend_version = re.search(r'^__version__ = "(.+)"', (ROOT / "backend" / "__init__.py").read_text(), re.M)
    versions = {name: tomllib.loads((src / "pyproject.toml").read_text())["project"]["version"] for name, src in DISTS.items()}
    assert set(versions.values()) == {partner_sdk.__version__} == {backend_version.group(1)}
    for src in DISTS.values():
        deps = tomllib.loads((src / "pyproject.toml").read_text())["project"].get("dependencies", [])
        pins = [d for d in deps if d.startswith("perkpass")]
        assert pins in ([], [f"perkpass=={partner_sdk.__version__}"]), pins
