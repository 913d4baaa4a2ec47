"""Kiosk scanning benchmark: 640x480 camera frames -> decoded QR -> offline decision.

    python bench/scan.py                 # prints the table and rewrites the "Kiosk scanning" section of
                                         # docs/performance.md
    python bench/scan.py --frames 20 --no-write

Frames are synthetic but honest: a real Perkpass credential (partner_sdk issuer, ~430-character PP1 text,
QR version 10-11 at level M) rendered with the project's own QR segmenting, pasted into a textured
640x480 scene at several sizes, then blurred, rotated, noised. Each frame goes through the kiosk's real
path: ``kiosk.scan.CameraWorker.step`` (capture hand-off, zxing-cpp decode in that thread) and then
``partner_sdk.Verifier.verify`` with a replay cache, exactly as the app does on every camera frame.

Reported per variant: decode rate (share of frames decoded), decoded frames per second, and
frame-to-decision latency p50/p95 (from the moment the worker has the frame to the Decision). The
baseline, measured in the same run, is a bare ``zxingcpp.read_barcodes`` on the clean medium-size frame:
the ratio column says how much the kiosk's pipeline costs on top of the decoder itself.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kiosk.scan.camera import CameraWorker  # noqa: E402
from kiosk.scan.sources import CaptureSource  # noqa: E402
from partner_sdk import MemoryReplayCache, Verifier  # noqa: E402
from partner_sdk.qr import build_qr  # noqa: E402
from partner_sdk.testing import TestIssuer  # noqa: E402

W, H = 640, 480
GOAL_P95_MS = 100.0
SECTION = "## Kiosk scanning"


def scene(rng: np.random.Generator) -> np.ndarray:
    """A desk-like background: gradients, a few shapes and some sensor noise."""
    y, x = np.mgrid[0:H, 0:W]
    base = (90 + 60 * np.sin(x / 97.0) + 40 * np.cos(y / 61.0)).astype(np.float32)
    img = np.dstack([base * 0.9, base, base * 1.1]).clip(0, 255).astype(np.uint8)
    for _ in range(6):
        c = tuple(int(v) for v in rng.integers(30, 220, 3))
        p1 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        p2 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        cv2.rectangle(img, p1, p2, c, -1)
    return img


def qr_image(text: str) -> np.ndarray:
    qr = build_qr(text, border=4, box_size=1)
    m = np.array(qr.get_matrix(), dtype=np.uint8)
    return np.where(m, 0, 255).astype(np.uint8)


def place(frame: np.ndarray, qr: np.ndarray, size: int, angle: float = 0.0) -> np.ndarray:
    """Paste the code (as a phone screen would show it) at ``size`` px, optionally rotated."""
    out = frame.copy()
    code = cv2.resize(qr, (size, size), interpolation=cv2.INTER_NEAREST)
    pad = int(size * 0.5)
    tile = np.full((size + 2 * pad, size + 2 * pad), 255, np.uint8)
    tile[pad:pad + size, pad:pad + size] = code
    if angle:
        M = cv2.getRotationMatrix2D((tile.shape[1] / 2, tile.shape[0] / 2), angle, 1.0)
        tile = cv2.warpAffine(tile, M, (tile.shape[1], tile.shape[0]), flags=cv2.INTER_LINEAR, borderValue=255)
        mask = cv2.warpAffine(np.full_like(tile, 255), M, (tile.shape[1], tile.shape[0]), borderValue=0)
    else:
        mask = np.full_like(tile, 255)
    # keep the tile inside the frame (crop its white margin if it is larger than the frame)
    th, tw = tile.shape
    if th > H or tw > W:
        cy, cx = (th - min(th, H)) // 2, (tw - min(tw, W)) // 2
        tile = tile[cy:cy + min(th, H), cx:cx + min(tw, W)]
        mask = mask[cy:cy + min(th, H), cx:cx + min(tw, W)]
        th, tw = tile.shape
    y0, x0 = (H - th) // 2, (W - tw) // 2
    region = out[y0:y0 + th, x0:x0 + tw]
    sel = mask > 0
    region[sel] = np.dstack([tile] * 3)[sel]
    return out


def variants(text: str, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    bg = scene(rng)
    qr = qr_image(text)
    v = []
    for size in (150, 220, 320):
        v.append((f"clean {size}px", place(bg, qr, size)))
    med = place(bg, qr, 220)
    v.append(("blur sigma 1.2, 220px", cv2.GaussianBlur(med, (0, 0), 1.2)))
    v.append(("blur sigma 2.0, 320px", cv2.GaussianBlur(place(bg, qr, 320), (0, 0), 2.0)))
    v.append(("rotated 15deg, 220px", place(bg, qr, 220, 15)))
    v.append(("rotated 45deg, 260px", place(bg, qr, 260, 45)))
    noise = rng.normal(0, 18, med.shape)
    v.append(("noise sd 18, 220px", np.clip(med.astype(np.float32) + noise, 0, 255).astype(np.uint8)))
    combo = cv2.GaussianBlur(place(bg, qr, 260, 25), (0, 0), 1.0)
    combo = np.clip(combo.astype(np.float32) + rng.normal(0, 12, combo.shape), 0, 255).astype(np.uint8)
    v.append(("blur+rotation+noise, 260px", combo))
    v.append(("no code in view", bg))
    return v


class RepeatSource(CaptureSource):
    """Hands the worker the same frame again and again, as fast as it asks (no pacing)."""

    name = "bench"

    def __init__(self, frame: np.ndarray):
        self.frame = frame
        self.handed_cpu = 0.0

    def read(self) -> np.ndarray:
        out = self.frame.copy()    # a camera delivers a new buffer each time
        self.handed_cpu = time.thread_time()
        return out


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def run_variant(frame: np.ndarray, frames: int, verifier: Verifier, now: float) -> dict:
    wall: list[float] = []
    cpu: list[float] = []
    decisions: list[str] = []
    source = RepeatSource(frame)

    def on_code(text: str, t_frame: float) -> None:
        d = verifier.verify(text, now=now)
        wall.append((time.monotonic() - t_frame) * 1000.0)
        cpu.append((time.thread_time() - source.handed_cpu) * 1000.0)
        decisions.append(d.status.value)

    worker = CameraWorker(source, on_code, repeat_suppress_s=0.0)
    worker.step()  # warm-up
    worker.step()
    wall.clear(), cpu.clear(), decisions.clear()
    t0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(frames):
        worker.step()
    elapsed, cpu_elapsed = time.perf_counter() - t0, time.thread_time() - c0
    return {"decoded": len(wall) / frames, "fps": len(wall) / elapsed, "frames_per_s": frames / elapsed,
            "cpu_frames_per_s": frames / cpu_elapsed if cpu_elapsed else float("inf"),
            "p50": pct(wall, 50), "p95": pct(wall, 95), "cpu_p50": pct(cpu, 50), "cpu_p95": pct(cpu, 95),
            "decisions": set(decisions)}


def baseline(frame: np.ndarray, frames: int) -> dict:
    """The decoder alone: one zxing-cpp QR pass on a grayscale frame prepared in advance."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    wall, cpu = [], []
    zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)
    for _ in range(frames):
        t, c = time.perf_counter(), time.thread_time()
        zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)
        wall.append((time.perf_counter() - t) * 1000.0)
        cpu.append((time.thread_time() - c) * 1000.0)
    return {"p50": pct(wall, 50), "p95": pct(wall, 95), "cpu_p50": pct(cpu, 50), "cpu_p95": pct(cpu, 95)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=40, help="frames per variant (default 40)")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)   # the kiosk's camera worker is one thread; keep the measurement honest

    rng = np.random.default_rng(7)
    now = time.time()
    issuer = TestIssuer(issuer="perkpass.bench")
    store = issuer.trust_store(now=now - 60)
    cred = issuer.credential("library", ["BAILU-LIB-NODEPOSIT"], now=now, lifetime=300)
    verifier = Verifier(store, "library", replay_cache=MemoryReplayCache())
    vs = variants(cred.qr_text, rng)

    base = baseline(dict(vs)["clean 220px"], args.frames)
    rows = []
    for name, frame in vs:
        r = run_variant(frame, args.frames, verifier, now)
        rows.append((name, r))

    coded = [r for n, r in rows if n != "no code in view"]
    worst_p95 = max(r["p95"] for r in coded if r["decoded"] > 0)
    worst_cpu_p95 = max(r["cpu_p95"] for r in coded if r["decoded"] > 0)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        SECTION, "",
        f"`python bench/scan.py` (part of `make bench`), {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"zxing-cpp {_version('zxing-cpp')}, OpenCV {cv2.__version__}, {args.frames} frames per row.",
        "",
        f"Each 640x480 frame holds a real credential ({len(cred.qr_text)}-character `PP1` text, QR version "
        f"{cred.qr_version_m} at level M) and goes through the kiosk's own path: `CameraWorker.step` "
        "(zxing-cpp decode in the worker thread) then `partner_sdk.Verifier.verify` with a replay cache. "
        "Latency runs from the moment the worker holds the frame to the `Decision`.",
        "",
        f"Load average during the run: {load}. Wall-clock figures include waiting for a CPU on a shared "
        "machine; CPU-time figures (the worker thread's own time) are what the kiosk needs when it has the "
        "machine to itself, and the ratio to the baseline uses them so that it does not move with the load.",
        "",
        "| frame | decoded | decisions/s (wall) | frames/s (CPU) | latency p50 / p95 (wall) "
        "| latency p50 / p95 (CPU) | CPU p50 vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        if r["decoded"] > 0:
            lat = (f"{r['p50']:.1f} / {r['p95']:.1f} ms | {r['cpu_p50']:.1f} / {r['cpu_p95']:.1f} ms | "
                   f"{r['cpu_p50'] / base['cpu_p50']:.2f}x")
        else:
            lat = "- | - | -"
        lines.append(f"| {name} | {r['decoded'] * 100:.0f}% | {r['fps']:.1f} | {r['cpu_frames_per_s']:.0f} | {lat} |")
    lines += [
        "",
        f"Baseline (same run): the decoder alone, one `zxingcpp.read_barcodes` QR pass on the clean 220 px "
        f"frame converted to grayscale in advance: CPU p50 {base['cpu_p50']:.2f} ms, p95 {base['cpu_p95']:.2f} ms "
        f"(wall p50 {base['p50']:.1f} ms, p95 {base['p95']:.1f} ms).",
        f"Goal: frame-to-decision p95 <= {GOAL_P95_MS:.0f} ms on this 2-core machine. Worst p95 over the "
        f"frames with a code: **{worst_p95:.1f} ms wall-clock** ({'met' if worst_p95 <= GOAL_P95_MS else 'NOT met'}"
        f" at this load), **{worst_cpu_p95:.1f} ms CPU**.",
        "Decode rates below 100% on a repeated frame come from the per-frame binarizer alternation "
        "(`kiosk/scan/decoder.py`): the frame is decoded on every other frame, i.e. within 2 frames (<= 70 ms "
        "at 30 frames/s) of the code coming into view.",
        "A camera delivers 15-30 frames/s; the worker always decodes the newest frame (buffer size 1), so a "
        "decode slower than the frame interval adds no queueing delay.",
        "Not measured here: the camera's own exposure and transfer (up to one frame interval, 33-66 ms), and "
        "showing the result (the next UI frame, <= 17 ms at 60 Hz); real optics (glare on a phone screen, "
        "perspective, motion) lower the decode rate more than these synthetic frames do. The end-to-end path "
        "from an image file through the real app to the result screen is exercised by "
        "`tests/kiosk/test_kiosk_ui.py::test_camera_path_decodes_issuer_qr_and_grants`.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(REPO / "docs" / "performance.md", text)
    return 0


def write_section(path: Path, section: str) -> None:
    """Replace (or append) only the "Kiosk scanning" section; other sections belong to others."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    pattern = re.compile(r"^## Kiosk scanning\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda m: section + "\n", old)
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
