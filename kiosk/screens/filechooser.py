"""A file chooser popup with large touch targets (image to scan, enrolment file, trust list file).

Kivy's own FileChooserListView has rows too small for a finger on a 7" panel, so this one lists the folder
as big buttons: folders first (tap to open), then the files that match the filters (tap to use).
"""
from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable

from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.popup import Popup

Builder.load_string("""
<KioskFileChooser>:
    unit: app.u
    title_size: app.u * 22
    size_hint: 0.94, 0.94
    separator_color: 0.2, 0.42, 0.8, 1
    BoxLayout:
        orientation: 'vertical'
        spacing: app.u * 8
        KLabel:
            id: where
            text: root.path
            font_size: app.u * 15
            color: 0.7, 0.75, 0.85, 1
            shorten: True
            shorten_from: 'left'
            max_lines: 1
        ScrollView:
            do_scroll_x: False
            bar_width: app.u * 10
            scroll_type: ['bars', 'content']
            GridLayout:
                id: entries
                cols: 1
                spacing: app.u * 4
                size_hint_y: None
                height: self.minimum_height
        KQuietButton:
            id: cancel
            text: app.tr('common.cancel', app.lang)
            on_release: root.dismiss()
""")


class KioskFileChooser(Popup):
    path = StringProperty("")
    unit = NumericProperty(1.0)  # the window's layout unit (app.u), for the rows made in Python

    def __init__(self, title: str, start: str, filters: list[str], on_pick: Callable[[str], None], **kw):
        super().__init__(title=title, **kw)
        self.filters = [f.lower() for f in filters]
        self.on_pick = on_pick
        self.show(start if os.path.isdir(start) else os.path.expanduser("~"))

    def _matches(self, name: str) -> bool:
        return any(fnmatch.fnmatch(name.lower(), f) for f in self.filters)

    def show(self, path: str) -> None:
        path = os.path.abspath(path)
        self.path = path
        box = self.ids.entries
        box.clear_widgets()
        try:
            names = sorted(os.listdir(path), key=str.lower)
        except OSError:
            names = []
        parent = os.path.dirname(path)
        rows = []
        if parent != path:
            rows.append(("\u2191  ..", parent, True))
        for n in names:
            if n.startswith("."):
                continue
            full = os.path.join(path, n)
            if os.path.isdir(full):
                rows.append((n + "/", full, True))
        for n in names:
            full = os.path.join(path, n)
            if not n.startswith(".") and os.path.isfile(full) and self._matches(n):
                rows.append((n, full, False))
        u = self.unit
        for label, full, is_dir in rows:
            btn = Factory.KQuietButton(text="   " + label, halign="left", height=u * 50, font_size=u * 19)
            if not is_dir:
                btn.background_color = (0.20, 0.42, 0.80, 1)
            btn.bind(on_release=lambda _b, f=full, d=is_dir: self.show(f) if d else self.pick([f]))
            box.add_widget(btn)

    def pick(self, selection) -> None:
        if selection:
            self.dismiss()
            self.on_pick(selection[0])

    def choose(self, name: str) -> None:
        """Pick a file of the listed folder by name (what a tap on its button does)."""
        self.pick([os.path.join(self.path, name)])


def choose_file(title: str, start: str, filters: list[str], on_pick: Callable[[str], None]) -> KioskFileChooser:
    popup = KioskFileChooser(title, start, filters, on_pick)
    popup.open()
    return popup
