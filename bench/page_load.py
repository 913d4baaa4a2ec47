"""Benchmark: the citizen page's weight and speed on a slow phone connection, in a real browser.

    python bench/page_load.py [--runs 3] [--baseline-rev 1b9a8e4]

Debian's Chromium (headless, Playwright) with the network throttled through the DevTools protocol
(``Network.emulateNetworkConditions``: 400 kbit/s down and up, 400 ms latency per request), a phone-sized
window, a citizen who has logged in before (a session in localStorage) and an empty HTTP cache and no service
worker: a first visit of the page's files. Two servers in the same run, same backend and demo data:

* **current**: the page as served now (version-stamped names, gzip, modules preloaded, the QR library and
  "Why is my score this?" loaded with their screens, the service worker registered after the first screen);
* **baseline**: the page's files at ``--baseline-rev`` (before issue 11 item 10) served as they were then
  (plain names, no compression, ``no-cache``).

Measured per run: time from navigation start until "Show my code" is on the home screen and can be pressed
(a MutationObserver in the page notes the instant), bytes transferred (``encodedDataLength``) and requests
until then, everything the first visit transfers once the network is idle (the service worker's copy for
offline use included, counted by the server), and on a reload how many of the page's static files went to
the server (304 revalidations included; the browser's check of sw.js for a new deploy is counted apart).
Goals (issue 11 item 10): usable <= 2.5 s, first load <= 60 KB.

Writes bench/out/page_load.json.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.demo_server import DemoServer

CHROMIUM = os.environ.get("PERKPASS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-quic", "--disable-component-update"]
KBPS, RTT_MS = 400, 400
GOAL_USABLE_MS, GOAL_FIRST_KB = 1500, 60  # issue 22 item 7 (was 2,500, issue 11 item 10)
# the last commit whose citizen page had none of item 10 (plain names, no gzip, everything loaded at start)
BASELINE_REV = "b83b82d"
CITIZEN = "office + metro 20%"  # demo citizen with metro and Gulou office perks

# notes the instant the first "Show my code" button is in the page and enabled
OBSERVE = """(() => {
  const seen = () => { const b = document.querySelector('#quick-codes:not([hidden]) .quick-code, .show-code');
    if (b && !b.disabled && !window.__usable) { window.__usable = performance.now(); } };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true, attributes: true });
})();"""


class Tally:
    """WSGI middleware: every request the server answered, with the bytes it sent (status line, headers,
    body). Counts what the service worker fetches too, which the page's DevTools session does not see."""

    def __init__(self, app):
        self.app, self.seen = app, []

    def __call__(self, environ, start_response):
        head = {}

        def start(status, headers, exc_info=None):
            head["n"] = len(status) + 11 + sum(len(k) + len(v) + 4 for k, v in headers)
            head["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        body = 0
        for chunk in self.app(environ, start):
            body += len(chunk)
            yield chunk
        self.seen.append((time.monotonic(), environ.get("PATH_INFO", ""), head.get("status", 0), head.get("n", 0) + body))


def start_server(tmp: Path, **config) -> DemoServer:
    return DemoServer(tmp, wrap=Tally, **config)


def baseline_tree(rev: str, dest: Path) -> Path:
    """backend/static/app as it was at ``rev`` (git archive), unpacked under ``dest``."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev, "backend/static/app"],
                          check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "backend" / "static" / "app"


def session_for(base: str, phone: str) -> dict:
    code = requests.post(base + "/api/v1/auth/request-code", json={"phone": phone}, timeout=10).json()["dev_code"]
    r = requests.post(base + "/api/v1/auth/login", json={"phone": phone, "code": code}, timeout=10).json()
    return {"token": r["access_token"], "expiresAt": r["expires_at"], "phoneHint": r["citizen"]["phone_hint"]}


def is_static(path: str) -> bool:
    """A file of the page (not the page's address itself, not the API)."""
    return path.startswith("/app/") and path != "/app/"


def one_run(browser, base: str, session: dict, tally: Tally) -> dict:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                              base_url=base, locale="zh-CN", service_workers="allow")
    ctx.add_init_script(f"localStorage.setItem('perkpass.session', {json.dumps(json.dumps(session))});")
    ctx.add_init_script(OBSERVE)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": RTT_MS, "downloadThroughput": KBPS * 1000 / 8,
        "uploadThroughput": KBPS * 1000 / 8, "connectionType": "cellular3g"})
    log: list[tuple[float, str, str, float]] = []  # (monotonic, kind, url, bytes)
    urls: dict[str, str] = {}
    # the waterfall in the browser's own clock (CDP timestamps, seconds): asked, first byte, done, bytes
    waterfall: dict[str, dict] = {}

    def on_sent(e):
        urls[e["requestId"]] = e["request"]["url"]
        waterfall.setdefault(e["requestId"], {"url": e["request"]["url"], "sent": e["timestamp"]})

    def on_response(e):
        if e["requestId"] in waterfall:
            waterfall[e["requestId"]]["response"] = e["timestamp"]

    def on_finished(e):
        log.append((time.monotonic(), "done", urls.get(e["requestId"], ""), float(e["encodedDataLength"])))
        if e["requestId"] in waterfall:
            waterfall[e["requestId"]].update(done=e["timestamp"], bytes=float(e["encodedDataLength"]))

    cdp.on("Network.requestWillBeSent", on_sent)
    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.loadingFinished", on_finished)
    t0 = time.monotonic()
    mark = len(tally.seen)
    page.goto("/app/#/home", wait_until="commit")
    page.wait_for_function("() => window.__usable !== undefined", timeout=60_000, polling=50)
    usable_ms = page.evaluate("window.__usable")
    t_usable = time.monotonic()
    trace = waterfall_rows(waterfall, base, usable_ms)
    first = [x for x in log if x[0] <= t_usable]
    # then until the network is idle for 3 s (the service worker copies the rest of the page for offline use)
    idle_since = time.monotonic()
    seen = len(log)
    while time.monotonic() - idle_since < 3.0 and time.monotonic() - t0 < 90:
        page.wait_for_timeout(250)
        if len(tally.seen) != seen:
            seen, idle_since = len(tally.seen), time.monotonic()
    total = tally.seen[mark:]
    sw = page.evaluate("navigator.serviceWorker && navigator.serviceWorker.controller ? 1 : 0")
    # a later visit: what still goes to the server for the page's static files (the service worker's
    # requests included)
    mark = len(tally.seen)
    page.evaluate("window.__usable = undefined")
    page.reload(wait_until="commit")
    page.wait_for_function("() => window.__usable !== undefined", timeout=60_000, polling=50)
    page.wait_for_timeout(1500)
    to_server = [(path, st) for _, path, st, _ in tally.seen[mark:] if is_static(path) and path != "/app/sw.js"]
    ctx.close()
    return {
        "usable_ms": round(usable_ms), "first_kb": round(sum(b for *_, b in first) / 1000, 1),
        "first_requests": len(first), "total_kb": round(sum(b for *_, _, _, b in total) / 1000, 1),
        "total_requests": len(total), "service_worker": bool(sw),
        "reload_static_to_server": len(to_server), "reload_304": sum(1 for _, st in to_server if st == 304),
        "reload_sw_checks": sum(1 for _, path, _, _ in tally.seen[mark:] if path == "/app/sw.js"),
        "waterfall": trace,
    }


