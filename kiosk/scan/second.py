"""The second reader: OpenCV's ``wechat_qrcode`` on the code-like parts of frames the fast path missed.

The camera worker decodes every frame with a few cheap zxing-cpp passes (``decoder.py``, a few ms). Under a
fingertip over part of the code (or a glare spot) zxing-cpp sometimes finds no symbol at all: its detector
drops a symbol whose version bits it cannot read where it expects them. ``wechat_qrcode`` reads more of those
frames, but on a whole 1280x720 frame it costs 8-40 ms when it reads the code and 150-800 ms when it does
not, far too slow for every frame. So it runs here, on the side:

* **only on frames the fast path missed**: the camera worker offers a frame when it found no Perkpass-shaped
  code in it, and this reader takes it only when it is idle and its CPU budget allows (``duty``: at most that
  share of one core, measured on its own runs; at least ``min_interval_s`` apart). Every other offer is
  dropped at once, so the camera thread never waits;
* **only on the code-like regions**: :func:`code_regions` finds areas dense in sharp dark/light edges (a QR
  code; not a desk, a wall or a face) on a half-size image in ~2 ms, and ``wechat_qrcode`` runs on a crop
  around each (at most ``max_regions``, each scaled to at most ``max_side`` pixels): 5-35 ms where it reads,
  40-110 ms where it does not. A frame with no such region costs only the region search;
* **in its own thread**, never the UI thread nor the camera thread (OpenCV releases the GIL while it works);
  what it reads goes back to the camera worker (:meth:`take_results`), which makes the decision in its own
  thread with the same one-decision rules, so ``on_code`` is never called from two threads;
* **then the whole frame**, when a code-like region was found but no crop read it: ``wechat_qrcode``'s own
  detector on the full frame reads a few more fingertip-covered codes than the crops (slow when it fails,
  so only then, and still within the budget);
* **only Perkpass-shaped texts** come back: a foreign symbol was already reported (or not) by the fast path.

Without OpenCV's contrib module (``cv2.wechat_qrcode_WeChatQRCode``) the second reader is simply absent.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from .decoder import _to_gray, looks_like_perkpass, normalise_scan

try:
    import cv2
except ImportError:  # pragma: no cover - OpenCV is in the kiosk extra
    cv2 = None  # type: ignore[assignment]  # optional module: None when absent

log = logging.getLogger("kiosk.scan")


def available() -> bool:
    return cv2 is not None and hasattr(cv2, "wechat_qrcode_WeChatQRCode")


def default_second_reader() -> SecondReader | None:
    """The kiosk's second reader with its default budget, or None where OpenCV's contrib module is missing."""
    return SecondReader() if available() else None


def _gray(frame: np.ndarray) -> np.ndarray | None:
    """The decoder's grayscale conversion; None for a frame it cannot convert (the second reader never raises)."""
    if frame.ndim == 3 and frame.shape[2] not in (1, 3, 4):
        return None
    try:
        return _to_gray(frame)
    except ValueError:
        return None


def code_regions(frame: np.ndarray, max_regions: int = 2) -> list[tuple[int, int, int, int]]:
    """Areas of ``frame`` that look like a QR code: dense in sharp dark/light edges. ``(x, y, w, h)``, largest first.

    On a half-size image: the morphological gradient (max - min over 3x3) marks module edges; the share of
    marked pixels over 15x15 windows is high only where modules are packed (a code), low on smooth scenes,
    flat objects and single lines. Connected areas of high share, big enough for a code, are the candidates.
    """
    gray = _gray(frame)
    if gray is None or gray.dtype != np.uint8 or min(gray.shape[:2]) < 32:
        return []
    h, w = gray.shape[:2]
    small = cv2.resize(gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    grad = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    edges = (grad > 60).astype(np.float32)
    density = cv2.boxFilter(edges, -1, (15, 15))
    mask = (density > 0.35).astype(np.uint8)
    n, _labels, stats, _centres = cv2.connectedComponentsWithStats(mask, connectivity=8)
    found = []
    for k in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[k])
        if bw < 12 or bh < 12 or area < 300:      # under ~24 px a side at full size: no code we could read
            continue
        found.append((area, (2 * x, 2 * y, 2 * bw, 2 * bh)))
    found.sort(key=lambda a: -a[0])
    return [box for _area, box in found[:max_regions]]


