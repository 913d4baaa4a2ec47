"""The kiosk program's settings: read once from its environment when it starts, checked there, then passed to what
needs them. No other kiosk module reads ``os.environ``; a bad value stops the program with one line naming the
variable (fail closed) instead of being ignored or failing later.

Variables (default in brackets):

* ``PERKPASS_KIOSK_HOME``: where the kiosk keeps its database and trust list; ``--data-dir`` wins
  [``$XDG_DATA_HOME/perkpass-kiosk``, else ``~/.local/share/perkpass-kiosk``]
* ``PERKPASS_KIOSK_SOURCE``: the capture source; ``--source`` wins [``camera:0``]
* ``PERKPASS_KIOSK_FILES``: where the enrolment and trust-list file choosers open [``~``]
* ``PERKPASS_KIOSK_IMAGES``: where "Open an image" opens [``~``]
* ``PERKPASS_KIOSK_MUTE``: any non-empty value: no sounds [sounds on]
* ``PERKPASS_KIOSK_FONT``: a font file with CJK glyphs, used before any other [found at run time, kiosk/i18n.py]
* ``PERKPASS_KIOSK_SYNC_INTERVAL``: seconds between sync rounds online; ``--sync-interval`` wins [10]
* ``PERKPASS_KIOSK_SYNC_BATCH``: redemptions per upload request, 1 to 500 [500]
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from partner_sdk.upload import MAX_ITEMS


class SettingsError(ValueError):
    """A setting the kiosk cannot run with; the message names the variable and says what it must be."""


@dataclass(frozen=True)
class KioskSettings:
    home: Path
    source: str = "camera:0"
    files_dir: str = "~"
    images_dir: str = "~"
    mute: bool = False
    font: str | None = None
    sync_interval: float = 10.0
    sync_batch: int = MAX_ITEMS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> KioskSettings:
        """The settings an environment gives (``os.environ`` at start); :class:`SettingsError` for a bad value."""
        def text(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        user_home = os.path.expanduser("~")
        home = text("PERKPASS_KIOSK_HOME")
        data_base = text("XDG_DATA_HOME") or os.path.join(user_home, ".local", "share")
        font = text("PERKPASS_KIOSK_FONT")
        if font is not None and not os.path.isfile(font):
            raise SettingsError(f"PERKPASS_KIOSK_FONT={font!r}: no such file (a .ttf/.otf/.ttc font with Chinese)")
        interval = _number("PERKPASS_KIOSK_SYNC_INTERVAL", text("PERKPASS_KIOSK_SYNC_INTERVAL"), float, 10.0)
        if not 0 < interval <= 86_400:
            raise SettingsError(f"PERKPASS_KIOSK_SYNC_INTERVAL={interval}: must be more than 0 and at most 86400 s")
        batch = _number("PERKPASS_KIOSK_SYNC_BATCH", text("PERKPASS_KIOSK_SYNC_BATCH"), int, MAX_ITEMS)
        if not 1 <= batch <= MAX_ITEMS:
            raise SettingsError(f"PERKPASS_KIOSK_SYNC_BATCH={batch}: must be 1 to {MAX_ITEMS} (the backend's limit)")
        return cls(home=Path(home).expanduser() if home else Path(data_base) / "perkpass-kiosk",
                   source=text("PERKPASS_KIOSK_SOURCE") or "camera:0",
                   files_dir=os.path.expanduser(text("PERKPASS_KIOSK_FILES") or user_home),
                   images_dir=os.path.expanduser(text("PERKPASS_KIOSK_IMAGES") or user_home),
                   mute=bool(text("PERKPASS_KIOSK_MUTE")), font=font, sync_interval=interval, sync_batch=batch)


N = TypeVar("N", int, float)


def _number(name: str, value: str | None, kind: Callable[[str], N], default: N) -> N:
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: not a{'n integer' if kind is int else ' number'}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise SettingsError(f"{name}={value!r}: not a finite number")
    return number