def waterfall_rows(waterfall: dict[str, dict], base: str, usable_ms: float) -> list[dict]:
    """Each request the page made until "Show my code" was usable, in ms from the page's own request
    (~ navigation start): when it was asked for, its first byte, its end, bytes on the wire. The sequential
    chain from navigation to the code is read off this."""
    rows = sorted(waterfall.values(), key=lambda r: r["sent"])
    if not rows:
        return []
    t0 = rows[0]["sent"]

    def ms(r, k):
        return round((r[k] - t0) * 1000) if k in r else None

    out = [{"url": r["url"].replace(base, ""), "sent": ms(r, "sent"), "first_byte": ms(r, "response"),
            "done": ms(r, "done"), "kb": round(r.get("bytes", 0) / 1000, 1)} for r in rows]
    return [r for r in out if r["sent"] is not None and r["sent"] <= usable_ms]


def print_waterfall(name: str, run: dict) -> None:
    print(f"{name}: 'Show my code' at {run['usable_ms']} ms; requests until then (ms from navigation):")
    print(f"  {'asked':>6} {'1st byte':>8} {'done':>6} {'KB':>5}  url")
    for r in run["waterfall"]:
        print(f"  {r['sent']:>6} {r['first_byte'] if r['first_byte'] is not None else '-':>8} "
              f"{r['done'] if r['done'] is not None else '-':>6} {r['kb']:>5}  {r['url'][:90]}")


