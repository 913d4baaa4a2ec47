"""Statistics screen: today's grants per perk and refusals per reason, from the local log."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from . import Look, Navigator, load_kv

if TYPE_CHECKING:
    from ..core import KioskCore


class StatsScreen(Screen):
    title = StringProperty("")
    grants_text = StringProperty("")
    refusals_text = StringProperty("")
    grant_total = NumericProperty(0)
    refusal_total = NumericProperty(0)

    def __init__(self, *, look: Look, nav: Navigator, core: KioskCore, **kw: Any):
        self.look, self.nav, self.core = look, nav, core
        super().__init__(**kw)
        self._event = None
        look.bind(lang=lambda *_: self.refresh())

    def on_pre_enter(self, *args):
        self.refresh()
        self._event = Clock.schedule_interval(lambda dt: self.refresh(), 2.0)

    def on_leave(self, *args):
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def refresh(self) -> None:
        look, core = self.look, self.core
        if not core.enrolled:
            return
        stats = core.stats_today()
        day = time.strftime("%Y-%m-%d", time.localtime(core.now()))
        self.title = f"{look.tr('stats.title')} · {day}"
        g, r = stats["grants"], stats["refusals"]
        self.grant_total = sum(g.values())
        self.refusal_total = sum(r.values())
        self.grants_text = "\n".join(f"{n:>4}   {look.perk_title(code)}" for code, n in g.items()) \
            or look.tr("stats.none")
        self.refusals_text = "\n".join(f"{n:>4}   {look.tr('status.short.' + st)}" for st, n in r.items()) \
            or look.tr("stats.none")

    def describe(self) -> dict:
        return {"title": self.title, "grants": self.grants_text, "refusals": self.refusals_text,
                "grant_total": self.grant_total, "refusal_total": self.refusal_total}


load_kv("stats")
