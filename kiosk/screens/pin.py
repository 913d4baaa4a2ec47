"""PIN entry. Purposes: ``settings`` and ``exit`` check the PIN; ``change`` asks for a new one twice."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from ..pin_rule import PIN_MAX_DIGITS, is_valid_pin
from . import Look, Navigator, load_kv

if TYPE_CHECKING:
    from ..store import Store


class PinScreen(Screen):
    purpose = StringProperty("settings")
    title = StringProperty("")
    dots = StringProperty("")
    message = StringProperty("")

    def __init__(self, *, look: Look, nav: Navigator, store: Store, now: Callable[[], float],
                 on_accepted: Callable[[str], None], **kw: Any):
        """``store`` keeps the PIN and its lock-out; ``now`` is the kiosk's clock; ``on_accepted(purpose)`` runs
        when the PIN of a ``settings`` or ``exit`` entry is right."""
        self.look, self.nav, self.store, self.now, self.on_accepted = look, nav, store, now, on_accepted
        super().__init__(**kw)
        self._pin = ""
        self._first_new: str | None = None
        look.bind(lang=lambda *_: self._retitle())

    def start(self, purpose: str) -> None:
        self.purpose = purpose
        self._pin = ""
        self._first_new = None
        self.message = ""
        self._retitle()
        self._show()

    def _retitle(self) -> None:
        tr = self.look.tr
        if self.purpose == "change":
            self.title = tr("enrol.pin2" if self._first_new else "enrol.pin")
        else:
            self.title = tr("pin.title." + self.purpose)

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
        tr = self.look.tr
        pin, self._pin = self._pin, ""
        self._show()
        if self.purpose == "change":
            if self._first_new is None:
                if not is_valid_pin(pin):
                    self.message = tr("enrol.err.pin")
                    return
                self._first_new = pin
                self._retitle()
                return
            if pin != self._first_new:
                self._first_new = None
                self.message = tr("enrol.err.pin")
                self._retitle()
                return
            self.store.set_pin(pin)
            self.nav.show_notice(tr("settings.pin_changed"))
            self.nav.go("settings")
            return
        ok, wait = self.store.check_pin(pin, self.now())
        if ok:
            self.on_accepted(self.purpose)
        elif wait:
            self.message = tr("pin.locked", n=wait)
        else:
            self.message = tr("pin.wrong")

load_kv("pin")
