"""Commands that touch files or keys answer an operator's mistake with one line, never a traceback
(issue 21 item 8), and `keys root` gives what an integrator pins (item 3), which perkpass-verify accepts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from partner_sdk.keys import load_public_key, root_thumbprint

ROOT = Path(__file__).resolve().parents[2]


def one_line_error(res, code: str) -> str:
    assert res.exit_code == 1, res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output and res.output.count("\n") == 1, res.output
    assert res.output.startswith(f"Error: [{code}] "), res.output
    return res.output


def test_export_into_a_missing_folder_names_the_folder(runner, tmp_path):
    out = one_line_error(runner.invoke(args=["trust-list", "export", "--out", str(tmp_path / "no" / "tl.jws")]), "file")
    assert f"the folder {tmp_path / 'no'} does not exist" in out
    res = runner.invoke(args=["trust-list", "export", "--out", str(tmp_path / "tl.jws"),
                              "--root-key-out", str(tmp_path / "nor" / "root.json")])
    one_line_error(res, "file")
    res = runner.invoke(args=["kiosk", "export-enrolment", "--venue", "1", "--out", str(tmp_path / "x" / "v.json")])
    assert "Traceback" not in res.output and res.exit_code != 0


def test_a_wrong_key_passphrase_is_one_line(make_app, database, tmp_path):
    from backend.services import keys as key_service

    make_app()  # keys made with the testing passphrase
    wrong = make_app(PERKPASS_KEY_PASSPHRASE="not-the-passphrase-the-keys-were-made-with")
    runner = wrong.test_cli_runner()
    for args in (["keys", "rotate", "--now"], ["keys", "root"], ["keys", "rotate-root"]):
        key_service._private_cache.clear()  # as in a new process: the keys are decrypted again
        out = one_line_error(runner.invoke(args=args), "wrong_passphrase")
        assert "PERKPASS_KEY_PASSPHRASE" in out, args
    url, schema = database
    if schema is None:  # and the real command, in a process of its own
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PERKPASS_ENV": "development", "DATABASE_URL": url,
               "PERKPASS_KEY_PASSPHRASE": "not-the-passphrase-the-keys-were-made-with"}
        r = subprocess.run([sys.executable, "-m", "flask", "--app", "backend", "keys", "root"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and r.stderr.startswith("Error: [wrong_passphrase] ") and r.stderr.count("\n") == 1, r.stderr


def test_compromise_without_the_at_argument_is_a_usage_line(runner):
    res = runner.invoke(args=["keys", "compromise", "some-kid", "--at"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.output.strip().splitlines()[-1] == "Error: Option '--at' requires an argument."
    res = runner.invoke(args=["keys", "compromise", "some-kid", "--at", "yesterday-ish"])
    assert res.exit_code == 1 and res.output.startswith("Error: ") and res.output.count("\n") == 1, res.output


def test_keys_root_is_what_the_api_publishes_and_perkpass_verify_pins_it(runner, client, h, tmp_path):
    published = client.get("/api/v1/trust-root").json
    res = runner.invoke(args=["keys", "root", "--json"])
    assert res.exit_code == 0, res.output
    shown = json.loads(res.output)
    thumb = root_thumbprint(load_public_key(published))
    assert shown == {**published, "thumbprint": thumb}
    assert f"thumbprint (RFC 7638, SHA-256): {thumb}" in runner.invoke(args=["keys", "root"]).output

    # an integrator saves the API's answer as it is, pins the thumbprint read out to them, and verifies
    (tmp_path / "trust-root.json").write_text(json.dumps(published))
    assert runner.invoke(args=["trust-list", "export", "--out", str(tmp_path / "tl.jws")]).exit_code == 0
    token = h.citizen("+8613900000501", {"moli": 800})
    code = h.issue(token, "metro")["qr_text"]
    base = [sys.executable, "-m", "partner_sdk", "--root-key", str(tmp_path / "trust-root.json"), "--trust-list",
            str(tmp_path / "tl.jws"), "--audience", "metro", "--cache-dir", str(tmp_path / "cache")]
    r = subprocess.run([*base, "--root-thumbprint", thumb, code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout)["granted"] is True, r.stderr
    r = subprocess.run([*base, "--root-thumbprint", thumb[::-1], code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("perkpass-verify: error [root_key]: "), r.stderr


@pytest.mark.parametrize("args", [["keys", "retire", "no-such-kid"], ["kiosk", "revoke", "999"],
                                  ["operators", "revoke", "999"], ["venues", "enrolment-code", "--venue", "999"]])
def test_unknown_things_are_one_line(runner, args):
    res = runner.invoke(args=args)
    assert res.exit_code == 1 and res.output.startswith("Error: ") and res.output.count("\n") == 1, res.output


@pytest.mark.parametrize("url,says", [("postgresql://nobody@127.0.0.1:1/none", "cannot use the database of DATABASE_URL"),
                                      ("sqlite:///{tmp}/empty.db", "the tables are missing")])
def test_a_wrong_or_empty_database_is_one_line(tmp_path, url, says):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PERKPASS_ENV": "development",
           "DATABASE_URL": url.format(tmp=tmp_path)}
    r = subprocess.run([sys.executable, "-m", "flask", "--app", "backend", "keys", "list"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.startswith(f"Error: [database] {says}") and r.stderr.count("\n") == 1, r.stderr
