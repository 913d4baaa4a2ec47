"""Statistics screen: today's grants per perk and refusals per reason, from the local log."""
from __future__ import annotations

import time

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from . import load_kv


class StatsScreen(Screen):
    title = StringProperty("")
    grants_text = StringProperty("")
    refusals_text = StringProperty("")
    grant_total = NumericProperty(0)
    refusal_total = NumericProperty(0)

    def __init__(self, **kw):
        super().__init__(**kw)
        self._event = None
        App.get_running_app().bind(lang=lambda *_: self.refresh())

    def on_pre_enter(self, *args):
        self.refresh()
        self._event = Clock.schedule_interval(lambda dt: self.refresh(), 2.0)

    def on_leave(self, *args):
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def refresh(self) -> None:
        app = App.get_running_app()
        if app.core is None or not app.core.enrolled:
            return
        stats = app.core.stats_today()
        day = time.strftime("%Y-%m-%d", time.localtime(app.core.now()))
        self.title = f"{app.tr('stats.title')} · {day}"
        g, r = stats["grants"], stats["refusals"]
        self.grant_total = sum(g.values())
        self.refusal_total = sum(r.values())
        self.grants_text = "\n".join(f"{n:>4}   {app.perk_title(code)}" for code, n in g.items()) \
            or app.tr("stats.none")
        self.refusals_text = "\n".join(f"{n:>4}   {app.tr('status.short.' + st)}" for st, n in r.items()) \
            or app.tr("stats.none")

    def describe(self) -> dict:
        return {"title": self.title, "grants": self.grants_text, "refusals": self.refusals_text,
                "grant_total": self.grant_total, "refusal_total": self.refusal_total}


load_kv("stats")
