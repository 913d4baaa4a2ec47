"""Settings behind the staff PIN. Returns to the scan screen by itself after a minute untouched."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from partner_sdk import PerkpassError
from partner_sdk.venue_policy import PolicySource

from . import Look, Navigator, load_kv
from .filechooser import choose_file

if TYPE_CHECKING:
    from ..core import KioskCore
    from ..scan import CameraWorker

IDLE_SECONDS = 60


class SettingsScreen(Screen):
    sound = BooleanProperty(True)
    can_sync = BooleanProperty(False)
    info = StringProperty("")
    notice = StringProperty("")  # the app's notice line (KioskApp binds it)

    def __init__(self, *, look: Look, nav: Navigator, core: KioskCore, camera: Callable[[], CameraWorker | None],
                 on_change: Callable[[], None], files_dir: str, **kw: Any):
        """``camera()``: the camera worker now, if one runs (it starts after enrolment); ``on_change()`` runs after
        staff changed the perk or loaded a trust list (the status bar and perk line then redraw);
        ``files_dir``: where the trust-list file chooser opens."""
        self.look, self.nav, self.core, self.camera = look, nav, core, camera
        self.on_change, self.files_dir = on_change, files_dir
        super().__init__(**kw)
        self._idle = None
        look.bind(lang=lambda *_: self.refresh())

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
        if self.manager is not None and self.manager.current == self.name:
            self.nav.go_scan()

    def refresh(self) -> None:
        look, core = self.look, self.core
        if core.enrolment is None:
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
            btn = Factory.Choice(text=look.perk_title(code), group="perk",
                                 state="down" if code == selected or (code is None and selected is None)
                                 or (len(offered) == 1) else "normal")
            btn.bind(on_release=lambda _b, c=code: self.select_perk(c))
            box.add_widget(btn)
        e = core.enrolment
        fr = core.freshness()
        ts = core.trust_store
        tr = look.tr
        lines = [
            f"{tr('settings.venue')}: {e.venue_name} ({core.venue_type_label(look.lang)})",
            f"{tr('settings.device')}: {e.device_id}",
            f"{tr('settings.backend')}: {e.backend_url or '-'}",
        ]
        if ts is not None and ts.current is not None:
            exp = time.strftime("%Y-%m-%d %H:%M", time.localtime(ts.current.expires_at))
            lines.append(f"{tr('settings.trust')}: #{ts.sequence} · {fr.state.value} · exp {exp}")
        camera = self.camera()
        if camera is not None:
            st = camera.stats()
            lines.append(f"{tr('settings.camera')}: {camera.source.describe()} · {st['fps']} fps · "
                         f"decode {st['decode_ms_avg']} ms")
        if core.sync is not None and core.sync.status.last_error:
            lines.append("! " + core.sync.status.last_error)
        if core.last_trust_error:
            lines.append("! " + core.last_trust_error)
        if core.verifier is not None and core.verifier.policy.source is PolicySource.NOT_LISTED:
            lines.append("! " + core.verifier.policy.describe())  # the operator must add this venue type
        self.info = "\n".join(lines)

    def select_perk(self, code):
        self.core.select_perk(code)
        self.on_change()
        self.refresh()

    def set_sound(self, on: bool) -> None:
        self.core.store.set("sound", bool(on))
        self.sound = on

    def sync_now(self) -> None:
        if self.core.sync is not None:
            self.core.sync.wake(force_trust=True)
        self.nav.show_notice(self.look.tr("settings.sync_started"))

    def choose_trust_file(self) -> None:
        choose_file(self.look.tr("settings.trust_file"), self.files_dir, ["*.jws", "*.jwt", "*.txt"],
                    self.load_trust_file)

    def load_trust_file(self, path: str) -> None:
        tr = self.look.tr
        try:
            seq = self.core.load_trust_file(path)
            self.nav.show_notice(tr("settings.trust_loaded", seq=seq))
        except (PerkpassError, OSError, ValueError) as exc:
            self.nav.show_notice(tr("settings.trust_error", detail=str(exc)), 8)
        self.refresh()
        self.on_change()

load_kv("settings")
