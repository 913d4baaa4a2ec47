"""Real QR encode -> real zxing-cpp decode -> verify; and the perkpass-verify command."""

import json
import subprocess
import sys

import pytest

from partner_sdk import Status, Verifier
from partner_sdk.qr import decode_image, qr_png, qr_svg

from .conftest import T0

zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp is part of the dev extra")


def test_png_decodes_with_zxing_and_verifies(issuer, store, tmp_path):
    cred = issuer.credential("gov-office", ["MOLI-GOV-PRIORITY", "MOLI-GOV-ASSIST", "MOLI-GOV-EXPRESS"], now=T0)
    path = tmp_path / "code.png"
    path.write_bytes(qr_png(cred.qr_text))
    texts = decode_image(path)
    assert texts == [cred.qr_text]
    res = zxingcpp.read_barcodes(__import__("PIL.Image", fromlist=["Image"]).open(path))
    assert res[0].symbology_identifier  # a real QR symbol
    assert Verifier(store, "gov-office").verify(texts[0], now=T0 + 2).granted


def test_svg_is_a_qr_code(issuer):
    svg = qr_svg(issuer.credential("metro", ["MOLI-METRO20"], now=T0).qr_text)
    assert svg.startswith("<?xml") and "<svg" in svg


def _write_setup(issuer, tmp_path):
    (tmp_path / "root.jwk").write_text(json.dumps(issuer.root_public_jwk))
    (tmp_path / "trust.jws").write_text(issuer.trust_list(T0 - 60))
    return ["--root-key", str(tmp_path / "root.jwk"), "--trust-list", str(tmp_path / "trust.jws")]


def run_cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "partner_sdk", *args], capture_output=True, text=True, input=stdin, timeout=60)


def test_cli_grants_from_text_and_image_and_refuses_replay(issuer, tmp_path):
    common = _write_setup(issuer, tmp_path)
    cred = issuer.credential("library", ["BAILU-LIB-NODEPOSIT"], now=T0, scheme="bailu")
    db = str(tmp_path / "replay.db")
    r = run_cli(*common, "--audience", "library", "--now", str(T0 + 1), "--replay-db", db, cred.qr_text)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "GRANTED" and out["perks"] == ["BAILU-LIB-NODEPOSIT"] and "fresh" in out["trust_list"]
    r = run_cli(*common, "--audience", "library", "--now", str(T0 + 2), "--replay-db", db, cred.qr_text)
    assert r.returncode == 1 and json.loads(r.stdout)["status"] == "REPLAYED"
    img = tmp_path / "c.png"
    cred2 = issuer.credential("library", ["BAILU-LIB-NODEPOSIT"], now=T0, scheme="bailu")
    img.write_bytes(qr_png(cred2.qr_text))
    r = run_cli(*common, "--audience", "library", "--now", str(T0 + 1), "--image", str(img))
    assert r.returncode == 0 and json.loads(r.stdout)["granted"] is True


def test_cli_reads_stdin_and_reports_refusals(issuer, tmp_path):
    common = _write_setup(issuer, tmp_path)
    r = run_cli(*common, "--audience", "metro", "--now", str(T0), "-", stdin="garbage\n")
    assert r.returncode == 1 and json.loads(r.stdout)["status"] == Status.MALFORMED.value
    assert "Traceback" not in r.stderr


def test_cli_configuration_error_is_exit_2_without_traceback(tmp_path):
    (tmp_path / "trust.jws").write_text("nonsense")
    r = run_cli("--root-key", '{"kty":"RSA"}', "--trust-list", str(tmp_path / "trust.jws"), "--audience", "metro", "PP1")
    assert r.returncode == 2 and r.stderr == "perkpass-verify: error [root_key]: JWK is not an OKP Ed25519 key\n"
