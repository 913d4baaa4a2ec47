"""`make demo`'s main job, run for real: seed, serve with gunicorn, log in, issue, verify offline from a PNG."""

import json
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_flow_grants_offline_and_leaks_no_score(tmp_path):
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "PERKPASS_ENV": "development",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "HOME": str(tmp_path)}
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "tools/demo.py", "--no-serve", "--port", str(free_port()), "--out", str(out)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert '"status": "GRANTED"' in r.stdout and "eligible=False qr_text=None" in r.stdout
    # What left the backend contains no score: the demo citizen's Moli score is 713.
    from partner_sdk import format as fmt
    from partner_sdk.keys import b64url_decode
    from partner_sdk.qr import decode_image

    trust_payload = b64url_decode((out / "trust-list.jws").read_text().split(".")[1]).decode()
    qr_text = decode_image(out / "metro-code.png")[0]
    credential_payload = fmt.parse_qr_text(qr_text).payload_json.decode()
    for text in (trust_payload, credential_payload, (out / "root.jwk").read_text()):
        assert "713" not in text and "score" not in text.lower()
    assert json.loads(credential_payload)["prk"] == ["MOLI-METRO20"]
    assert json.loads((out / "root.jwk").read_text())["kty"] == "OKP"