def summarise(runs: list[dict]) -> dict:
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0] if isinstance(runs[0][k], (int, float))
           and not isinstance(runs[0][k], bool)}
    out["runs"] = runs
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline-rev", default=BASELINE_REV)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "page_load.json"))
    ap.add_argument("--trace", action="store_true", help="print each run's request waterfall until the code")
    ap.add_argument("--only-current", action="store_true", help="skip the baseline server (a quicker look)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: apt-get install chromium")
        return 2
    from playwright.sync_api import sync_playwright

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "cur").mkdir()
        (tmp / "base").mkdir()
        old = baseline_tree(args.baseline_rev, tmp / "tree")
        servers = {
            "current": start_server(tmp / "cur"),
            "baseline": start_server(tmp / "base", PERKPASS_APP_STATIC_DIR=str(old), PERKPASS_APP_OPTIMISE=False),
        }
        if args.only_current:
            servers["baseline"].stop()
            del servers["baseline"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            for _ in range(args.runs):  # interleaved, so both see the same machine load
                for name, server in servers.items():
                    phone = server.citizen(CITIZEN)["phone"]
                    run = one_run(browser, server.base, session_for(server.base, phone), server.app.wsgi_app)
                    results.setdefault(name, []).append(run)
                    if args.trace:
                        print_waterfall(name, run)
            browser.close()
        for server in servers.values():
            server.stop()
    if args.only_current:
        cur = summarise(results["current"])
        print("current, medians:", {k: v for k, v in cur.items() if k != "runs"})
        print("'Show my code' per run:", [r["usable_ms"] for r in cur["runs"]], "ms")
        return 0 if cur["usable_ms"] <= GOAL_USABLE_MS and cur["first_kb"] <= GOAL_FIRST_KB else 1
    cur, base = summarise(results["current"]), summarise(results["baseline"])
    report = {
        "conditions": {"down_kbps": KBPS, "up_kbps": KBPS, "latency_ms": RTT_MS, "viewport": "390x844",
                       "first_visit": "empty HTTP cache, no service worker, session in localStorage",
                       "baseline_rev": args.baseline_rev, "runs": args.runs},
        "current": cur, "baseline": base,
        "ratios": {"usable": round(cur["usable_ms"] / base["usable_ms"], 2),
                   "first_kb": round(cur["first_kb"] / base["first_kb"], 2),
                   "total_kb": round(cur["total_kb"] / base["total_kb"], 2)},
        "goals": {"usable_ms<=1500": cur["usable_ms"] <= GOAL_USABLE_MS,
                  "first_kb<=60": cur["first_kb"] <= GOAL_FIRST_KB},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'':22}{'baseline':>12}{'current':>12}{'ratio':>8}")
    for key, label in (("usable_ms", "'Show my code' ms"), ("first_kb", "first load KB"),
                       ("first_requests", "first-load requests"), ("total_kb", "first visit total KB"),
                       ("reload_static_to_server", "reload: static sent"), ("reload_304", "reload: 304s")):
        ratio = f"{cur[key] / base[key]:.2f}" if base[key] else "-"
        print(f"{label:22}{base[key]:>12}{cur[key]:>12}{ratio:>8}")
    print("goals:", ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in report["goals"].items()))
    print(f"wrote {args.out}")
    return 0 if all(report["goals"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
