"""Scan screen: shows the camera preview (the UI thread only blits frames the worker captured)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen

from . import Look, Navigator, load_kv
from .filechooser import choose_file

if TYPE_CHECKING:
    from ..scan import CameraWorker

IMAGE_FILTERS = ["*.png", "*.jpg", "*.jpeg", "*.bmp", "*.webp", "*.PNG", "*.JPG", "*.JPEG"]


class FitTitle(Label):
    """A title that wraps onto ``max_lines`` lines, then shrinks, so a long venue name is never cut off.

    Font sizes are in layout units (``unit``, the window's ``app.u``): from ``largest`` down to ``smallest``. Only a
    name that does not fit even at the smallest size is shortened with an ellipsis (``fits`` is then False).
    """

    unit = NumericProperty(1.0)
    largest = NumericProperty(30)
    smallest = NumericProperty(16)
    fits = BooleanProperty(True)
    line_count = NumericProperty(1)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._pending = None
        self.bind(text=self._later, width=self._later, largest=self._later, smallest=self._later,
                  font_name=self._later, unit=self._later)

    def _later(self, *_):
        if self._pending is None:
            self._pending = Clock.schedule_once(self.fit, 0)

    def lines_at(self, font_size: float) -> int:
        core = CoreLabel(text=self.text, font_size=font_size, font_name=self.font_name, bold=self.bold,
                         text_size=(self.width, None))
        core.render()      # layout only: no texture
        return len(core._cached_lines)

    def fit(self, *_):
        self._pending = None
        if self.width <= 1 or not self.text:
            return
        u = self.unit
        size, lines = self.largest * u, 1
        while True:
            lines = self.lines_at(size)
            if lines <= self.max_lines or size <= self.smallest * u:
                break
            size = max(self.smallest * u, size - u)
        self.font_size = size
        self.line_count = lines
        self.fits = lines <= self.max_lines
        self.shorten = not self.fits


class ScanScreen(Screen):
    # what the screen shows; the app sets them (KioskApp binds its own properties to these)
    venue_name = StringProperty("")
    perk_text = StringProperty("")
    camera_ok = BooleanProperty(False)
    notice = StringProperty("")

    def __init__(self, *, look: Look, nav: Navigator, camera: Callable[[], CameraWorker | None],
                 submit: Callable[[str, str], None], open_image: Callable[[str], None], images_dir: str,
                 **kwargs: Any):
        """``camera()``: the camera worker now, if one runs (its frames are the preview); ``submit(text, source)``
        verifies a typed code; ``open_image(path)`` reads a code from a picture chosen in ``images_dir``."""
        self.look, self.nav, self.camera = look, nav, camera
        self.submit, self.open_image, self.images_dir = submit, open_image, images_dir
        super().__init__(**kwargs)
        self._event = None
        self._seq = -1
        self._texture: Texture | None = None

    @staticmethod
    def corner_points(w, corner: int, *_rebind) -> list[float]:
        side = min(w.width, w.height) * 0.62
        cx, cy = w.center_x, w.center_y
        x0, y0, x1, y1 = cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2
        arm = side * 0.18
        return {
            0: [x0, y0 + arm, x0, y0, x0 + arm, y0],
            1: [x1 - arm, y0, x1, y0, x1, y0 + arm],
            2: [x1, y1 - arm, x1, y1, x1 - arm, y1],
            3: [x0 + arm, y1, x0, y1, x0, y1 - arm],
        }[corner]

    def on_enter(self, *args):
        self._event = Clock.schedule_interval(self.update_preview, 1 / 20.0)

    def on_leave(self, *args):
        if self._event is not None:
            self._event.cancel()
            self._event = None
        self.ids.manual.focus = False

    def update_preview(self, _dt=None) -> None:
        cam = self.camera()
        if cam is None:
            return
        seq, frame = cam.latest_frame()
        if frame is None or seq == self._seq:
            return
        self._seq = seq
        h, w = frame.shape[:2]
        fmt = "bgr" if frame.ndim == 3 else "luminance"
        if self._texture is None or self._texture.size != (w, h) or self._texture.colorfmt != fmt:
            self._texture = Texture.create(size=(w, h), colorfmt=fmt)
            self._texture.flip_vertical()
        self._texture.blit_buffer(frame.tobytes(), colorfmt=fmt, bufferfmt="ubyte")
        self.ids.preview.texture = self._texture
        self.ids.preview.canvas.ask_update()

    def describe(self) -> dict:
        v = self.ids.venue
        return {"venue": {"text": v.text, "font_size": v.font_size, "lines": v.line_count, "fits": v.fits,
                          "width": v.width, "texture_width": v.texture_size[0]}}

    def submit_manual(self) -> None:
        field = self.ids.manual
        text = field.text.strip()
        field.text = ""
        field.focus = False
        if text:
            self.submit(text, "manual")

    def choose_image(self) -> None:
        choose_file(self.look.tr("scan.open_image"), self.images_dir, IMAGE_FILTERS, self.open_image)


load_kv("scan")
