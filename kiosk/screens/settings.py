"""Settings behind the staff PIN. Returns to the scan screen by itself after a minute untouched."""
from __future__ import annotations

import os
import time

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from partner_sdk import PerkpassError

from . import load_kv
from .filechooser import choose_file

IDLE_SECONDS = 60


class SettingsScreen(Screen):
    sound = BooleanProperty(True)
    can_sync = BooleanProperty(False)
    info = StringProperty("")

    def __init__(self, **kw):
        super().__init__(**kw)
        self._idle = None
        app = App.get_running_app()
        app.bind(lang=lambda *_: self.refresh())

    def on_pre_enter(self, *args):
        self.refresh()

    def on_enter(self, *args):
        self._idle = Clock.schedule_once(self._timeout, IDLE_SECONDS)

    def on_leave(self, *args):
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def on_touch_down(self, touch):
        if self._idle is not None:
            self._idle.cancel()
            self._idle = Clock.schedule_once(self._timeout, IDLE_SECONDS)
        return super().on_touch_down(touch)

    def _timeout(self, _dt):
        app = App.get_running_app()
        if app.sm.current == "settings":
            app.go_scan()

    def refresh(self) -> None:
        app = App.get_running_app()
        core = app.core
        if core is None or core.enrolment is None:
            return
        self.sound = bool(core.store.get("sound", True))
        self.can_sync = bool(core.sync is not None and core.sync.client is not None)
        # perk choice: "all perks" plus one button per perk the venue offers
        box = self.ids.perks
        box.clear_widgets()
        selected = core.selected_perk
        offered = core.enrolment.perk_codes()
        choices = ([None] if len(offered) != 1 else []) + offered
        for code in choices:
            btn = Factory.Choice(text=app.perk_title(code), group="perk",
                                 state="down" if code == selected or (code is None and selected is None)
                                 or (len(offered) == 1) else "normal")
            btn.bind(on_release=lambda _b, c=code: self.select_perk(c))
            box.add_widget(btn)
        e = core.enrolment
        fr = core.freshness()
        ts = core.trust_store
        lines = [
            f"{app.tr('settings.venue')}: {e.venue_name} ({core.venue_type_label(app.lang)})",
            f"{app.tr('settings.device')}: {e.device_id}",
            f"{app.tr('settings.backend')}: {e.backend_url or '-'}",
        ]
        if ts is not None and ts.current is not None:
            exp = time.strftime("%Y-%m-%d %H:%M", time.localtime(ts.current.expires_at))
            lines.append(f"{app.tr('settings.trust')}: #{ts.sequence} · {fr.state.value} · exp {exp}")
        if app.camera is not None:
            st = app.camera.stats()
            lines.append(f"{app.tr('settings.camera')}: {app.camera.source.describe()} · {st['fps']} fps · "
                         f"decode {st['decode_ms_avg']} ms")
        if core.sync is not None and core.sync.status.last_error:
            lines.append("! " + core.sync.status.last_error)
        if core.last_trust_error:
            lines.append("! " + core.last_trust_error)
        self.info = "\n".join(lines)

    def select_perk(self, code):
        app = App.get_running_app()
        app.core.select_perk(code)
        app._update_perk_text()
        self.refresh()

    def set_sound(self, on: bool) -> None:
        App.get_running_app().core.store.set("sound", bool(on))
        self.sound = on

    def sync_now(self) -> None:
        app = App.get_running_app()
        if app.core.sync is not None:
            app.core.sync.wake(force_trust=True)
        app.show_notice(app.tr("settings.sync_started"))

    def choose_trust_file(self) -> None:
        app = App.get_running_app()
        start = os.environ.get("PERKPASS_KIOSK_FILES") or os.path.expanduser("~")
        choose_file(app.tr("settings.trust_file"), start, ["*.jws", "*.jwt", "*.txt"], self.load_trust_file)

    def load_trust_file(self, path: str) -> None:
        app = App.get_running_app()
        try:
            seq = app.core.load_trust_file(path)
            app.show_notice(app.tr("settings.trust_loaded", seq=seq))
        except (PerkpassError, OSError, ValueError) as exc:
            app.show_notice(app.tr("settings.trust_error", detail=str(exc)), 8)
        self.refresh()
        app._tick(0)


load_kv("settings")
