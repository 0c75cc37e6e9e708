"""The clock is injected so tests can move time without patching."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_clock: Clock = utcnow


def now() -> dt.datetime:
    return _clock()


def today() -> dt.date:
    return _clock().date()


def set_clock(clock: Clock) -> Clock:
    """Use `clock` from now on; returns the one it replaces, to put back."""
    global _clock
    previous, _clock = _clock, clock
    return previous
