"""Build ONE kiosk screen alone in a real Kivy window (SDL offscreen over Mesa; no KioskApp), drive it with real
touches, and print what happened as one JSON line starting with ``RESULT``.

    python tests/kiosk/screen_alone.py pin DATA_DIR      # PinScreen with a real Store
    python tests/kiosk/screen_alone.py stats DATA_DIR    # StatsScreen with a real, enrolled KioskCore

The app here is a bare ``kivy.app.App`` that only provides the look the .kv rules read (``u``, ``lang``, ``tr``);
each screen gets its collaborators in its constructor, as KioskApp.build gives them (tests/kiosk/test_kiosk_screens.py).
"""
from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from kiosk.__main__ import configure_kivy, parse_args  # noqa: E402

configure_kivy(parse_args(["--size", "800x480"]))

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.lang import Builder  # noqa: E402
from kivy.properties import NumericProperty, StringProperty  # noqa: E402
from kivy.tests.common import UnitTestTouch  # noqa: E402
from kivy.uix.screenmanager import ScreenManager  # noqa: E402

from kiosk import i18n  # noqa: E402
from kiosk.screens import KV_DIR  # noqa: E402


class Recorder:
    """A Navigator that only writes down where the screen sent staff."""

    def __init__(self) -> None:
        self.calls: list[list[Any]] = []

    def go(self, name: str) -> None:
        self.calls.append(["go", name])

    def go_scan(self, *_args: Any) -> None:
        self.calls.append(["go_scan"])

    def ask_pin(self, purpose: str) -> None:
        self.calls.append(["ask_pin", purpose])

    def show_notice(self, text: str, seconds: float = 4.0) -> None:
        self.calls.append(["notice", text])


class OneScreen(App):
    lang = StringProperty("en")
    u = NumericProperty(1.0)

    def __init__(self, scenario: str, data_dir: Path) -> None:
        super().__init__()
        self.scenario, self.data_dir, self.nav = scenario, data_dir, Recorder()
        self.out: dict[str, Any] = {}

    def tr(self, key: str, *_rebind: Any, **kwargs: Any) -> str:
        return i18n.tr(key, self.lang, **kwargs)

    def perk_title(self, code: str | None, *_rebind: Any) -> str:
        return code or self.tr("scan.perk_any")

    def build(self) -> ScreenManager:
        from kiosk.app import register_fonts
        register_fonts()
        Builder.load_file(str(KV_DIR / "widgets.kv"))
        sm = ScreenManager()
        if self.scenario == "pin":
            from kiosk.screens.pin import PinScreen
            from kiosk.store import Store
            self.store = Store(self.data_dir / "kiosk.sqlite")
            self.store.set_pin("2468")
            self.accepted: list[str] = []
            self.screen = PinScreen(look=self, nav=self.nav, store=self.store, now=time.time,
                                    on_accepted=self.accepted.append)
        else:
            from kiosk.core import KioskCore
            from kiosk.screens.stats import StatsScreen
            self.core = KioskCore(self.data_dir, sync_interval=3600)
            self.screen = StatsScreen(look=self, nav=self.nav, core=self.core)
        sm.add_widget(self.screen)
        return sm

    def on_start(self) -> None:
        Clock.schedule_once(lambda dt: self.drive(), 0.5)

    # -- driving ---------------------------------------------------------------------------------
    def tap(self, widget: Any) -> None:
        """A real touch at the widget's centre in window coordinates, through the window's dispatch."""
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def key(self, text: str) -> Any:
        from kivy.uix.button import Button
        return next(w for w in self.screen.walk(restrict=True) if isinstance(w, Button) and w.text == text)

    def drive(self) -> None:
        try:
            getattr(self, "drive_" + self.scenario)()
        except Exception:  # noqa: BLE001 - the test reads the traceback
            self.out["error"] = traceback.format_exc()
        if hasattr(self, "core"):
            self.core.close()
        print("RESULT " + json.dumps(self.out, ensure_ascii=False), flush=True)
        self.stop()

    def drive_pin(self) -> None:
        screen = self.screen
        screen.start("settings")
        out = self.out
        out["title"] = screen.title
        for d in "1357":
            self.tap(self.key(d))
        out["dots_after_four"] = screen.dots
        self.tap(screen.ids.ok)
        out["after_wrong"] = {"message": screen.message, "accepted": list(self.accepted)}
        for d in "2468":
            self.tap(self.key(d))
        self.tap(screen.ids.ok)
        out["after_right"] = {"message": screen.message, "accepted": list(self.accepted)}
        screen.start("change")
        for attempt in ("1357", "1357"):
            for d in attempt:
                self.tap(self.key(d))
            self.tap(screen.ids.ok)
        out["changed"] = {"new_pin_works": self.store.check_pin("1357", time.time())[0], "nav": list(self.nav.calls)}
        screen.start("exit")
        self.lang = "zh-CN"
        out["title_zh"] = screen.title
        self.tap(screen.ids.back)
        out["nav"] = self.nav.calls

    def drive_stats(self) -> None:
        screen = self.screen
        screen.refresh()
        self.out.update(screen.describe())
        self.lang = "zh-CN"  # the screen follows the look's language by itself
        self.out["title_zh"] = screen.title
        self.tap(screen.ids.back)
        self.out["nav"] = self.nav.calls


if __name__ == "__main__":
    OneScreen(sys.argv[1], Path(sys.argv[2])).run()
