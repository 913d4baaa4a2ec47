"""Enrolment: backend address + one-time code, or an enrolment file for a kiosk that is never online."""
from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from ..pin_rule import is_valid_pin
from . import Look, load_kv
from .filechooser import choose_file

# enrol(url=, code=, device=, pin=, pin2=, file=, on_done=on_done(ok, message)): does the work off this thread
Enrol = Callable[..., None]


class EnrolScreen(Screen):
    message = StringProperty("")
    error = BooleanProperty(False)
    busy = BooleanProperty(False)
    default_device_name = StringProperty("")

    def __init__(self, *, look: Look, enrol: Enrol, files_dir: str, **kw: Any):
        """``enrol`` enrols the kiosk (KioskApp.enrol); ``files_dir``: where the enrolment file chooser opens."""
        self.look, self.enrol, self.files_dir = look, enrol, files_dir
        try:
            self.default_device_name = f"kiosk-{socket.gethostname()}"[:40]
        except OSError:
            self.default_device_name = "kiosk"
        super().__init__(**kw)

    def submit(self, file: str | None = None) -> None:
        if self.busy:
            return
        tr = self.look.tr
        ids = self.ids
        if not file and (not ids.url.text.strip() or not ids.code.text.strip()):
            self._done(False, tr("enrol.err.fields"))
            return
        self.busy = True
        self.error = False
        self.message = tr("enrol.working")
        self.enrol(url=ids.url.text, code=ids.code.text, device=ids.device.text, pin=ids.pin.text,
                  pin2=ids.pin2.text, file=file, on_done=self._done)

    def _done(self, ok: bool, message: str) -> None:
        self.busy = False
        self.error = not ok
        self.message = message
        if ok:
            for name in ("code", "pin", "pin2"):
                self.ids[name].text = ""

    def choose_file(self) -> None:
        ids = self.ids
        if ids.pin.text != ids.pin2.text or not is_valid_pin(ids.pin.text):
            self._done(False, self.look.tr("enrol.err.pin"))
            return
        choose_file(self.look.tr("enrol.file"), self.files_dir, ["*.json"], lambda path: self.submit(file=path))


load_kv("enrol")
