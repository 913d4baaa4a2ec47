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
from .decoder import decode_frame, looks_like_perkpass, to_gray
from .second import SecondReader
from .sources import CaptureSource
from .stillness import ViewMemory

log = logging.getLogger("kiosk.scan")


class CameraWorker:
    #: a code that stays in view (or comes back within this many seconds) is reported only once
    REPEAT_SUPPRESS_S = 4.0
    #: a foreign symbol seen this soon after a Perkpass code belongs with the citizen's code (the poster beside
    #: the phone, uncovered as the phone moves or leaves): part of the scene, never answered
    SCENE_AFTER_CODE_S = 5.0
    #: a foreign symbol is answered only once it has stayed in view this long with no Perkpass code read (by the
    #: fast path or the second reader) meanwhile: a code held up is held up for longer than that
    FOREIGN_CONFIRM_S = 0.8
    #: a symbol that leaves the view for longer than this and comes back is a new presentation
    FOREIGN_GAP_S = 1.0
    #: what is in view during the camera's first second (after start or after the staff menu) is the scene
    START_SETTLE_S = 1.0
    #: a symbol of the scene is forgotten after it has been out of view this long
    SCENE_FORGET_S = 60.0

    def __init__(self, source: CaptureSource, on_code: Callable[[str, float], None],
                 repeat_suppress_s: float | None = None, decode: Callable[..., list[str]] = decode_frame,
                 second: SecondReader | None = None, clock: Callable[[], float] = time.monotonic):
        self.source = source
        self.second = second
        self.on_code = on_code
        self.decode = decode
        self.clock = clock
        self.repeat_suppress_s = self.REPEAT_SUPPRESS_S if repeat_suppress_s is None else repeat_suppress_s
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._lock = threading.Lock()
        self._latest: np.ndarray | None = None
        self._seq = 0
        self._last_seen: dict[str, float] = {}
        # foreign symbols (not Perkpass-shaped): the scene's (text -> last seen) and those being presented
        # (text -> (first seen, last seen)); see choose()
        self._scene: dict[str, float] = {}
        self._presented: dict[str, tuple[float, float]] = {}
        self._last_ours: float | None = None
        self._opened_at: float | None = None
        self.view = ViewMemory()
        self._decode_ms: deque[float] = deque(maxlen=120)
        self._frame_times: deque[float] = deque(maxlen=120)
        self.frames = 0
        self.full_looks = 0
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
                    self._opened_at = None           # the view after the pause settles again
                    self.view.forget()
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
        A view that has not changed since every pass last looked at it gets only the first pass and is not
        offered to the second reader again (``stillness.py``): they would find the same nothing.
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
        t_frame = self.clock()
        with self._lock:
            self._latest = frame
            self._seq += 1
        self.frames += 1
        if self._opened_at is None:
            self._opened_at = t_frame
        self._frame_times.append(t_frame)
        try:
            gray = to_gray(frame) if isinstance(frame, np.ndarray) and frame.size else None
            thumb = self.view.thumbnail(gray) if gray is not None else None
            full = self.view.is_new("decoder", thumb)
            texts = self.decode(frame, gray=gray) if full else self.decode(frame, gray=gray, first_pass_only=True)
        except Exception:
            self.errors += 1
            log.exception("decode failed")
            return decided
        self._decode_ms.append((self.clock() - t_frame) * 1000.0)
        if full:
            self.full_looks += 1
            self.view.looked("decoder", thumb)
        # offer returns at once; the frame is taken only when the reader is free (then it has looked at this view)
        if (self.second is not None and not any(looks_like_perkpass(t) for t in texts)
                and self.view.is_new("second", thumb) and self.second.offer(frame, t_frame)):
            self.view.looked("second", thumb)
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
        now = self.clock()
        for text, t_frame in self.second.take_results():
            self._saw_ours(t_frame)
            last = self._last_seen.get(text)
            self._last_seen[text] = now
            if last is None or now - last >= self.repeat_suppress_s:
                self._report(text, t_frame)
                return [text]
        return []

    def _saw_ours(self, t: float) -> None:
        """A Perkpass code was in view at ``t``: foreign symbols in view with it, or just before, are its scene."""
        self._last_ours = t if self._last_ours is None else max(self._last_ours, t)
        for text, (_first, last) in list(self._presented.items()):
            if last >= t - self.SCENE_AFTER_CODE_S:
                del self._presented[text]
                self._scene[text] = last

    def choose(self, texts: list[str], t_frame: float) -> str | None:
        """The one text of this frame worth a decision, or None.

        One frame gives at most one decision: with a poster QR beside the phone, deciding on both would grant
        the citizen's code and then cover the grant with "Not a Perkpass code". A Perkpass-shaped symbol not
        decided on within the repeat window wins. A foreign symbol (a poster, a barcode sticker, a payment
        code) never produces an answer when it is part of the scene:

        * it was in view together with a Perkpass code, or appeared within ``SCENE_AFTER_CODE_S`` of one (the
          poster beside the phone; the fast path may have read only the phone for a while, or only the poster
          while the second reader was still reading the phone);
        * it was in view in the camera's first second (the desk as the kiosk found it);
        * it was answered once already and has not left the view for ``SCENE_FORGET_S`` since.

        Anything else is a newly presented symbol: it is answered ("Not a Perkpass code") once it has stayed
        in view for ``FOREIGN_CONFIRM_S`` with no Perkpass code read meanwhile and the second reader has
        nothing pending (it may be reading the citizen's half-covered code in that very frame).
        """
        ours_fresh: list[str] = []
        foreign: list[str] = []
        for text in texts:
            if looks_like_perkpass(text):
                last = self._last_seen.get(text)
                self._last_seen[text] = t_frame
                if last is None or t_frame - last >= self.repeat_suppress_s:
                    ours_fresh.append(text)
            else:
                foreign.append(text)
        if len(foreign) < len(texts):
            self._saw_ours(t_frame)
        self._forget_old(t_frame)
        settling = self._opened_at is not None and t_frame - self._opened_at < self.START_SETTLE_S
        near_code = self._last_ours is not None and t_frame - self._last_ours <= self.SCENE_AFTER_CODE_S
        ready: list[str] = []
        for text in foreign:
            if text in self._scene or settling or near_code:
                self._presented.pop(text, None)
                self._scene[text] = t_frame
                continue
            first, last = self._presented.get(text, (t_frame, t_frame))
            if t_frame - last > self.FOREIGN_GAP_S:
                first = t_frame                      # it left the view: a new presentation starts now
            self._presented[text] = (first, t_frame)
            if t_frame - first >= self.FOREIGN_CONFIRM_S:
                ready.append(text)
        if ours_fresh:
            return ours_fresh[0]
        if ready and (self.second is None or self.second.idle):
            text = ready[0]
            del self._presented[text]
            self._scene[text] = t_frame              # answered once: from now on part of the scene
            return text
        return None

    def _forget_old(self, now: float) -> None:
        for text, last in list(self._scene.items()):
            if now - last > self.SCENE_FORGET_S:
                del self._scene[text]
        for text, (_first, last) in list(self._presented.items()):
            if now - last > self.FOREIGN_GAP_S:
                del self._presented[text]
