"""Scan screen: shows the camera preview (the UI thread only blits frames the worker captured)."""
from __future__ import annotations

import os

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.uix.screenmanager import Screen

from . import load_kv
from .filechooser import choose_file

IMAGE_FILTERS = ["*.png", "*.jpg", "*.jpeg", "*.bmp", "*.webp", "*.PNG", "*.JPG", "*.JPEG"]


class ScanScreen(Screen):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._event = None
        self._seq = -1
        self._texture = None

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
        app = App.get_running_app()
        cam = getattr(app, "camera", None)
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

    def submit_manual(self) -> None:
        field = self.ids.manual
        text = field.text.strip()
        field.text = ""
        field.focus = False
        if text:
            App.get_running_app().submit_text(text, "manual")

    def choose_image(self) -> None:
        app = App.get_running_app()
        start = os.environ.get("PERKPASS_KIOSK_IMAGES") or os.path.expanduser("~")
        choose_file(app.tr("scan.open_image"), start, IMAGE_FILTERS, app.open_image)


load_kv("scan")
