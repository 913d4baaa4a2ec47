"""Pluggable capture sources for the camera worker.

Every source yields BGR ``numpy`` frames through the same :class:`CaptureSource` interface, so a source
reading image files goes down exactly the same path (worker thread, decoder, verifier, result screen) as
a real camera. Sources pace themselves (a real camera blocks until the next frame).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger("kiosk.scan")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".pgm", ".ppm", ".tif", ".tiff")


def imread(path: str) -> np.ndarray | None:
    """Read an image file as BGR; None for anything that is not a readable image. Never raises."""
    try:
        import cv2
        data = np.fromfile(path, dtype=np.uint8)
        if data.size == 0:
            return None
        frame = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if frame is None:
            return None
        return frame
    except Exception:  # a corrupt file must never take the kiosk down
        log.warning("could not read image %s", path, exc_info=True)
        return None


def fit_frame(frame: np.ndarray, width: int = 640, height: int = 480) -> np.ndarray:
    """Letterbox an image into a camera-sized frame (what a camera pointed at a phone would deliver)."""
    import cv2
    h, w = frame.shape[:2]
    scale = min(width / w, height / h, 1.0)
    if scale < 1.0:
        frame = cv2.resize(frame, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
        h, w = frame.shape[:2]
    canvas = np.full((height, width, 3), 235, dtype=np.uint8)
    y, x = (height - h) // 2, (width - w) // 2
    canvas[y:y + h, x:x + w] = frame
    return canvas


class CaptureSource:
    """Base class. ``read()`` returns the next BGR frame, or None when no frame is available right now."""

    name = "none"
    fps = 15.0

    def open(self) -> None:  # pragma: no cover - trivial
        pass

    def read(self) -> np.ndarray | None:
        time.sleep(1.0 / self.fps)
        return None

    def close(self) -> None:  # pragma: no cover - trivial
        pass

    @property
    def finished(self) -> bool:
        return False

    def describe(self) -> str:
        return self.name


class _Paced(CaptureSource):
    def __init__(self, fps: float = 15.0):
        self.fps = float(fps)
        self._next = 0.0

    def _pace(self) -> None:
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
            now = self._next
        self._next = now + 1.0 / self.fps


class OpenCVCameraSource(CaptureSource):
    """A V4L2/USB/CSI camera through OpenCV."""

    def __init__(self, index: int | str = 0, width: int = 640, height: int = 480):
        self.index = index
        self.width, self.height = width, height
        self.name = f"camera:{index}"
        self._cap: Any = None  # a cv2.VideoCapture once open() ran (cv2 is imported only then)
        self._failures = 0

    def open(self) -> None:
        import cv2
        self._cap = cv2.VideoCapture(self.index)
        if self._cap is not None and self._cap.isOpened():
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # always the newest frame: latency over throughput
        else:
            log.warning("camera %s could not be opened", self.index)

    @property
    def available(self) -> bool:
        return self._cap is not None and self._cap.isOpened()

    def read(self) -> np.ndarray | None:
        if not self.available:
            time.sleep(0.5)
            # try again from time to time: a USB camera may be plugged in later
            self._failures += 1
            if self._failures % 10 == 0:
                self.close()
                self.open()
            return None
        ok, frame = self._cap.read()
        if not ok:
            time.sleep(0.05)
            return None
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ImageFilesSource(_Paced):
    """Frames from a fixed list of image files, each held for ``hold`` frames, a blank gap between them."""

    def __init__(self, paths: Sequence[str], fps: float = 15.0, hold: int = 8, gap: int = 8, loop: bool = False):
        super().__init__(fps)
        self.paths = [os.fspath(p) for p in paths]
        self.hold, self.gap, self.loop = hold, gap, loop
        self.name = "images"
        self._frames: list[np.ndarray | None] = []
        self._i = 0
        self._blank = np.full((480, 640, 3), 235, dtype=np.uint8)

    def open(self) -> None:
        self._frames = []
        for p in self.paths:
            img = imread(p)
            self._frames.append(None if img is None else fit_frame(img))
        self._i = 0

    @property
    def finished(self) -> bool:
        return not self.loop and self._i >= len(self._frames) * (self.hold + self.gap)

    def read(self) -> np.ndarray | None:
        self._pace()
        period = self.hold + self.gap
        if not self._frames or self.finished:
            return self._blank
        idx, pos = divmod(self._i, period)
        self._i += 1
        if self.loop and self._i >= len(self._frames) * period:
            self._i = 0
        frame = self._frames[idx % len(self._frames)]
        if pos >= self.hold or frame is None:
            return self._blank
        return frame


class FolderWatchSource(_Paced):
    """Watch a folder: each image file that appears there is shown to the "camera" for ``hold_s`` seconds.

    Handy for demos without a camera (drop a screenshot of a citizen's QR into the folder) and used by the
    tests to put an issuer-made QR in front of the real capture path.
    """

    def __init__(self, folder: str, fps: float = 15.0, hold_s: float = 1.0):
        super().__init__(fps)
        self.folder = os.fspath(folder)
        self.hold_s = hold_s
        self.name = f"folder:{self.folder}"
        self._seen: set[str] = set()
        self._current: np.ndarray | None = None
        self._until = 0.0
        self._last_scan = 0.0
        self._blank = np.full((480, 640, 3), 235, dtype=np.uint8)
        self._queue: list[str] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        os.makedirs(self.folder, exist_ok=True)
        # files already there when the kiosk starts are not "new presentations"
        self._seen = set(self._list())

    def _list(self) -> list[str]:
        try:
            names = sorted(os.listdir(self.folder))
        except OSError:
            return []
        return [n for n in names if n.lower().endswith(IMAGE_SUFFIXES) and not n.startswith(".")]

    def read(self) -> np.ndarray | None:
        self._pace()
        now = time.monotonic()
        if now - self._last_scan > 0.1:
            self._last_scan = now
            for n in self._list():
                if n not in self._seen:
                    self._seen.add(n)
                    self._queue.append(n)
        if self._current is not None and now < self._until:
            return self._current
        self._current = None
        while self._queue:
            n = self._queue.pop(0)
            img = imread(os.path.join(self.folder, n))
            if img is not None:
                self._current = fit_frame(img)
                self._until = now + self.hold_s
                return self._current
        return self._blank


def open_source(spec: str | None) -> CaptureSource:
    """Build a source from a command-line spec.

    ``camera`` / ``camera:N`` / ``N`` (OpenCV device), ``images:a.png,b.png`` (fixed list),
    ``folder:/path`` or ``folder:/path;hold=SECONDS`` (watch a folder), ``none`` (no camera: HID scanner and
    manual entry only).
    """
    spec = (spec or "camera:0").strip()
    kind, _, arg = spec.partition(":")
    if spec.isdigit():
        return OpenCVCameraSource(int(spec))
    if kind == "camera":
        arg = arg or "0"
        return OpenCVCameraSource(int(arg) if arg.isdigit() else arg)
    if kind == "images":
        return ImageFilesSource([p for p in arg.split(",") if p])
    if kind == "folder":
        folder, _, opts = arg.partition(";")
        hold = 1.0
        if opts.startswith("hold="):
            hold = float(opts[5:])
        return FolderWatchSource(folder, hold_s=hold)
    if kind == "none":
        return CaptureSource()
    raise ValueError(f"unknown capture source {spec!r}: use camera[:N], images:FILES, folder:DIR or none")
