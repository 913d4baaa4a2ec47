"""QR decoding with zxing-cpp. Runs in the camera worker thread, never on the UI thread."""
from __future__ import annotations

import numpy as np

try:
    import cv2
except ImportError:  # pragma: no cover - OpenCV is in the kiosk extra; decoding still works without it
    cv2 = None

try:  # zxing-cpp is a hard dependency of the kiosk extra; keep import errors readable
    import zxingcpp
except ImportError as exc:  # pragma: no cover - reported at start-up
    zxingcpp = None
    _IMPORT_ERROR = exc
else:
    _IMPORT_ERROR = None

_BINARIZERS = (zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram) if zxingcpp else ()

# Longest text we pass on to the verifier. A Perkpass QR is well under 1 kB; anything larger is not ours.
MAX_SCAN_LENGTH = 4096


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
    raise ValueError("unsupported frame shape %r" % (frame.shape,))


def decode_frame(frame: np.ndarray, *, fast: bool = True, variant: int = 0) -> list[str]:
    """Return the texts of all QR codes found in a BGR or grayscale frame (maybe empty).

    Camera frames (``fast=True``) get one zxing-cpp pass per frame, restricted to QR codes and without the
    inverted-image pass (phones show dark-on-light codes). ``variant`` alternates the binarizer from one
    frame to the next (local-average, then global-histogram): each catches codes the other misses
    (a small code at an awkward angle, uneven light), and in live video the next frame comes 40-60 ms
    later anyway. A still image (``fast=False``, "open image") tries every strategy in turn.
    """
    if zxingcpp is None:  # pragma: no cover
        raise RuntimeError("zxing-cpp is not installed: pip install 'perkpass[kiosk]'") from _IMPORT_ERROR
    if frame is None or not hasattr(frame, "ndim") or frame.size == 0:
        return []
    gray = np.ascontiguousarray(_to_gray(frame))
    if fast:
        binarizer = _BINARIZERS[variant % len(_BINARIZERS)]
        results = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode, try_rotate=True,
                                         try_downscale=True, try_invert=False, binarizer=binarizer)
    else:
        results = []
        for binarizer in _BINARIZERS:
            results = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode, binarizer=binarizer)
            if results:
                break
        if not results and max(gray.shape) < 2000:
            import cv2
            big = cv2.resize(gray, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
            results = zxingcpp.read_barcodes(big, formats=zxingcpp.BarcodeFormat.QRCode)
    texts = []
    for r in results:
        text = normalise_scan(r.text)
        if text and text not in texts:
            texts.append(text)
    return texts


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
