"""USB/HID keyboard-wedge scanners.

A wedge scanner "types" the code followed by Enter. :class:`HIDAccumulator` collects printable characters
and reports a complete scan on Enter. It is fed from the window's key events, so a scan is accepted on
whichever screen is shown. Characters typed slowly (a person at a keyboard) are dropped after
``idle_reset_s`` so stray key presses do not build up into a bogus scan.

Perkpass codes (``PP1`` followed by digits) survive any keyboard layout because they use only upper-case
letters and digits; see docs/kiosk.md.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from ..pin_rule import could_be_pin

ENTER_KEYCODES = {13, 271}  # Return, keypad Enter (Kivy/SDL keycodes)
ESCAPE_KEYCODE = 27         # also Android's back button
BACKSPACE_KEYCODE = 8


class HIDAccumulator:
    def __init__(self, on_scan: Callable[[str], None], idle_reset_s: float = 1.0, min_length: int = 3,
                 max_length: int = 4096, clock: Callable[[], float] = time.monotonic):
        self.on_scan = on_scan
        self.idle_reset_s = idle_reset_s
        self.min_length = min_length
        self.max_length = max_length
        self.clock = clock
        self._buf: list[str] = []
        self._last = 0.0

    @property
    def buffer(self) -> str:
        return "".join(self._buf)

    def reset(self) -> None:
        self._buf.clear()

    def feed_char(self, ch: str) -> None:
        now = self.clock()
        if self._buf and now - self._last > self.idle_reset_s:
            self._buf.clear()
        self._last = now
        if not ch or not ch.isprintable():
            return
        if len(self._buf) < self.max_length:
            self._buf.append(ch)

    def feed_enter(self) -> bool:
        """End of a scan. Returns True when a scan was reported."""
        now = self.clock()
        text = "".join(self._buf).strip()
        stale = now - self._last > self.idle_reset_s
        self._buf.clear()
        if stale or len(text) < self.min_length:
            return False
        self.on_scan(text)
        return True

    def feed_key(self, keycode: int, codepoint: str | None) -> bool:
        """Feed one key-down event; returns True if it completed a scan."""
        if keycode in ENTER_KEYCODES:
            return self.feed_enter()
        if codepoint:
            self.feed_char(codepoint)
        return False


class PinPad(Protocol):
    """The PIN screen as the key router sees it."""

    def press(self, digit: str) -> None: ...
    def backspace(self) -> None: ...
    def clear(self) -> None: ...
    def submit(self) -> None: ...


def typed_char(codepoint: str | None, modifiers: list[str] | tuple[str, ...]) -> str | None:
    """The character a key-down produced: SDL reports letters in lower case, whatever Shift/Caps Lock say."""
    if codepoint and codepoint.isalpha() and ("shift" in modifiers) != ("capslock" in modifiers):
        return codepoint.upper()
    return codepoint


def route_key(acc: HIDAccumulator, keycode: int, codepoint: str | None, modifiers: list[str] | tuple[str, ...],
              *, pin_pad: PinPad | None, on_code: Callable[[str], None]) -> bool:
    """Route one key-down that no text field claimed; True when it was used.

    Without a PIN pad every key feeds the scanner accumulator. On the PIN screen, digits typed on a keyboard go
    to the PIN; a code from a hand scanner (letters, or more digits than a PIN has) is recognised on Enter and
    handed to ``on_code`` as a scan instead of counting as a wrong PIN.
    """
    ch = typed_char(codepoint, modifiers)
    if pin_pad is None:
        acc.feed_key(keycode, ch)
        return keycode in ENTER_KEYCODES or bool(ch)
    if keycode in ENTER_KEYCODES:
        text = acc.buffer.strip()
        acc.reset()
        if could_be_pin(text):
            pin_pad.submit()
        else:
            pin_pad.clear()
            on_code(text)
        return True
    if keycode == BACKSPACE_KEYCODE:
        pin_pad.backspace()
        return True
    if ch:
        acc.feed_char(ch)
        if ch.isdigit():
            pin_pad.press(ch)
        return True
    return False
