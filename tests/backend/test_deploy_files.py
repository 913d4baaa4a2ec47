"""The service definitions a city installs as they are (issue 21 item 10): every systemd unit passes
`systemd-analyze verify` without a warning and scores OK in `systemd-analyze security`, every command the
units and docs/deploy.md's crontab run exists, the environment template cannot start production until its
secrets are replaced, and the reverse-proxy configuration passes `nginx -t`."""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.config import CONFIGS, ConfigError, env_overrides, validate

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
PREFIX = "/opt/perkpass/bin/"


def installed_units(tmp_path: Path) -> list[Path]:
    """The units as a city installs them, with /opt/perkpass/bin/ pointing at this environment's scripts
    (verify checks that each command exists)."""
    out = []
    for unit in sorted(UNITS.glob("perkpass-*.*")):
        target = tmp_path / unit.name
        target.write_text(unit.read_text().replace(PREFIX, f"{Path(sys.executable).parent}/"))
        out.append(target)
    return out


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (.ci/apt-packages.txt: systemd)")
def test_units_verify_without_a_warning(tmp_path):
    units = installed_units(tmp_path)
    assert {u.name for u in units} >= {"perkpass-app.service", "perkpass-init-db.service", "perkpass-retention.timer",
                                       "perkpass-purge-expired.timer", "perkpass-trust-check.timer"}
    r = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", *map(str, units)], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == "" and r.stdout == "", r.stdout + r.stderr
    for timer in (u for u in units if u.suffix == ".timer"):
        assert (tmp_path / f"{timer.stem}.service").exists(), timer.name


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (.ci/apt-packages.txt: systemd)")
def test_services_are_hardened_and_limited(tmp_path):
    for unit in (u for u in installed_units(tmp_path) if u.suffix == ".service"):
        r = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=yes", "--no-pager", str(unit)],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
        level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
        assert level and float(level.group(1)) <= 2.0, (unit.name, r.stdout[-500:], r.stderr[-500:])
        text = unit.read_text()
        for setting in ("MemoryMax=", "TasksMax=", "NoNewPrivileges=yes", "ProtectSystem=strict", "User=perkpass",
                        "EnvironmentFile=/etc/perkpass/perkpass.env"):
            assert setting in text, (unit.name, setting)


def _command_exists(app, words: list[str]) -> bool:
    import click

    ctx = click.Context(app.cli)
    command: click.Command | None = app.cli
    for word in words:
        if word.startswith("-"):
            break
        if not isinstance(command, click.Group):
            return True  # an argument of the command found so far
        command = command.get_command(ctx, word)
        if command is None:
            return False
    return command is not None and not isinstance(command, click.Group)


def test_every_command_the_units_and_the_crontab_run_exists(app):
    unit_lines = [line.split("=", 1)[1] for unit in UNITS.glob("*.service") for line in unit.read_text().splitlines()
                  if line.startswith("ExecStart=")]
    lines = unit_lines + re.findall(r"^\S+ \S+ \S+ \S+ \S+\s+(.*)$", (ROOT / "docs" / "deploy.md").read_text(), re.M)
    flask_lines = [line[line.index(PREFIX + "flask"):] for line in lines if PREFIX + "flask" in line]
    assert len(flask_lines) >= 7, lines
    for line in flask_lines:
        words = shlex.split(line)[1:]
        assert words[:2] == ["--app", "backend"], line
        assert _command_exists(app, words[2:]), line
    gunicorn, = (line for line in unit_lines if "gunicorn" in line)
    assert "-c python:backend.http.gunicorn" in gunicorn and gunicorn.endswith(" backend.wsgi:app")


def test_every_flask_line_in_deploy_docs_names_the_app():
    text = (ROOT / "docs" / "deploy.md").read_text()
    bare = [m for m in re.findall(r"flask(?: [a-z-]+)+", text) if not m.startswith("flask --app")]
    assert re.findall(r"\bflask (?!--app backend)[a-z]", text) == [], bare


