"""The Perkpass kiosk: a Kivy app for the library desk, the metro gate and the hospital reception.

Threads:
  * UI thread (Kivy): screens, preview texture, status bar. Never decodes or touches the network.
  * camera worker (:mod:`kiosk.scan.camera`): capture + zxing-cpp decoding, then ``KioskCore.process``.
  * a one-thread executor for HID, manual and image-file scans (verification + SQLite commit).
  * sync (:mod:`kiosk.sync`): backend health, trust list (ETag), redemption upload.
Results reach the UI through ``Clock.schedule_once``.

Import this module only after :func:`kiosk.__main__.configure_kivy` has set the Kivy config.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, DictProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.uix.textinput import TextInput

from . import i18n
from .colours import RESULT_BG, RESULT_TEXT
from .core import KIOSK_ERROR, EnrolmentError, KioskCore, ScanResult, status_bar
from .pin_rule import is_valid_pin
from .scan import CameraWorker, HIDAccumulator, decode_frame, open_source
from .scan.hid import ESCAPE_KEYCODE, route_key
from .scan.decoder import looks_like_perkpass
from .scan.second import default_second_reader
from .scan.sources import imread
from .sounds import player as sounds_player
from .sync import SyncMode, SyncStatus

if TYPE_CHECKING:
    from .automation import AutomationServer
    from .settings import KioskSettings

log = logging.getLogger("kiosk")

HERE = Path(__file__).resolve().parent

# light green / dark red / pale amber: apart in lightness for colour-blind staff, AA text (kiosk/colours.py)
COLOURS = dict(RESULT_BG)
TEXT_ON = dict(RESULT_TEXT)
SOUNDS = sounds_player.FILES

# Screens with no status bar: the result is full-screen colour; enrolment has nothing to report yet.
FULL_SCREEN = {"result", "enrol"}


def register_fonts(chosen: str | None = None) -> str | None:
    """Make a font with CJK glyphs every label's font; ``chosen``: PERKPASS_KIOSK_FONT (kiosk.settings)."""
    path = i18n.find_cjk_font(chosen=chosen)
    if path:
        # Replace Kivy's default (Roboto, Latin only) so every label can show Chinese and Latin text.
        LabelBase.register("Roboto", path, path, path, path)
        LabelBase.register("KioskFont", path, path, path, path)
        log.info("font: %s", path)
    else:
        log.warning("no CJK font found: Chinese texts will show as boxes (install fonts-wqy-microhei)")
    return path


class Root(BoxLayout):
    pass


