"""One module and one .kv file per screen; each module loads its own .kv when imported.

A screen is built with what it needs (its constructor's keyword arguments): the :class:`Look` it draws its
words with, a :class:`Navigator` to leave it, and the parts of the kiosk it reads or changes (the store, the
core, a clock). It never reaches for the app singleton, so a test can build one screen alone in a real window
(tests/kiosk/test_kiosk_screens.py). The .kv rules read only the look through Kivy's ``app`` (``app.u``,
``app.tr``, ``app.lang``): the layout unit and the language are the window's, whichever app shows the screen.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from kivy.lang import Builder

KV_DIR = Path(__file__).resolve().parent


def load_kv(name: str) -> None:
    path = str(KV_DIR / f"{name}.kv")
    Builder.unload_file(path)
    Builder.load_file(path)


class Look(Protocol):
    """How a screen says things: the language (a Kivy property: ``bind(lang=...)``), the kiosk's texts and perk
    titles in it. The app is one; a test passes its own."""

    lang: str

    def tr(self, key: str, *_rebind: Any, **kwargs: Any) -> str: ...

    def perk_title(self, code: str | None, *_rebind: Any) -> str: ...

    def set_lang(self, lang: str) -> None:
        """Staff chose another language: every screen follows (and the kiosk keeps it)."""
        ...

    def bind(self, **kwargs: Any) -> Any: ...


class Navigator(Protocol):
    """Where a screen's buttons lead: the other screens, and the notice line under the status bar."""

    def go(self, name: str) -> None: ...

    def go_scan(self, *_args: Any) -> None: ...

    def ask_pin(self, purpose: str) -> None: ...

    def show_notice(self, text: str, seconds: float = 4.0) -> None: ...

    def leave(self) -> None:
        """Close the kiosk (after the PIN)."""
        ...
