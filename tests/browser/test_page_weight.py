"""Page weight (issue 11 item 10): version-stamped names cached for a year, gzip, the first screen loads only
what it needs, a later visit asks the server for none of the page's files. The figures under 400 kbit/s and
400 ms are measured by bench/page_load.py (docs/performance.md)."""
from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import requests

from backend.services import app_assets

from .test_citizen_page import log_in

STAMPED = re.compile(r"\.[0-9a-f]{10}\.(?:m?js|css|svg|webmanifest)$")


def test_static_files_are_stamped_gzipped_and_immutable(server):
    r = requests.get(server.base + "/app/", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip" and r.headers["Cache-Control"] == "no-cache"
    assert "Content-Security-Policy" in r.headers and "Accept-Encoding" in r.headers["Vary"]
    refs = re.findall(r'(?:src|href)="([^"#]+)"', r.text)
    local = [u for u in refs if not u.startswith(("http", "//"))]
    assert local and all(STAMPED.search(u) for u in local), local
    assert 'rel="modulepreload"' in r.text and "js/ledger." not in r.text and "qrcode." not in r.text
    assert requests.get(server.base + "/app/", headers={"If-None-Match": r.headers["ETag"]}, timeout=10).status_code == 304
    for u in local:
        f = requests.get(f"{server.base}/app/{u}", headers={"Accept-Encoding": "gzip"}, timeout=10, stream=True)
        raw = f.raw.read()
        assert f.status_code == 200 and f.headers["Cache-Control"] == "public, max-age=31536000, immutable", u
        assert f.headers["Content-Encoding"] == "gzip" and f.headers["X-Content-Type-Options"] == "nosniff"
        assert f.headers["Cross-Origin-Resource-Policy"] == "same-origin"
        # a document or image (an SVG opened as a page can run script) keeps the CSP; scripts and styles,
        # where it does nothing, go without it (bytes on a slow link)
        assert ("Content-Security-Policy" in f.headers) == (not u.endswith((".js", ".mjs", ".css"))), u
        body = gzip.decompress(raw).decode()
        # a module names its imports by their stamped names too, so a new deploy can never mix versions
        assert not re.search(r'from "\./[a-z]+\.js"', body), u
    plain = requests.get(server.base + "/app/js/main.js", timeout=10)
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "no-cache"
    assert requests.get(server.base + "/app/js/main.0123456789.js", timeout=10).status_code == 404
    sw = requests.get(server.base + "/app/sw.js", timeout=10)
    assert sw.headers["Cache-Control"] == "no-cache" and "Content-Security-Policy" in sw.headers  # a worker
    shell = re.search(r"const SHELL\s*=\s*(\[[^\]]*\]);", sw.text).group(1)
    for u in local:
        if u.endswith((".js", ".css")):
            assert f'"{u}"' in shell, u
    assert re.search(r'"js/qr\.[0-9a-f]{10}\.js"', shell) and re.search(r'"vendor/qrcode\.[0-9a-f]{10}\.mjs"', shell)


def test_first_screen_loads_only_what_it_needs_and_a_later_visit_asks_for_nothing(make_page, server):
    page, _ = make_page(locale="en")
    asked = []  # what the page itself asks for (the service worker's copy for offline use is not the page's)
    page.on("request", lambda req: asked.append(req.url))
    page.goto("/app/")
    page.wait_for_selector("#go-join")
    page.wait_for_load_state("networkidle")
    first = [u for u in asked if "/app/" in u]
    assert len(first) > 5 and not [u for u in first if re.search(r"/(qr|ledger)\.|qrcode", u)], first
    log_in(page, server.citizen("office + metro 20%")["phone"])
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.click(".show-code[data-audience=metro]")
    page.wait_for_selector("svg.qr-svg")  # the QR library came with the code screen
    page.goto("/app/#/home")
    page.wait_for_selector("#home-body[aria-busy=false] .menu")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    sent = []
    cdp.on("Network.responseReceived", lambda e: sent.append(
        (e["response"]["url"], e["response"]["status"],
         bool(e["response"].get("fromDiskCache") or e["response"].get("fromServiceWorker")))))
    page.reload()
    page.wait_for_selector("#home-body[aria-busy=false] .menu")
    page.wait_for_timeout(500)
    static = [(u, st, cached) for u, st, cached in sent if "/app/" in u and not u.rstrip("/").endswith("/app")
              and not u.endswith("/sw.js")]
    assert static and all(cached and st == 200 for _, st, cached in static), static


def test_stamps_follow_the_module_graph(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "index.html").write_text('<link rel="stylesheet" href="app.css">\n'
                                         '  <script type="module" src="js/main.js"></script>\n</head>')
    (tmp_path / "app.css").write_text("body{}")
    (tmp_path / "js" / "main.js").write_text('import { a } from "./a.js";\nconst later = () => import("./b.js");\n')
    (tmp_path / "js" / "a.js").write_text('export const a = "css/x.css is not a file here";\n')
    (tmp_path / "js" / "b.js").write_text("export const b = 2;\n")
    (tmp_path / "sw.js").write_text('const BUILD = "source";\nconst SHELL = ["./"];\n')
    one = app_assets.build(tmp_path)
    main = one.stamped["js/main.js"]
    body = one.assets[main].body.decode()
    assert f'"./{Path(one.stamped["js/a.js"]).name}"' in body and f'import("./{Path(one.stamped["js/b.js"]).name}")' in body
    assert f'<link rel="modulepreload" href="{one.stamped["js/a.js"]}">' in one.assets["index.html"].body.decode()
    assert one.stamped["js/b.js"] in one.assets["sw.js"].body.decode()
    # a change deep in the graph renames every module above it, and nothing beside it
    (tmp_path / "js" / "a.js").write_text("export const a = 1;\n")
    two = app_assets.build(tmp_path)
    assert two.stamped["js/a.js"] != one.stamped["js/a.js"] and two.stamped["js/main.js"] != main
    assert two.stamped["js/b.js"] == one.stamped["js/b.js"] and two.version != one.version
    (tmp_path / "js" / "b.js").write_text('import "./main.js";\n')
    try:
        app_assets.build(tmp_path)
        raise AssertionError("a reference cycle must be refused")
    except ValueError as exc:
        assert "cycle" in str(exc)


APP = Path(app_assets.__file__).resolve().parent.parent / "static" / "app"
ESBUILD = Path(__file__).resolve().parents[2] / "clients" / "pp3-holder" / "node_modules" / ".bin" / "esbuild"


def test_served_scripts_are_minified_and_still_the_same_program(tmp_path):
    """What the page's browser tests run is the minified build (the default); this checks each file on its own:
    it is smaller, still an ES module Node can parse, and, where esbuild is installed (clients/pp3-holder's
    npm install), esbuild reads source and minified file as the same program (its own minified output of both
    is byte for byte equal: same tokens, strings, regular expressions and template literals)."""
    node = shutil.which("node")
    assert node, "Node.js is a test dependency (clients/js)"
    built = app_assets.build(APP)
    plain = app_assets.build(APP, minified=False)
    for path, stamped in sorted(built.stamped.items()):
        if not path.endswith((".js", ".mjs", ".css")):
            continue
        source = (APP / path).read_text()
        body = built.assets[stamped].body.decode()
        if path == "vendor/pp3-holder.mjs":  # esbuild's output already: served as it is
            assert body == plain.assets[plain.stamped[path]].body.decode()
            continue
        assert len(body) < 0.9 * len(source), (path, len(body), len(source))
        if path.endswith(".css"):
            continue
        if path.startswith("vendor/"):  # the library's copyright notice stays
            assert "Copyright (c) 2009 Kazuhiko Arase" in body
        module = tmp_path / (Path(path).name.replace(".js", ".mjs") if path.endswith(".js") else Path(path).name)
        module.write_text(body)
        checked = subprocess.run([node, "--check", str(module)], capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, (path, checked.stderr[-800:])
        if ESBUILD.exists():
            # references are stamped in the served body: compare with the source minified the same way
            unstamped = app_assets.minify(path, source)
            same = [subprocess.run([str(ESBUILD), "--minify", "--format=esm", "--log-level=error"], input=text,
                                   capture_output=True, text=True, timeout=60).stdout for text in (source, unstamped)]
            assert same[0] and same[0] == same[1], path
    sw = built.assets["sw.js"].body.decode()
    assert "const SHELL=[" in sw and "//" not in sw.split("const SHELL", 1)[0]


def test_minified_page_keeps_its_boot_script_hash_and_debugging_serves_the_source(tmp_path):
    html = app_assets.build(APP).assets["index.html"].body.decode()
    boot = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(boot) == 1 and "perkpassBoot" in boot[0] and "// " not in boot[0] and "\n  " not in html
    readable = app_assets.build(APP, minified=False)
    assert "// Asks for the first screen" in readable.assets["index.html"].body.decode()
    main = readable.assets[readable.stamped["js/main.js"]].body.decode()
    assert main.count("\n") > 200 and "//" in main


@pytest.mark.parametrize("flag, readable", [("0", True), ("1", False)])
def test_perkpass_minify_switch(monkeypatch, tmp_path, flag, readable):
    from backend import create_app
    monkeypatch.setenv("PERKPASS_MINIFY", flag)
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/db.sqlite",
                      "PERKPASS_SMS_SENDER": "outbox"})
    with app.test_client() as client:
        page = client.get("/app/").get_data(as_text=True)
        main = re.search(r'src="(js/main\.[0-9a-f]{10}\.js)"', page).group(1)
        body = client.get("/app/" + main).get_data(as_text=True)
    assert (body.count("\n") > 200) == readable
