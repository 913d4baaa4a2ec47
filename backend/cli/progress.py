"""A progress line for long commands (score import, ledger ingest and recompute, purges): rows done, rate and
time left, redrawn in place on a terminal at most ``max_redraws_per_second`` times a second, silent when the
stream is not a terminal (cron, a pipe, a log file: a line per redraw would only fill the log).

    progress = Progress(total=rows, label="import")
    for batch in batches:
        ...
        progress.advance(len(batch))
    progress.done()

The clock is a parameter so a test can drive it; the stream is read when the display is made (not when this
module is imported) so a test's or click's replacement of ``sys.stderr`` is the one written to.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

_CLEAR_TO_END = "\x1b[K"


def _count(n: float) -> str:
    return f"{int(n):,}"


def _duration(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Rows done of ``total`` (``None`` when unknown: then no percentage and no time left)."""

    def __init__(self, total: int | None, label: str, stream: TextIO | None = None, *, unit: str = "rows",
                 clock: Callable[[], float] = time.monotonic, max_redraws_per_second: float = 5.0) -> None:
        self.total = total if total is None or total >= 0 else 0
        self.label, self.unit, self.clock = label, unit, clock
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self.done_count = 0
        self.started = clock()
        self._min_gap = 1.0 / max_redraws_per_second
        self._last_draw: float | None = None
        self._finished = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.done()

    def advance(self, n: int = 1) -> None:
        """``n`` more rows done; redraws when the last redraw is old enough."""
        self.done_count += n
        if not self.enabled or self._finished:
            return
        t = self.clock()
        if self._last_draw is not None and t - self._last_draw < self._min_gap:
            return
        self._draw(t, final=False)

    def done(self) -> None:
        """The last redraw (with the time taken) and a new line, so the next output starts on its own line."""
        if self._finished:
            return
        self._finished = True
        if self.enabled:
            self._draw(self.clock(), final=True)
            self.stream.write("\n")
            self.stream.flush()

    def line(self, now: float | None = None, final: bool = False) -> str:
        """What the display shows at ``now`` (the clock's time by default)."""
        t = self.clock() if now is None else now
        elapsed = max(t - self.started, 0.0)
        rate = self.done_count / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.label}: {_count(self.done_count)}"]
        if self.total is not None:
            pct = 100.0 * self.done_count / self.total if self.total else 100.0
            parts[0] += f" / {_count(self.total)} {self.unit} ({min(pct, 100.0):.0f}%)"
        else:
            parts[0] += f" {self.unit}"
        parts.append(f"{_count(rate)} {self.unit}/s")
        if final:
            parts.append(f"took {_duration(elapsed)}")
        elif self.total is not None and rate > 0:
            parts.append(f"{_duration(max(self.total - self.done_count, 0) / rate)} left")
        return ", ".join(parts)

    def _draw(self, t: float, final: bool) -> None:
        self._last_draw = t
        self.stream.write("\r" + self.line(t, final) + _CLEAR_TO_END)
        self.stream.flush()
