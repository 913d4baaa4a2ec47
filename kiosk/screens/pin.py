"""PIN entry. Purposes: ``settings`` and ``exit`` check the PIN; ``change`` asks for a new one twice."""
from __future__ import annotations

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from ..pin_rule import PIN_MAX_DIGITS, is_valid_pin
from . import load_kv


class PinScreen(Screen):
    purpose = StringProperty("settings")
    title = StringProperty("")
    dots = StringProperty("")
    message = StringProperty("")

    def __init__(self, **kw):
        super().__init__(**kw)
        self._pin = ""
        self._first_new = None
        App.get_running_app().bind(lang=lambda *_: self._retitle())

    def start(self, purpose: str) -> None:
        self.purpose = purpose
        self._pin = ""
        self._first_new = None
        self.message = ""
        self._retitle()
        self._show()

    def _retitle(self) -> None:
        app = App.get_running_app()
        if self.purpose == "change":
            self.title = app.tr("enrol.pin2" if self._first_new else "enrol.pin")
        else:
            self.title = app.tr("pin.title." + self.purpose)

    def _show(self) -> None:
        self.dots = " ".join("\u25cf" for _ in self._pin) if self._pin else "_ _ _ _"

    def press(self, digit: str) -> None:
        if digit.isdigit() and len(self._pin) < PIN_MAX_DIGITS:
            self._pin += digit
            self.message = ""
            self._show()

    def backspace(self) -> None:
        self._pin = self._pin[:-1]
        self._show()

    def clear(self) -> None:
        self._pin = ""
        self._show()

    def submit(self) -> None:
        app = App.get_running_app()
        pin, self._pin = self._pin, ""
        self._show()
        if self.purpose == "change":
            if self._first_new is None:
                if not is_valid_pin(pin):
                    self.message = app.tr("enrol.err.pin")
                    return
                self._first_new = pin
                self._retitle()
                return
            if pin != self._first_new:
                self._first_new = None
                self.message = app.tr("enrol.err.pin")
                self._retitle()
                return
            app.core.store.set_pin(pin)
            app.show_notice(app.tr("settings.pin_changed"))
            app.go("settings")
            return
        ok, wait = app.core.store.check_pin(pin, app.core.now())
        if ok:
            app.pin_accepted(self.purpose)
        elif wait:
            self.message = app.tr("pin.locked", n=wait)
        else:
            self.message = app.tr("pin.wrong")


load_kv("pin")
