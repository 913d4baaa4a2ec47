"""``perkpass-kiosk`` / ``python -m kiosk``: start the kiosk app.

    perkpass-kiosk                              # camera 0, full screen, data in ~/.local/share/perkpass-kiosk
    perkpass-kiosk --size 800x480 --source folder:/tmp/codes
    perkpass-kiosk --enrol-file venue.json --pin 2468 --enrol-only   # provision, no screen needed
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from .settings import KioskSettings, SettingsError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="perkpass-kiosk",
                                description="Perkpass kiosk: scan and verify perk codes offline.")
    p.add_argument("--data-dir", help="where the kiosk keeps its database and trust list "
                                      "(default $PERKPASS_KIOSK_HOME or ~/.local/share/perkpass-kiosk)")
    p.add_argument("--source", help="capture source: camera[:N] | images:A.png,B.png | folder:DIR | none "
                                    "(default $PERKPASS_KIOSK_SOURCE or camera:0)")
    p.add_argument("--size", help="window size WxH, e.g. 800x480 (default: full screen)")
    p.add_argument("--fullscreen", action="store_true", help="full screen even with --size")
    p.add_argument("--lang", choices=["en", "zh-CN"], help="interface language (default: last used, else en)")
    p.add_argument("--result-seconds", type=float, default=3.0, help="how long a result stays (default 3)")
    p.add_argument("--sync-interval", type=float, default=None, help="seconds between sync rounds (default 10)")
    p.add_argument("--no-kiosk-mode", action="store_true", help="allow closing the window without the PIN")
    p.add_argument("--enrol-file", help="enrol from an operator's enrolment file before starting (needs --pin)")
    p.add_argument("--backend", help="backend address, for --enrolment-code (or to sync an --enrol-file kiosk)")
    p.add_argument("--enrolment-code", help="enrol online with this one-time code before starting (needs --pin)")
    p.add_argument("--pin", help="staff PIN to set when enrolling from the command line")
    p.add_argument("--enrol-only", action="store_true", help="enrol, then exit without opening the window")
    p.add_argument("--automation", help=argparse.SUPPRESS)  # unix socket for the test driver
    p.add_argument("--verbose", "-v", action="store_true")
    return p.parse_args(argv)


def configure_kivy(args: argparse.Namespace) -> None:
    """Set Kivy's configuration; must run before anything imports kivy.core.window."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    # SDL would turn SIGTERM/SIGINT into a window-close request, which kiosk mode refuses without the PIN:
    # let the app handle signals itself (an operator's `systemctl stop` must stop the kiosk).
    os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")
    if not args.verbose:
        os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    from kivy.config import Config
    Config.set("kivy", "exit_on_escape", "0")          # kiosk mode: Esc never quits
    Config.set("kivy", "pause_on_minimize", "0")
    Config.set("kivy", "window_icon", "")
    Config.set("input", "mouse", "mouse,multitouch_on_demand")  # no red dots on right click
    Config.set("graphics", "resizable", "1")
    if args.size:
        w, _, h = args.size.lower().partition("x")
        Config.set("graphics", "width", str(int(w)))
        Config.set("graphics", "height", str(int(h)))
        Config.set("graphics", "fullscreen", "auto" if args.fullscreen else "0")
    else:
        Config.set("graphics", "fullscreen", "auto")


def provision(args: argparse.Namespace, settings: KioskSettings) -> int:
    """Command-line enrolment (no window). Returns a process exit code."""
    from .core import EnrolmentError, KioskCore
    core = KioskCore(args.data_dir or settings.home, sync_interval=settings.sync_interval,
                     sync_batch=settings.sync_batch)
    try:
        if not args.pin:
            print("perkpass-kiosk: --pin is required to enrol", file=sys.stderr)
            return 2
        if args.enrol_file:
            e = core.enrol_from_file(args.enrol_file, args.pin, backend_url=args.backend)
        else:
            e = core.enrol_online(args.backend or "", args.enrolment_code, os.uname().nodename, args.pin)
        print(f"enrolled as {e.device_id} for {e.venue_name} ({e.audience})")
        return 0
    except EnrolmentError as exc:
        print(f"perkpass-kiosk: enrolment failed ({exc.kind}): {exc.detail}", file=sys.stderr)
        return 1
    finally:
        core.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:  # the program's settings, read and checked once, before anything starts (fail closed)
        settings = KioskSettings.from_environ(os.environ)
    except SettingsError as exc:
        print(f"perkpass-kiosk: {exc}", file=sys.stderr)
        return 2
    if args.enrol_file or args.enrolment_code:
        rc = provision(args, settings)
        if rc or args.enrol_only:
            return rc
    configure_kivy(args)
    from .app import KioskApp
    app = KioskApp(settings=settings, data_dir=args.data_dir, source=args.source or settings.source,
                   automation=args.automation, result_seconds=args.result_seconds, lang=args.lang,
                   sync_interval=args.sync_interval, kiosk_mode=not args.no_kiosk_mode)
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
