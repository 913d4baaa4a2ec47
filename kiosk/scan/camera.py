"""The camera worker: capture and QR decoding in one background thread.

The UI thread never touches OpenCV or zxing-cpp: it only asks :meth:`CameraWorker.latest_frame` for the
newest frame to show as the preview. Decoded texts go to ``on_code(text, frame_time)`` *in the worker
thread*, at most one text per frame (see :meth:`CameraWorker.choose`); ``frame_time`` is the
``time.monotonic()`` at which the frame was captured, so the caller can measure frame-to-decision latency.

An optional :class:`~kiosk.scan.second.SecondReader` gets the frames in which the fast decoder found no
Perkpass-shaped code; what it reads (in its own thread, later) comes back through :meth:`CameraWorker.step`,
so decisions are still made in this worker thread only.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from . import decoder
from .decoder import decode_frame, looks_like_perkpass
from .second import SecondReader
from .sources import CaptureSource

log = logging.getLogger("kiosk.scan")


class CameraWorker:
    #: a code that stays in view (or comes back within this many seconds) is reported only once
    REPEAT_SUPPRESS_S = 4.0

    def __init__(self, source: CaptureSource, on_code: Callable[[str, float], None],
                 repeat_suppress_s: float | None = None, decode: Callable[..., list[str]] = decode_frame,
                 second: SecondReader | None = None):
        self.source = source
        self.second = second
        self.on_code = on_code
        self.decode = decode
        self.repeat_suppress_s = self.REPEAT_SUPPRESS_S if repeat_suppress_s is None else repeat_suppress_s
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._lock = threading.Lock()
        self._latest: np.ndarray | None = None
        self._seq = 0
        self._last_seen: dict[str, float] = {}
        self._decode_ms: deque[float] = deque(maxlen=120)
        self._frame_times: deque[float] = deque(maxlen=120)
        self.frames = 0
        self.codes = 0
        self.errors = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        if decoder.cv2 is not None:
            # OpenCV work runs in this worker and in the second reader, one thread each, as bench/scan.py
            # measures it: OpenCV's own pool would spread each frame over every core, beside the UI thread
            decoder.cv2.setNumThreads(1)
        self._stop.clear()
        if self.second is not None:
            self.second.start()
        self._thread = threading.Thread(target=self._run, name="kiosk-camera", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.second is not None:
            self.second.stop(timeout)

    def pause(self) -> None:
        """Stop capturing (settings screen open, app in background). The camera is released."""
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- UI side -----------------------------------------------------------------------------
    def latest_frame(self) -> tuple[int, np.ndarray | None]:
        with self._lock:
            return self._seq, self._latest

    def stats(self) -> dict[str, float]:
        d = list(self._decode_ms)
        ft = list(self._frame_times)
        fps = (len(ft) - 1) / (ft[-1] - ft[0]) if len(ft) > 1 and ft[-1] > ft[0] else 0.0
        return {"frames": self.frames, "codes": self.codes, "errors": self.errors, "fps": round(fps, 1),
                "decode_ms_avg": round(sum(d) / len(d), 1) if d else 0.0}

    # -- worker ------------------------------------------------------------------------------
    def _run(self) -> None:
        opened = False
        try:
            while not self._stop.is_set():
                if self._paused.is_set():
                    if self.second is not None:
                        self.second.clear()
                    if opened:
                        self.source.close()
                        opened = False
                    time.sleep(0.1)
                    continue
                if not opened:
                    try:
                        self.source.open()
                    except Exception:
                        log.exception("capture source %s failed to open", self.source.describe())
                        time.sleep(1.0)
                        continue
                    opened = True
                self.step()
        finally:
            if opened:
                try:
                    self.source.close()
                except Exception:  # noqa: BLE001 - closing a broken source must not end the worker
                    pass

    def step(self) -> list[str]:
        """Capture and decode one frame. Public so benchmarks can drive the exact same path.

        Codes the second reader found in earlier frames are decided on first (see :meth:`_second_results`).
        """
        decided = self._second_results()
        try:
            frame = self.source.read()
        except Exception:  # a flaky camera must not kill the worker
            self.errors += 1
            log.exception("capture failed")
            time.sleep(0.2)
            return decided
        if frame is None:
            return decided
        t_frame = time.monotonic()
        with self._lock:
            self._latest = frame
            self._seq += 1
        self.frames += 1
        self._frame_times.append(t_frame)
        try:
            texts = self.decode(frame)
        except Exception:
            self.errors += 1
            log.exception("decode failed")
            return decided
        self._decode_ms.append((time.monotonic() - t_frame) * 1000.0)
        if self.second is not None and not any(looks_like_perkpass(t) for t in texts):
            self.second.offer(frame, t_frame)      # returns at once; taken only when the reader is free
        chosen = self.choose(texts, t_frame)
        if len(self._last_seen) > 256:
            cutoff = t_frame - self.repeat_suppress_s
            self._last_seen = {k: v for k, v in self._last_seen.items() if v >= cutoff}
        if chosen is None:
            return decided
        self._report(chosen, t_frame)
        return decided + [chosen]

    def _report(self, text: str, t_frame: float) -> None:
        self.codes += 1
        try:
            self.on_code(text, t_frame)
        except Exception:
            self.errors += 1
            log.exception("on_code handler failed")

    def _second_results(self) -> list[str]:
        """At most one decision on what the second reader read (Perkpass-shaped texts only), unless the same
        code was already decided on within the repeat window (the fast path may have read it meanwhile)."""
        if self.second is None:
            return []
        now = time.monotonic()
        for text, t_frame in self.second.take_results():
            last = self._last_seen.get(text)
            self._last_seen[text] = now
            if last is None or now - last >= self.repeat_suppress_s:
                self._report(text, t_frame)
                return [text]
        return []

    def choose(self, texts: list[str], t_frame: float) -> str | None:
        """The one text of this frame worth a decision, or None.

        One frame gives at most one decision: with a poster QR beside the phone, deciding on both would grant
        the citizen's code and then cover the grant with "Not a Perkpass code". A Perkpass-shaped symbol wins;
        a foreign symbol is reported only when the frame holds no Perkpass symbol at all (not even one already
        reported, which is still in view). Every symbol in view counts as seen, so a poster that stays in view
        is never reported again.
        """
        fresh: list[str] = []
        for text in texts:
            last = self._last_seen.get(text)
            self._last_seen[text] = t_frame
            if last is None or t_frame - last >= self.repeat_suppress_s:
                fresh.append(text)
        ours = [t for t in fresh if looks_like_perkpass(t)]
        if ours:
            return ours[0]
        if fresh and not any(looks_like_perkpass(t) for t in texts):
            return fresh[0]
        return None