class SecondReader:
    """Runs ``wechat_qrcode`` on code-like regions of offered frames, in a background thread, within a budget."""

    def __init__(self, *, duty: float = 0.25, min_interval_s: float = 0.1, max_regions: int = 2,
                 max_side: int = 640, max_age_s: float = 2.0, whole_frame: bool = True,
                 clock: Callable[[], float] = time.monotonic):
        if not available():
            raise RuntimeError("OpenCV with the contrib module wechat_qrcode is needed for the second reader")
        if not 0 < duty <= 1:
            raise ValueError("duty must be in (0, 1]")
        self.duty = duty
        self.min_interval_s = min_interval_s
        self.max_regions = max_regions
        self.max_side = max_side
        self.max_age_s = max_age_s
        self.whole_frame = whole_frame
        self.clock = clock
        self._reader = cv2.wechat_qrcode_WeChatQRCode()  # type: ignore[attr-defined]  # contrib: not in cv2's stubs
        self._lock = threading.Lock()
        self._slot: tuple[np.ndarray, float] | None = None
        self._busy = False
        self._next_ok = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._results: deque[tuple[str, float]] = deque(maxlen=8)
        self.runs = 0
        self.reads = 0
        self.errors = 0
        self.last_run_s = 0.0

    # -- the slow decode itself (pure: used by the thread, the benchmark and the tests) -------------
    def read(self, frame) -> list[str]:
        """Perkpass-shaped texts ``wechat_qrcode`` reads in the code-like regions of ``frame``. Never raises
        on a bad frame (wrong type, shape or dtype: no texts)."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.size == 0:
            return []
        if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (1, 3, 4)):
            return []
        texts: list[str] = []
        fh, fw = frame.shape[:2]
        regions = code_regions(frame, self.max_regions)
        for x, y, w, h in regions:
            pad_x, pad_y = w // 4 + 16, h // 4 + 16            # the quiet zone and finder patterns at the edge
            x0, y0 = max(0, x - pad_x), max(0, y - pad_y)
            x1, y1 = min(fw, x + w + pad_x), min(fh, y + h + pad_y)
            crop = _gray(frame[y0:y1, x0:x1])
            if crop is None:  # ruled out by the shape checks above
                continue
            scale = min(1.0, self.max_side / max(crop.shape[:2]))
            if scale < 1.0:
                crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            found, _points = self._reader.detectAndDecode(np.ascontiguousarray(crop))
            for raw in found:
                text = normalise_scan(raw)
                if looks_like_perkpass(text) and text not in texts:
                    texts.append(text)
            if texts:
                break
        if not texts and regions and self.whole_frame:
            # Something code-like is in view but no crop read it: the whole frame, as wechat_qrcode reads best
            # (its own detector sometimes finds a fingertip-covered code the crop cut short). Slow when it
            # fails (up to ~0.6 s), so only here, in this thread, within the duty budget; an empty scene
            # (no region) never gets this far.
            gray = _gray(frame)
            if gray is not None:
                found, _points = self._reader.detectAndDecode(np.ascontiguousarray(gray))
                for raw in found:
                    text = normalise_scan(raw)
                    if looks_like_perkpass(text) and text not in texts:
                        texts.append(text)
        return texts

    # -- camera thread side ---------------------------------------------------------------------
    def offer(self, frame: np.ndarray, t_frame: float) -> bool:
        """Hand over a frame the fast path missed. Returns at once; False when the reader is busy or resting."""
        with self._lock:
            if self._busy or self._slot is not None or self.clock() < self._next_ok:
                return False
            self._slot = (frame, t_frame)
        self._wake.set()
        return True

    def take_results(self) -> list[tuple[str, float]]:
        """Texts read since the last call, with the capture time of their frame; stale ones are dropped."""
        out = []
        now = self.clock()
        while self._results:
            text, t_frame = self._results.popleft()
            if now - t_frame <= self.max_age_s:      # the citizen may have gone: no decision on an old frame
                out.append((text, t_frame))
        return out

    @property
    def idle(self) -> bool:
        """Nothing offered, being read or read and not yet taken: the camera worker may answer a foreign symbol
        without the citizen's code (read by this reader in the same frames) arriving just after."""
        with self._lock:
            return not self._busy and self._slot is None and not self._results

    def clear(self) -> None:
        """Forget the pending frame and unread results (camera paused)."""
        with self._lock:
            self._slot = None
        self._results.clear()

    # -- worker ---------------------------------------------------------------------------------
    def run_pending(self) -> bool:
        """Decode the offered frame, if any, in the calling thread. The thread's loop body; public for tests."""
        with self._lock:
            if self._slot is None:
                return False
            frame, t_frame = self._slot
            self._slot = None
            self._busy = True
        start = self.clock()
        try:
            texts = self.read(frame)
        except Exception:  # a bad frame or an OpenCV error must not end the kiosk's scanning
            self.errors += 1
            log.exception("second reader failed")
            texts = []
        end = self.clock()
        self.runs += 1
        self.last_run_s = end - start
        for text in texts:
            self.reads += 1
            self._results.append((text, t_frame))
        with self._lock:
            self._busy = False
            # at most `duty` of one core: rest (1/duty - 1) times as long as the run took
            self._next_ok = end + max(self.min_interval_s, self.last_run_s * (1.0 / self.duty - 1.0))
        return True

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kiosk-second-reader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            while self.run_pending():
                pass
