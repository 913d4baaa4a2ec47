"""perkpass-verify as a gate script uses it: replay memory by default, the root as the issuer publishes it
(or pinned by thumbprint), --version, exit statuses in --help, a scanner piping lines, a closed output pipe,
and every mistake answered with one line that names its code."""

import http.server
import json
import subprocess
import sys
import threading

import pytest

from partner_sdk.keys import load_public_key, root_thumbprint

from .conftest import T0

PROG = [sys.executable, "-m", "partner_sdk"]


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    """The per-user replay file goes under the test's folder, never the real ~/.local/state."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def setup(issuer, tmp_path):
    (tmp_path / "root.jwk").write_text(json.dumps(issuer.root_public_jwk))
    (tmp_path / "trust.jws").write_text(issuer.trust_list(T0 - 60))
    return ["--root-key", str(tmp_path / "root.jwk"), "--trust-list", str(tmp_path / "trust.jws"), "--now", str(T0 + 1)]


def cli(*args, stdin=None, cwd=None):
    return subprocess.run([*PROG, *args], capture_output=True, text=True, input=stdin, timeout=60, cwd=cwd)


def one_error_line(r, code):
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"perkpass-verify: error [{code}]: "), r.stderr
    return r.stderr


def metro_code(issuer):
    return issuer.credential("metro", ["MOLI-METRO20"], now=T0).qr_text


# ------------------------------------------------------------------ item 2: replays remembered by default
def test_cache_dir_remembers_grants_across_runs_and_says_where(issuer, setup, tmp_path):
    code, cache = metro_code(issuer), tmp_path / "cache"
    first = cli(*setup, "--audience", "metro", "--cache-dir", str(cache), code)
    assert first.returncode == 0 and json.loads(first.stdout)["replay_db"] == str(cache / "replay.db")
    second = cli(*setup, "--audience", "metro", "--cache-dir", str(cache), code)
    assert second.returncode == 1 and json.loads(second.stdout)["status"] == "REPLAYED"


def test_without_cache_dir_grants_are_remembered_per_user(issuer, setup, state_home):
    code = metro_code(issuer)
    first = cli(*setup, "--audience", "metro", code)
    assert first.returncode == 0 and json.loads(first.stdout)["replay_db"] == str(state_home / "perkpass" / "replay.db")
    assert json.loads(cli(*setup, "--audience", "metro", code).stdout)["status"] == "REPLAYED"


def test_forgetting_is_explicit(issuer, setup, state_home):
    code = metro_code(issuer)
    for _ in range(2):
        r = cli(*setup, "--audience", "metro", "--no-replay-db", code)
        assert r.returncode == 0 and json.loads(r.stdout)["replay_db"] is None
    assert not (state_home / "perkpass" / "replay.db").exists()
    one_error_line(cli(*setup, "--audience", "metro", "--no-replay-db", "--replay-db", "x.db", code), "usage")


# ------------------------------------------------------------------ item 3: the root as published, or pinned
def test_root_key_accepts_the_trust_root_document(issuer, setup, tmp_path):
    doc = tmp_path / "trust-root.json"
    doc.write_text(json.dumps({"issuer": issuer.issuer, "root_public_key": issuer.root_public_jwk}))
    args = ["--root-key", str(doc), *setup[2:]]
    assert cli(*args, "--audience", "metro", metro_code(issuer)).returncode == 0
    thumb = root_thumbprint(load_public_key(issuer.root_public_jwk))
    assert len(thumb) == 43
    assert cli(*args, "--root-thumbprint", thumb, "--audience", "metro", metro_code(issuer)).returncode == 0
    wrong = cli(*args, "--root-thumbprint", "A" * 43, "--audience", "metro", metro_code(issuer))
    assert f"thumbprint {thumb} is not the pinned" in one_error_line(wrong, "root_key")


@pytest.fixture
def root_server(issuer):
    body = json.dumps({"issuer": issuer.issuer, "root_public_key": issuer.root_public_jwk}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/trust-root"
    server.shutdown()


def test_root_from_a_url_only_with_a_thumbprint_pin(issuer, setup, root_server):
    args = ["--root-key", root_server, *setup[2:], "--audience", "metro"]
    one_error_line(cli(*args, metro_code(issuer)), "root_key")
    thumb = root_thumbprint(load_public_key(issuer.root_public_jwk))
    r = cli(*args, "--root-thumbprint", thumb, metro_code(issuer))
    assert r.returncode == 0 and json.loads(r.stdout)["granted"] is True
    one_error_line(cli(*args, "--root-thumbprint", "sha256:" + "B" * 43, metro_code(issuer)), "root_key")


# ------------------------------------------------------------------ item 4: manners
def test_version_and_exit_statuses_in_help():
    import partner_sdk

    r = cli("--version")
    assert r.returncode == 0 and r.stdout == f"perkpass-verify {partner_sdk.__version__}\n"
    help_text = cli("--help").stdout
    for line in ("0  granted", "1  refused", "2  usage or configuration error", "3  the answer could not be written"):
        assert line in help_text, line


def test_dash_reads_one_code_a_line_and_answers_one_json_line_each(issuer, setup):
    a, b = metro_code(issuer), metro_code(issuer)
    r = cli(*setup, "--audience", "metro", "-", stdin=f"{a}\n\n{b}\r\n{a}\n")
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["status"] for x in answers] == ["GRANTED", "GRANTED", "REPLAYED"]
    assert r.returncode == 1  # the last code read was refused
    r = cli(*setup, "--audience", "metro", "-", stdin="x" * 100_000 + "\n" + metro_code(issuer) + "\n")
    assert [json.loads(line)["status"] for line in r.stdout.splitlines()] == ["MALFORMED", "GRANTED"]
    assert r.returncode == 0


def test_a_closed_output_pipe_is_no_traceback(issuer, setup, tmp_path):
    codes = "\n".join(["not-a-code"] * 5000) + "\n"
    (tmp_path / "codes.txt").write_text(codes)
    cmd = " ".join([*PROG, *setup, "--audience", "metro", "-"])
    r = subprocess.run(["bash", "-c", f"{cmd} < codes.txt 2> err.txt | head -1; echo ${{PIPESTATUS[0]}} > rc.txt"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert json.loads(r.stdout)["status"] == "MALFORMED"
    assert (tmp_path / "err.txt").read_text() == ""
    assert (tmp_path / "rc.txt").read_text().strip() == "3"


def test_every_mistake_is_one_line_with_its_code(issuer, setup, tmp_path):
    code = metro_code(issuer)
    one_error_line(cli("--audience", "metro", code), "usage")  # --root-key and --trust-list missing
    one_error_line(cli(*setup, "--audience", "metro", "--now", "nan", code), "usage")
    one_error_line(cli(*setup, "--audience", "metro"), "usage")  # no code at all
    one_error_line(cli("--root-key", str(tmp_path / "nope.jwk"), *setup[2:], "--audience", "metro", code), "root_key")
    one_error_line(cli(*setup[:2], "--trust-list", str(tmp_path / "nope.jws"), "--audience", "metro", code),
                   "trust_list_unavailable")
    (tmp_path / "bad.jws").write_text("nonsense")
    one_error_line(cli(*setup[:2], "--trust-list", str(tmp_path / "bad.jws"), "--audience", "metro", code), "trust_list")
    (tmp_path / "a-file").write_text("")
    one_error_line(cli(*setup, "--audience", "metro", "--replay-db", str(tmp_path / "a-file" / "replay.db"), code),
                   "replay_db")
    one_error_line(cli(*setup, "--audience", "metro", "--cache-dir", str(tmp_path / "a-file"), code), "cache_dir")
    one_error_line(cli(*setup, "--audience", "metro", "--image", str(tmp_path / "nope.png")), "image")
