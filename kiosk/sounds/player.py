"""The three result sounds, loaded once from this folder. Without an audio provider (or muted) the kiosk is
silent and says so once in the log: the answer is on the screen anyway."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("kiosk")

HERE = Path(__file__).resolve().parent
FILES = {"granted": "granted.wav", "refused": "refused.wav", "attention": "attention.wav"}


class Sounds:
    def __init__(self, folder: Path = HERE, *, mute: bool = False):
        self.loaded: dict[str, Any] = {}
        if mute:
            return
        try:
            from kivy.core.audio import SoundLoader
        except Exception:  # noqa: BLE001 - no audio provider: results still show
            log.warning("no audio provider")
            return
        for kind, name in FILES.items():
            path = folder / name
            if path.exists():
                try:
                    snd = SoundLoader.load(str(path))
                except Exception:  # noqa: BLE001 - a sound that will not load stays silent
                    snd = None
                if snd is not None:
                    self.loaded[kind] = snd

    def play(self, kind: str) -> None:
        snd = self.loaded.get(kind)
        if snd is not None:
            try:
                snd.stop()
                snd.play()
            except Exception:
                log.warning("sound failed", exc_info=True)