def test_the_environment_template_cannot_start_production_as_it_is():
    environ = dict(line.split("=", 1) for line in (UNITS / "perkpass.env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    config = {k: getattr(CONFIGS["production"], k) for k in dir(CONFIGS["production"]) if k.isupper()}
    config.update(env_overrides(environ))
    with pytest.raises(ConfigError, match="refuses SECRET_KEY: it looks like a placeholder"):
        validate(config)
    import secrets
    config.update(SECRET_KEY=secrets.token_urlsafe(48), PERKPASS_KEY_PASSPHRASE=secrets.token_urlsafe(48))
    with pytest.raises(ConfigError, match=r"refuses PERKPASS_REFERENCE_KEY \(key 1\): it looks like a placeholder"):
        validate(config)  # its third secret is a placeholder too
    config.update(PERKPASS_REFERENCE_KEY=secrets.token_urlsafe(48))
    validate(config)  # with the three secrets replaced, the rest of the template is a valid production setting
    assert config["PERKPASS_PROXY_FIX"] is True and config["RATELIMIT_STORAGE_URI"].startswith("redis://")


def _self_signed(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "perkpass.example.city")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("perkpass.example.city"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "privkey.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/apt-packages.txt: nginx-light)")
def test_the_proxy_configuration_passes_nginx_t(tmp_path):
    _self_signed(tmp_path)
    conf = (ROOT / "deploy" / "nginx" / "perkpass.conf").read_text().replace("/etc/ssl/perkpass/", f"{tmp_path}/")
    (tmp_path / "perkpass.conf").write_text(conf)
    # the conf.d file inside a minimal nginx.conf, as Debian's includes it in its http block
    (tmp_path / "nginx.conf").write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                                         f"http {{\n  access_log {tmp_path}/access.log;\n  include {tmp_path}/perkpass.conf;\n}}\n")
    r = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "test is successful" in r.stderr, r.stderr
    assert "client_max_body_size 512k;" in conf and "X-Forwarded-Proto" in conf


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/apt-packages.txt: nginx-light)")
def test_the_proxy_serves_the_app_over_tls(tmp_path):
    """The configuration as shipped, only its ports, certificate and upstream address changed, in front of
    a real gunicorn: readiness over TLS, plain HTTP redirected, a body over the limit refused by nginx."""
    import http.client
    import ssl

    from tools.cluster import Instance, free_port, instance_env

    _self_signed(tmp_path)
    env = instance_env(PERKPASS_ENV="development", DATABASE_URL=f"sqlite:///{tmp_path / 'perkpass.db'}",
                       PERKPASS_PROXY_FIX="1", HOME=str(tmp_path))
    subprocess.run([sys.executable, "-m", "flask", "--app", "backend", "init-db"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    app = Instance(env, tmp_path / "gunicorn.log", workers=1, threads=2).start()
    http_port, https_port = free_port(), free_port()
    conf = ((ROOT / "deploy" / "nginx" / "perkpass.conf").read_text()
            .replace("/etc/ssl/perkpass/", f"{tmp_path}/").replace("server 127.0.0.1:8000", f"server 127.0.0.1:{app.port}")
            .replace("    listen [::]:80;\n", "").replace("    listen [::]:443 ssl http2;\n", "")
            .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"))
    (tmp_path / "perkpass.conf").write_text(conf)
    temp = "".join(f"  {kind}_temp_path {tmp_path}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                                         f"http {{\n  access_log {tmp_path}/access.log;\n{temp}  include {tmp_path}/perkpass.conf;\n}}\n")
    proxy = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log"),
                              "-g", "daemon off;" + (" user root;" if os.geteuid() == 0 else "")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        tls = ssl.create_default_context(cafile=str(tmp_path / "fullchain.pem"))

        def https(method, path, body=None):
            for _ in range(50):  # nginx takes a moment to listen
                try:  # the certificate is checked (it names 127.0.0.1), as a client would
                    c = http.client.HTTPSConnection("127.0.0.1", https_port, context=tls, timeout=10)
                    c.request(method, path, body=body, headers={"Content-Type": "application/json"})
                    r = c.getresponse()
                    return r.status, r.read(), r
                except ConnectionRefusedError:
                    time.sleep(0.1)
            raise AssertionError("nginx did not listen: " + (tmp_path / "error.log").read_text(errors="replace"))

        status, body, _ = https("GET", "/readyz")
        assert status == 200 and json.loads(body)["status"] == "ok", body
        status, body, _ = https("GET", "/api/v1/trust-root")
        assert status == 200 and json.loads(body)["root_public_key"]["kty"] == "OKP"
        status, _, _ = https("POST", "/api/v1/auth/request-code", body=b"x" * (600 * 1024))
        assert status == 413  # refused by the proxy before the app reads it
        c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        c.request("GET", "/readyz")
        r = c.getresponse()
        assert r.status == 308 and r.getheader("Location").startswith("https://")
    finally:
        os.killpg(proxy.pid, signal.SIGTERM)
        proxy.wait(timeout=20)
        app.stop()
