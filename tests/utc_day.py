"""PP3 certificates are made for one UTC day (the issuer signs the day; a gate refuses a code of another), and the
tests that get them from a real backend run on the real clock: the backend, the page and the SDK each read it.
A test that starts a few minutes before midnight UTC would get yesterday's certificate and check it after the
day changed. Rather than skip then (CI runs at any hour) such a test waits until the day has room for it."""
from __future__ import annotations

import time
from collections.abc import Callable

DAY = 86_400
PAST_MIDNIGHT = 2.0  # seconds past midnight to start at, so every clock involved has turned the day


def wait_for_room(seconds: float, clock: Callable[[], float] = time.time,
                  sleep: Callable[[float], None] = time.sleep) -> float:
    """Return once the current UTC day has more than ``seconds`` left, sleeping past midnight if it has not;
    the seconds slept (0 on all but the last ``seconds`` of a day)."""
    left = DAY - clock() % DAY
    if left > seconds:
        return 0.0
    wait = left + PAST_MIDNIGHT
    sleep(wait)
    return wait
