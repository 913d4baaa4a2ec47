"""Result screen: full-screen colour, an icon, the perk, the reason; tap or wait to go back."""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Ellipse, Line
from kivy.properties import ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from . import Look, Navigator, load_kv


class ResultIcon(Widget):
    """A big tick (granted), cross (refused) or exclamation mark (check) drawn with lines: no font needed."""

    kind = StringProperty("granted")
    fg = ListProperty([1, 1, 1, 1])

    def __init__(self, **kw):
        super().__init__(**kw)
        self.bind(pos=self._draw, size=self._draw, kind=self._draw, fg=self._draw)

    def _draw(self, *_):
        self.canvas.clear()
        s = min(self.width, self.height) * 0.9
        if s <= 0:
            return
        cx, cy = self.center
        r = s / 2
        w = max(2.0, s * 0.07)
        with self.canvas:
            Color(*self.fg[:3], 0.95)
            Line(circle=(cx, cy, r - w / 2), width=w / 2)
            if self.kind == "granted":
                Line(points=[cx - r * 0.45, cy, cx - r * 0.12, cy - r * 0.35, cx + r * 0.48, cy + r * 0.35],
                     width=w, cap="round", joint="round")
            elif self.kind == "refused":
                d = r * 0.38
                Line(points=[cx - d, cy - d, cx + d, cy + d], width=w, cap="round")
                Line(points=[cx - d, cy + d, cx + d, cy - d], width=w, cap="round")
            else:
                Line(points=[cx, cy + r * 0.45, cx, cy - r * 0.12], width=w, cap="round")
                Ellipse(pos=(cx - w, cy - r * 0.45 - w), size=(2 * w, 2 * w))


class ResultScreen(Screen):
    kind = StringProperty("granted")
    bg = ListProperty([0.1, 0.55, 0.25, 1])
    fg = ListProperty([1, 1, 1, 1])
    heading = StringProperty("")
    perk_line = StringProperty("")
    reason = StringProperty("")
    countdown = StringProperty("")
    result = ObjectProperty(None, allownone=True)
    remaining = NumericProperty(0)

    def __init__(self, *, look: Look, nav: Navigator, colours: Mapping[str, Sequence[float]],
                 text_on: Mapping[str, Sequence[float]], seconds: float, **kw: Any):
        """``colours`` and ``text_on``: background and text colour per result kind (kiosk/colours.py);
        ``seconds``: how long a result stays before the kiosk goes back to scanning by itself."""
        self.look, self.nav, self.colours, self.text_on, self.seconds = look, nav, colours, text_on, seconds
        super().__init__(**kw)
        self._tick_event = None
        self._shown_at = 0.0
        look.bind(lang=lambda *_: self.refresh())

    def show(self, result) -> None:
        self.result = result
        self.kind = result.kind
        self.bg = list(self.colours[result.kind])
        self.fg = list(self.text_on[result.kind])
        self._shown_at = time.monotonic()
        self.refresh()
        if self._tick_event is None:
            self._tick_event = Clock.schedule_interval(self._tick, 0.25)

    def refresh(self) -> None:
        look, r = self.look, self.result
        if r is None:
            return
        self.heading = look.tr("result." + r.kind)
        self.perk_line = "\n".join(look.perk_title(p) for p in r.perks) if r.perks else ""
        self.reason = r.reason(look.lang)
        self._tick(0)

    def _tick(self, _dt) -> None:
        left = max(0, int(round(self.seconds - (time.monotonic() - self._shown_at) + 0.49)))
        self.remaining = left
        self.countdown = self.look.tr("result.back_in", n=left)

    def on_leave(self, *args):
        if self._tick_event is not None:
            self._tick_event.cancel()
            self._tick_event = None

    def on_touch_down(self, touch):
        if self.collide_point(*touch.pos):
            self.nav.go_scan()
            return True
        return super().on_touch_down(touch)

    def describe(self) -> dict:
        r = self.result
        return {"kind": self.kind, "status": r.status if r else None, "heading": self.heading,
                "perk": self.perk_line, "reason": self.reason, "background": list(self.bg),
                "text_colour": list(self.fg), "countdown": self.countdown,
                "latency_ms": r.latency_ms if r else None, "source": r.source if r else None}


load_kv("result")
