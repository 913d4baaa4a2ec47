"""QR decoding with zxing-cpp. Runs in the camera worker thread, never on the UI thread."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    import cv2
except ImportError:  # pragma: no cover - OpenCV is in the kiosk extra; decoding still works without it
    cv2 = None  # type: ignore[assignment]  # optional module: None when absent

try:  # zxing-cpp is a hard dependency of the kiosk extra; keep import errors readable
    import zxingcpp
except ImportError as exc:  # pragma: no cover - reported at start-up
    zxingcpp = None  # type: ignore[assignment]  # optional module: None when absent
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

# Longest text we pass on to the verifier. A Perkpass QR is well under 1 kB; anything larger is not ours.
MAX_SCAN_LENGTH = 4096

# "PP" + a version digit + the body (PP1 digits, PP2 ...), or a bare compact JWS (three base64url segments).
_PERKPASS_TEXT = re.compile(r"PP[0-9]|[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\Z")


def looks_like_perkpass(text: str) -> bool:
    """Whether a decoded text is shaped like a Perkpass code (not whether it is genuine: the verifier decides).

    Used to pick the Perkpass symbol when a frame holds several (a poster QR beside the phone) and to ignore
    foreign symbols while a result is on screen.
    """
    return bool(text) and _PERKPASS_TEXT.match(text.strip()) is not None


def _to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 1:
        return frame[:, :, 0]
    if frame.ndim == 3 and frame.shape[2] >= 3 and cv2 is not None:
        code = cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        return cv2.cvtColor(frame, code)
    if frame.ndim == 3 and frame.shape[2] >= 3:
        # BGR(A) -> luma with integer weights (no OpenCV: ~8x slower)
        b = frame[:, :, 0].astype(np.uint16)
        g = frame[:, :, 1].astype(np.uint16)
        r = frame[:, :, 2].astype(np.uint16)
        return ((29 * b + 150 * g + 77 * r) >> 8).astype(np.uint8)
    raise ValueError(f"unsupported frame shape {frame.shape!r}")


def to_gray(frame: np.ndarray) -> np.ndarray:
    """The contiguous grayscale image every pass reads (computed once per frame)."""
    return np.ascontiguousarray(_to_gray(frame))


def _darkest_channel(frame: np.ndarray, gray: np.ndarray) -> np.ndarray:
    """min(B, G, R): a phone shows its code in neutral grey, so this keeps the code as it is in ``gray``
    while anything coloured in front of it (a fingertip, a coloured sticker) turns dark instead of reading
    as a run of light modules."""
    if frame.ndim == 3 and frame.shape[2] >= 3 and cv2 is not None:
        return cv2.min(cv2.min(frame[:, :, 0], frame[:, :, 1]), frame[:, :, 2])
    return gray


def _read(image: np.ndarray, **options) -> list:
    return zxingcpp.read_barcodes(np.ascontiguousarray(image),
                                  formats=zxingcpp.BarcodeFormat.QRCode,  # type: ignore[arg-type]  # made BarcodeFormats
                                  **options)


def _camera_passes():
    """The camera path: cheap zxing-cpp passes, each for the frames the previous ones miss.

    Measured on the seeded frame set of ``bench/scan.py`` (1280x720, 9 conditions); together they cost about
    5 ms of CPU on a frame with no code, so every frame gets all of them (no alternation over frames).
    """
    B = zxingcpp.Binarizer
    return (
        # 1. the frame as it is, dark and light (dark-mode phones show light modules on black)
        ("plain", lambda frame, gray: _read(gray, binarizer=B.LocalAverage, try_invert=True)),
        # 2. upscaled 1.5x: the local-average binarizer then sees each module over more pixels, which is what
        #    lets it through a glare spot, a dimmed screen (low contrast) and a screen's moire stripes
        ("upscaled", lambda frame, gray: _read(cv2.resize(gray, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_LINEAR),
                                               binarizer=B.LocalAverage, try_downscale=False, try_invert=False)),
        # 3. darkest channel, one global threshold: a fingertip over the code, and blur (where the local
        #    binarizer breaks module edges apart)
        ("darkest", lambda frame, gray: _read(_darkest_channel(frame, gray), binarizer=B.FixedThreshold,
                                              try_downscale=False, try_invert=False)),
    )


def decode_frame(frame: np.ndarray, *, fast: bool = True, variant: int = 0, gray: np.ndarray | None = None,
                 first_pass_only: bool = False) -> list[str]:
    """Return the texts of all QR codes found in a BGR or grayscale frame (maybe empty), Perkpass codes first.

    Camera frames (``fast=True``) go through the passes of :func:`_camera_passes` in turn, stopping at the
    first pass that finds a Perkpass-shaped code (a foreign symbol alone does not stop the search: the
    citizen's code may be beside a poster). A still image (``fast=False``, "open image") also tries the
    other binarizers and a larger upscale. ``variant`` is accepted for compatibility and ignored.

    ``gray``: the frame already converted by :func:`to_gray` (the camera worker needs it too).
    ``first_pass_only``: only the frame as it is, dark and light; the camera worker asks for this on a view
    that has not changed since every pass last looked at it (``kiosk/scan/stillness.py``).
    """
    if zxingcpp is None:  # pragma: no cover
        raise RuntimeError("zxing-cpp is not installed: pip install 'perkpass[kiosk]'") from _IMPORT_ERROR
    if frame is None or not hasattr(frame, "ndim") or frame.size == 0:
        return []
    if gray is None:
        gray = to_gray(frame)
    texts: list[str] = []
    passes = _passes(fast, max(gray.shape[:2]))
    for _name, run in passes[:1] if first_pass_only else passes:
        for r in run(frame, gray):
            text = normalise_scan(r.text)
            if text and text not in texts:
                texts.append(text)
        if any(looks_like_perkpass(t) for t in texts):
            break
    return sorted(texts, key=lambda t: not looks_like_perkpass(t))   # stable: Perkpass codes first


def _passes(fast: bool, longest_side: int):
    passes = _camera_passes() if cv2 is not None else _camera_passes()[:1]
    if fast:
        return passes
    B = zxingcpp.Binarizer
    extra: tuple[tuple[str, Callable[[Any, Any], list[Any]]], ...] = (
        ("global", lambda frame, gray: _read(gray, binarizer=B.GlobalHistogram)),
        ("fixed", lambda frame, gray: _read(gray, binarizer=B.FixedThreshold)),
    )
    if cv2 is not None and longest_side < 2000:
        extra += (("upscaled 2x", lambda frame, gray: _read(
            cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC), try_downscale=False)),)
    return passes + extra


def normalise_scan(text) -> str:
    """Clean up text coming from a scanner, the camera or a keyboard.

    Strips whitespace and control characters (HID scanners may add a prefix/suffix), limits the length.
    Never raises.
    """
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = str(text)
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    return text[:MAX_SCAN_LENGTH]
