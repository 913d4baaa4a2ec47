"""Whether the camera's view changed since the slow readers last looked at it (issue 22 item 9).

A kiosk spends most of the day looking at the same desk: an empty counter, or a cluttered one with a barcode
sticker, a keyboard, a printed notice. Every pass of the decoder and the second reader on such a view finds the
same nothing, frame after frame; the second reader even ran ``wechat_qrcode`` on the whole frame (~150 ms of CPU)
for every frame its budget allowed, all day, because the sticker looks like a code.

So the camera worker keeps a thumbnail of the view (the grayscale frame averaged over 8x8 pixel cells, 160x90
for 1280x720, ~0.25 ms) and runs its extra passes and offers the frame to the second reader only when the view
has changed since they last looked. "Changed" means some cell's average moved by more than ``threshold`` grey
levels: sensor noise averaged over 64 pixels moves a cell by 1-4 levels (bench/scan.py's scenes, noise sd 4-6),
a phone coming into view or a hand trembling by half a pixel moves the cells over the code's edges by 15-30.
A code in view is therefore read exactly as before: every new view gets every pass; what is skipped is looking
again at a view nothing changed in, where the same decoders would find the same nothing.
"""
from __future__ import annotations

import numpy as np

try:
    import cv2
except ImportError:  # pragma: no cover - without OpenCV every view counts as new (the old behaviour)
    cv2 = None  # type: ignore[assignment]  # optional module: None when absent


class ViewMemory:
    """Thumbnails of the last view the full decoder saw and the last view the second reader took."""

    def __init__(self, *, cell: int = 8, threshold: int = 12):
        self.cell = cell
        self.threshold = threshold
        self._seen: dict[str, np.ndarray] = {}

    def thumbnail(self, gray: np.ndarray) -> np.ndarray | None:
        """The view in cells of ``cell`` pixels; None when it cannot be made (then every view is new)."""
        if cv2 is None or gray.ndim != 2 or gray.dtype != np.uint8:
            return None
        h, w = gray.shape
        if h < self.cell or w < self.cell:
            return None
        return cv2.resize(gray, (w // self.cell, h // self.cell), interpolation=cv2.INTER_AREA)

    def is_new(self, reader: str, thumb: np.ndarray | None) -> bool:
        """Whether ``reader`` has not yet looked at this view (no earlier look, a new size, or a changed cell)."""
        before = self._seen.get(reader)
        if thumb is None or before is None or before.shape != thumb.shape:
            return True
        return int(cv2.absdiff(before, thumb).max()) > self.threshold

    def looked(self, reader: str, thumb: np.ndarray | None) -> None:
        """``reader`` has looked at this view."""
        if thumb is None:
            self._seen.pop(reader, None)
        else:
            self._seen[reader] = thumb

    def forget(self) -> None:
        """The camera was closed: whatever it sees next is new."""
        self._seen.clear()
