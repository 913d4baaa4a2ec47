"""The backend with the demo data, served by werkzeug in a thread: what the browser tests and the
browser benchmarks (bench/page_load.py, bench/pp2_browser.py) drive Chromium against.

A fresh SQLite file per server; port 0, so several can run side by side.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path


class DemoServer:
    """``DemoServer(folder, **config)``: the app on ``self.base`` with ``self.demo`` (seed_demo's answer);
    ``wrap`` may wrap the WSGI app (a benchmark's request tally)."""

    def __init__(self, folder: Path, *, wrap: Callable | None = None, **config):
        from werkzeug.serving import make_server

        from backend import create_app
        from backend.extensions import db

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.app = create_app({
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'perkpass-demo.db'}",
            "PERKPASS_SMS_SENDER": "outbox",
            "PERKPASS_LOG_LEVEL": "WARNING",
            **config,
        })
        with self.app.app_context():
            from backend.cli.commands import init_database
            from backend.demo.city import seed_demo
            init_database(quiet=True)
            self.demo = seed_demo(int(time.time()))
            db.session.remove()
        if wrap is not None:
            self.app.wsgi_app = wrap(self.app.wsgi_app)
        self.httpd = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self.httpd.server_port
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="perkpass-demo-server", daemon=True)
        self.thread.start()

    @property
    def operator_token(self) -> str:
        return self.demo["operator_token"]

    def citizen(self, label_part: str) -> dict:
        return next(c for c in self.demo["citizens"] if label_part in c["label"])

    def venue(self, audience: str, perk: str | None = None) -> dict:
        return next(v for v in self.demo["venues"]
                    if v["audience"] == audience and (perk is None or perk in v["perks"]))

    def last_sms_code(self, phone: str) -> str | None:
        """The code the (in-memory) SMS sender sent to ``phone`` last."""
        sender = self.app.extensions.get("perkpass_sender")
        return sender.last_code(phone) if sender is not None else None

    def stop(self) -> None:
        self.httpd.shutdown()
        self.thread.join(timeout=10)
        from backend.extensions import db
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