class KioskApp(App):
    title = "Perkpass kiosk"

    lang = StringProperty("en")
    u = NumericProperty(1.0)               # layout unit: 1.0 at 800x480, 2.25 at 1920x1080
    show_bar = BooleanProperty(True)
    # status bar
    net_text = StringProperty("")
    net_level = StringProperty("warn")     # ok | warn | bad
    trust_text = StringProperty("")
    trust_level = StringProperty("warn")
    pending_text = StringProperty("")
    pending_level = StringProperty("info")
    sync_text = StringProperty("")
    clock_text = StringProperty("")
    venue_name = StringProperty("")
    perk_text = StringProperty("")
    notice = StringProperty("")
    camera_ok = BooleanProperty(False)
    last_sound = StringProperty("")
    result = ObjectProperty(None, allownone=True)
    colours = DictProperty(COLOURS)
    text_on = DictProperty(TEXT_ON)

    def __init__(self, *, settings: KioskSettings, data_dir: str | None = None, source: str | None = "camera:0",
                 automation: str | None = None, result_seconds: float = 3.0, lang: str | None = None,
                 sync_interval: float | None = None, kiosk_mode: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.settings = settings
        self.data_dir = data_dir
        self.source_spec = source
        self.automation_path = automation
        self.result_seconds = result_seconds
        self.kiosk_mode = kiosk_mode
        self._initial_lang = lang
        self._sync_interval = sync_interval
        self.core: KioskCore | None = None
        self.camera: CameraWorker | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-scan")
        self.hid = HIDAccumulator(self._on_hid_scan, min_length=6)
        self.sounds = sounds_player.Sounds(mute=True)  # until build() loads them
        self.font_path: str | None = None
        self.allow_exit = False
        self._sync_status: SyncStatus | None = None
        self._result_event = None
        self._notice_event = None
        # set while a result is on screen (or about to be): the camera then ignores foreign symbols
        self._result_hold = threading.Event()
        self._automation: AutomationServer | None = None
        self.result_history: list[dict[str, Any]] = []
        self.results_shown = 0

    # -- helpers used by the .kv files -----------------------------------------------------------
    def tr(self, key: str, *_rebind: Any, **kwargs: Any) -> str:
        return i18n.tr(key, self.lang, **kwargs)

    def perk_title(self, code: str | None, *_rebind: Any) -> str:
        if not code:
            return self.tr("scan.perk_any")
        cat = self.core.perk_catalogue() if self.core else {}
        return i18n.perk_title(cat, code, self.lang)

    # -- building ---------------------------------------------------------------------------------
    def build(self) -> Any:
        conf = self.settings
        self.font_path = register_fonts(conf.font)
        from kivy.utils import platform
        if self.data_dir is None:
            # Android: the app's private storage
            self.data_dir = self.user_data_dir if platform == "android" else str(conf.home)
        self.core = KioskCore(self.data_dir, on_sync_status=self._on_sync_status_thread,
                              sync_interval=self._sync_interval or conf.sync_interval,
                              sync_batch=conf.sync_batch)
        self.lang = self._initial_lang or self.core.store.get("lang", None) or "en"
        Builder.load_file(str(HERE / "screens" / "widgets.kv"))
        from .screens import enrol, pin, result, scan, settings, stats
        root = Builder.load_file(str(HERE / "screens" / "root.kv"))
        sm: ScreenManager = root.ids.sm
        sm.transition = NoTransition()
        core = self.core
        files_dir = conf.files_dir  # enrolment and trust-list files
        # each screen gets what it needs here; the app is their look (language, texts) and navigator
        for screen in (
                enrol.EnrolScreen(look=self, enrol=self.enrol, files_dir=files_dir),
                scan.ScanScreen(look=self, nav=self, camera=lambda: self.camera, submit=self.submit_text,
                                open_image=self.open_image, images_dir=conf.images_dir),
                result.ResultScreen(look=self, nav=self, colours=self.colours, text_on=self.text_on,
                                    seconds=self.result_seconds),
                pin.PinScreen(look=self, nav=self, store=core.store, now=core.now, on_accepted=self.pin_accepted),
                settings.SettingsScreen(look=self, nav=self, core=core, camera=lambda: self.camera,
                                        on_change=self._on_settings_changed, files_dir=files_dir),
                stats.StatsScreen(look=self, nav=self, core=core)):
            sm.add_widget(screen)
        # what the scan and settings screens show of the app's state: their own properties, kept equal to the app's
        for screen_name, names in (("scan", ("venue_name", "perk_text", "camera_ok", "notice")),
                                   ("settings", ("notice",))):
            screen = sm.get_screen(screen_name)
            for name in names:
                setattr(screen, name, getattr(self, name))
                self.bind(**{name: screen.setter(name)})
        self.sm = sm
        sm.bind(current=self._on_screen)
        Window.bind(size=self._on_window_size, on_key_down=self._on_key_down,
                    on_request_close=self._on_request_close, on_drop_file=self._on_drop_file)
        self._on_window_size(Window, Window.size)
        self.sounds = sounds_player.Sounds(mute=conf.mute)
        if self.core.enrolled:
            self._after_enrolment()
            sm.current = "scan"
        else:
            sm.current = "enrol"
        self._on_screen(sm, sm.current)
        Clock.schedule_interval(self._tick, 1.0)
        self._tick(0)
        self._install_signal_handlers()
        if self.automation_path:
            from .automation import AutomationServer
            self._automation = AutomationServer(self, self.automation_path)
            self._automation.start()
        return root

    def _install_signal_handlers(self) -> None:
        """SIGTERM / SIGINT (an operator, systemd, Ctrl+C) stop the kiosk cleanly; staff cannot send them."""
        import signal

        def handler(signum, _frame):
            log.info("signal %s: stopping", signum)
            self.allow_exit = True
            Clock.schedule_once(lambda dt: self.stop())
        try:
            signal.signal(signal.SIGTERM, handler)
            signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread (embedded use)
            pass

    def _after_enrolment(self) -> None:
        assert self.core is not None and self.core.enrolment is not None
        self.venue_name = self.core.enrolment.venue_name
        self._update_perk_text()
        self.core.start_sync()
        self._start_camera()

    def _on_settings_changed(self) -> None:
        """Staff chose a perk or loaded a trust list: the perk line and the status bar say so at once."""
        self._update_perk_text()
        self._tick(0)

    def _update_perk_text(self) -> None:
        if self.core is None or self.core.enrolment is None:
            return
        sel = self.core.selected_perk
        offered = self.core.enrolment.perk_codes()
        if sel is None and len(offered) == 1:
            sel = offered[0]
        self.perk_text = self.perk_title(sel)

    def _start_camera(self) -> None:
        if self.camera is not None or not self.source_spec or self.source_spec == "none":
            self.camera_ok = False
            return
        from .scan import decoder
        if decoder.zxingcpp is None:
            log.warning("zxing-cpp is not installed: no camera decoding (HID scanner and manual entry work)")
            return
        try:
            source = open_source(self.source_spec)
        except ValueError:
            log.exception("bad capture source")
            return
        # the second reader (wechat_qrcode on the code-like parts of frames the fast path missed, in its own
        # thread within a CPU budget); None without OpenCV's contrib module
        self.camera = CameraWorker(source, self._on_camera_code, second=default_second_reader())
        self.camera.start()

    def on_stop(self) -> None:
        if self._automation is not None:
            self._automation.stop()
        if self.camera is not None:
            self.camera.stop()
        self.executor.shutdown(wait=True, cancel_futures=False)
        if self.core is not None:
            self.core.close()

    # -- window, keys, kiosk mode -------------------------------------------------------------------
    def _on_window_size(self, _win, size) -> None:
        w, h = size
        self.u = max(0.5, min(w / 800.0, h / 480.0))

    def focused_text_input(self) -> TextInput | None:
        screen = self.sm.current_screen if hasattr(self, "sm") else None
        if screen is None:
            return None
        for w in screen.walk(restrict=True):
            if isinstance(w, TextInput) and w.focus:
                return w
        return None

    def _on_key_down(self, _win, key, scancode, codepoint, modifiers) -> bool:
        if key == ESCAPE_KEYCODE:  # Escape / Android back: never leaves the kiosk
            if self.sm.current in ("settings", "stats", "pin"):
                self.go_scan()
            return True
        if self.focused_text_input() is not None:
            return False  # staff are typing in a field: the field gets the keys
        pin_pad = self.sm.get_screen("pin") if self.sm.current == "pin" else None
        return route_key(self.hid, key, codepoint, modifiers, pin_pad=pin_pad,
                         on_code=lambda text: self.submit_text(text, "hid"))

    def _on_request_close(self, *_args, **_kwargs) -> bool:
        if self.allow_exit or not self.kiosk_mode or self.core is None or not self.core.enrolled:
            return False
        self.ask_pin("exit")
        return True  # keep running until a PIN is given

    def _on_drop_file(self, _win, path, *_args) -> None:
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if self.sm.current == "scan":
            self.open_image(path)

    def _on_screen(self, _sm, name: str) -> None:
        self.show_bar = name not in FULL_SCREEN
        if name != "result":
            self._result_hold.clear()
        if self.camera is not None:
            if name in ("scan", "result"):
                self.camera.resume()
            else:
                self.camera.pause()

    # -- navigation -------------------------------------------------------------------------------
    def go(self, name: str) -> None:
        self.sm.current = name

    def go_scan(self, *_args) -> None:
        if self._result_event is not None:
            self._result_event.cancel()
            self._result_event = None
        if self.core is not None and self.core.enrolled:
            self.sm.current = "scan"
        else:
            self.sm.current = "enrol"

    def ask_pin(self, purpose: str) -> None:
        screen = self.sm.get_screen("pin")
        screen.start(purpose)
        self.sm.current = "pin"

    def pin_accepted(self, purpose: str) -> None:
        if purpose == "exit":
            self.leave()
        elif purpose == "settings":
            self.sm.current = "settings"

    def leave(self) -> None:
        self.allow_exit = True
        self.stop()

    def set_lang(self, lang: str) -> None:
        if lang in i18n.LANGUAGES:
            self.lang = lang
            if self.core is not None:
                self.core.store.set("lang", lang)
            self._update_perk_text()
            self._tick(0)

    def show_notice(self, text: str, seconds: float = 4.0) -> None:
        self.notice = text
        if self._notice_event is not None:
            self._notice_event.cancel()
        self._notice_event = Clock.schedule_once(lambda dt: setattr(self, "notice", ""), seconds)

    # -- scans from every input -----------------------------------------------------------------
    def _on_camera_code(self, text: str, frame_time: float) -> None:
        # camera worker thread: verify here, then hand the result to the UI thread
        if self._result_hold.is_set() and not looks_like_perkpass(text):
            # a poster or a receipt in view must not cover the answer staff are reading with a red one
            log.info("foreign symbol ignored while a result is on screen")
            return
        assert self.core is not None, "the camera starts after build() made the core"
        result = self.core.process(text, "camera", frame_time=frame_time)
        self._result_hold.set()
        Clock.schedule_once(lambda dt: self.show_result(result))

    def _on_hid_scan(self, text: str) -> None:
        self.submit_text(text, "hid")

    def submit_text(self, text: str, source: str = "manual") -> None:
        if self.core is None or not self.core.enrolled:
            return
        fut = self.executor.submit(self.core.process, text, source)
        fut.add_done_callback(lambda f: Clock.schedule_once(lambda dt: self.show_result(f.result())))

    def open_image(self, path: str) -> None:
        """Decode an image file off the UI thread (demo without a camera, or a screenshot sent by mail)."""
        def work():
            frame = imread(path)
            texts = decode_frame(frame, fast=False) if frame is not None else []
            if not texts:
                Clock.schedule_once(lambda dt: self.show_notice(self.tr("scan.no_code_in_image")))
                return None
            assert self.core is not None, "build() made the core"
            return self.core.process(texts[0], "file")

        def done(f):
            res = f.result()
            if res is not None:
                Clock.schedule_once(lambda dt: self.show_result(res))
        self.executor.submit(work).add_done_callback(done)

    def show_result(self, result: ScanResult) -> None:
        if result.status == KIOSK_ERROR and result.detail == "not enrolled":
            return
        self.result = result
        self._result_hold.set()
        self.results_shown += 1
        self.result_history.append({"status": result.status, "kind": result.kind, "source": result.source,
                                    "latency_ms": result.latency_ms, "perks": list(result.perks)})
        del self.result_history[:-200]
        self.sm.get_screen("result").show(result)
        self.sm.current = "result"
        self.play(result.kind)
        if self._result_event is not None:
            self._result_event.cancel()
        self._result_event = Clock.schedule_once(self._result_timeout, self.result_seconds)
        self._tick(0)

    def _result_timeout(self, _dt) -> None:
        self._result_event = None
        if self.sm.current == "result":
            self.go_scan()

    # -- sound ------------------------------------------------------------------------------------
    def play(self, kind: str) -> None:
        self.last_sound = SOUNDS.get(kind, "")
        if self.core is not None and not self.core.store.get("sound", True):
            return
        self.sounds.play(kind)

    # -- enrolment (called by the enrol screen) -----------------------------------------------------
    def enrol(self, *, url: str, code: str, device: str, pin: str, pin2: str, file: str | None,
              on_done) -> None:
        if pin != pin2 or not is_valid_pin(pin):
            on_done(False, self.tr("enrol.err.pin"))
            return

        def work():
            assert self.core is not None, "build() made the core"
            try:
                if file:
                    e = self.core.enrol_from_file(file, pin, backend_url=url.strip() or None)
                else:
                    e = self.core.enrol_online(url, code, device, pin)
                return True, self.tr("enrol.done", venue=e.venue_name)
            except EnrolmentError as exc:
                return False, i18n.enrolment_error_text(exc.kind, exc.detail, self.lang)
            except Exception as exc:
                log.exception("enrolment failed")
                return False, self.tr("enrol.err.file", detail=str(exc))

        def done(f):
            ok, msg = f.result()

            def ui(_dt):
                if ok:
                    self._after_enrolment()
                    self.go_scan()
                    self.show_notice(msg)
                on_done(ok, msg)
            Clock.schedule_once(ui)
        self.executor.submit(work).add_done_callback(done)

    # -- status bar ---------------------------------------------------------------------------------
    def _on_sync_status_thread(self, status: SyncStatus) -> None:
        self._sync_status = status
        Clock.schedule_once(lambda dt: self._tick(0))

    def _tick(self, _dt) -> None:
        now = time.time()
        self.clock_text = time.strftime("%H:%M", time.localtime(now))
        core = self.core
        if core is None or not core.enrolled:
            return
        core.maybe_prune()   # hourly housekeeping of the local log
        st = self._sync_status or (core.sync.status if core.sync else None)
        client = core.sync.client if core.sync is not None else None
        bar = status_bar(mode=st.mode if st else SyncMode.STANDALONE, freshness=core.freshness(),
                         policy=core.trust_policy(), pending=core.store.pending_count(),
                         uploads=client is None or bool(client.device_token),
                         last_sync=st.last_sync if st else None, lang=self.lang)
        self.net_text, self.net_level = bar.net, bar.net_level
        self.trust_text, self.trust_level = bar.trust, bar.trust_level
        self.pending_text, self.pending_level = bar.pending, bar.pending_level
        self.sync_text = bar.sync
        self.camera_ok = bool(self.camera is not None and self.camera.frames > 0)
