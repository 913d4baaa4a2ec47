"""A test/automation channel: drive the running app from another process (tests, demos, screenshots).

Enabled only with the hidden ``--automation SOCKET`` option. One JSON object per line on a Unix socket;
each command runs on the Kivy UI thread and its answer comes back as one JSON line. It does nothing that a
person at the kiosk could not do: keys go through the window's own key events (as an HID scanner's do),
buttons are pressed through their ``on_release``, images go through the same code as the file chooser.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window

log = logging.getLogger("kiosk.automation")


class AutomationServer:
    def __init__(self, app, path: str):
        self.app = app
        self.path = path
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(4)
        self._thread = threading.Thread(target=self._serve, name="kiosk-automation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def _serve(self) -> None:
        sock = self._sock
        assert sock is not None, "start() binds the socket before serving"
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as f:
            for line in f:
                try:
                    req = json.loads(line)
                    result = self._on_ui(req)
                    answer = {"ok": True, "result": result}
                except Exception as exc:
                    log.exception("automation command failed")
                    answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                f.write((json.dumps(answer, default=str) + "\n").encode())
                f.flush()

    def _on_ui(self, req: dict[str, Any]) -> Any:
        done = threading.Event()
        box: dict[str, Any] = {}

        def run(_dt):
            try:
                box["value"] = self.handle(req)
            except Exception as exc:  # noqa: BLE001 - re-raised in the caller's thread below
                box["error"] = exc
            finally:
                done.set()
        Clock.schedule_once(run)
        if not done.wait(float(req.get("timeout", 20))):
            raise TimeoutError("the UI thread did not answer")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    # -- commands (UI thread) ---------------------------------------------------------------------
    def handle(self, req: dict[str, Any]) -> Any:
        cmd = req.get("cmd")
        app = self.app
        if cmd == "ping":
            return "pong"
        if cmd == "state":
            return app_state(app)
        if cmd == "keys":
            # what a keyboard-wedge scanner does: one key-down/up per character, then Enter
            for ch in req.get("text", ""):
                lower = ch.lower()
                mods = ["shift"] if ch.isupper() else []
                key = ord(lower) if len(lower) == 1 else 0
                Window.dispatch("on_key_down", key, 0, lower, mods)
                Window.dispatch("on_key_up", key, 0)
            if req.get("enter", True):
                Window.dispatch("on_key_down", 13, 40, None, [])
                Window.dispatch("on_key_up", 13, 40)
            return True
        if cmd == "screenshot":
            path = req["path"]
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
            Window.screenshot(name=path)
            # Window.screenshot inserts a counter into the name: move it to where it was asked for
            base, ext = os.path.splitext(path)
            made = sorted(p for p in os.listdir(os.path.dirname(os.path.abspath(path)))
                          if p.startswith(os.path.basename(base)) and p.endswith(ext))
            for name in made:
                full = os.path.join(os.path.dirname(os.path.abspath(path)), name)
                if full != os.path.abspath(path) and name[len(os.path.basename(base)):-len(ext)].isdigit():
                    os.replace(full, path)
            return path
        if cmd == "goto":
            app.go(req["screen"])
            return app.sm.current
        if cmd == "press":
            w = self._widget(req.get("screen"), req["id"])
            w.dispatch("on_press")
            w.dispatch("on_release")
            return True
        if cmd == "set_text":
            w = self._widget(req.get("screen"), req["id"])
            w.text = req["text"]
            return True
        if cmd == "validate":
            w = self._widget(req.get("screen"), req["id"])
            w.dispatch("on_text_validate")
            return True
        if cmd == "open_image":
            app.open_image(req["path"])
            return True
        if cmd == "load_trust_file":
            app.sm.get_screen("settings").load_trust_file(req["path"])
            return app.notice
        if cmd == "enrol_file":
            screen = app.sm.get_screen("enrol")
            screen.submit(file=req["path"])
            return True
        if cmd == "set_lang":
            app.set_lang(req["lang"])
            return app.lang
        if cmd == "pin":
            screen = app.sm.get_screen("pin")
            for d in req["digits"]:
                screen.press(d)
            if req.get("submit", True):
                screen.submit()
            return app.sm.current
        if cmd == "text_of":
            return self._widget(req.get("screen"), req["id"]).text
        if cmd == "screen_info":
            scr = app.sm.get_screen(req["screen"])
            return scr.describe() if hasattr(scr, "describe") else None
        if cmd == "request_close":
            return bool(Window.dispatch("on_request_close"))
        if cmd == "sync_now":
            if app.core.sync is not None:
                app.core.sync.wake(force_trust=bool(req.get("trust")))
            return True
        if cmd == "clock_offset":
            app.core.clock_offset = float(req["seconds"])
            return True
        if cmd == "popups":
            from kivy.uix.modalview import ModalView
            views = [w for w in Window.children if isinstance(w, ModalView)]
            if req.get("choose"):
                views[0].choose(req["choose"])
            elif req.get("dismiss"):
                for v in views:
                    v.dismiss()
            return [type(v).__name__ for v in views]
        if cmd == "quit":
            app.allow_exit = True
            Clock.schedule_once(lambda dt: app.stop(), 0.05)
            return True
        raise ValueError(f"unknown command {cmd!r}")

    def _widget(self, screen: str | None, wid: str):
        app = self.app
        scr = app.sm.get_screen(screen) if screen else app.sm.current_screen
        if wid in scr.ids:
            return scr.ids[wid]
        for w in scr.walk(restrict=False):
            if getattr(w, "ids", None) and wid in w.ids:
                return w.ids[wid]
        raise KeyError(f"no widget {wid!r} on screen {scr.name!r}")


def app_state(app: Any) -> dict[str, Any]:
    """What the kiosk shows and holds, as the test driver reads it (the ``state`` command)."""
    out: dict[str, Any] = {
        "screen": app.sm.current, "lang": app.lang, "window": list(Window.size),
        "status_bar": {"net": app.net_text, "net_level": app.net_level, "trust": app.trust_text,
                       "trust_level": app.trust_level, "pending": app.pending_text, "sync": app.sync_text},
        "enrolled": bool(app.core and app.core.enrolled), "notice": app.notice,
        "last_sound": app.last_sound, "results": app.result_history[-20:],
        "shown": app.results_shown,
        "font": app.font_path,
    }
    if app.sm.current == "result" or app.result is not None:
        out["result"] = app.sm.get_screen("result").describe()
    if app.camera is not None:
        out["camera"] = app.camera.stats()
    if app.core is not None:
        out["pending"] = app.core.store.pending_count()
        out["trust_sequence"] = app.core.trust_store.sequence if app.core.trust_store is not None else None
        out["stats"] = app.core.stats_today()
        if app.core.sync is not None:
            s = app.core.sync.status
            out["sync"] = {"mode": s.mode, "last_sync": s.last_sync, "last_error": s.last_error,
                           "uploaded_total": s.uploaded_total}
    return out
