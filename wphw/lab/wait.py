"""Waiting in a lab on conditions, not on fixed sleeps: a capture that says it listens, a
reading that has stopped changing. Every wait has a timeout and says what it waited for."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from wphw.errors import LabError

_T = TypeVar("_T")


def until(cond: Callable[[], bool], what: str, *, timeout: float, poll: float = 0.02) -> None:
    """Poll ``cond`` until it is true; :class:`LabError` naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise LabError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def captures_listening(logs: Iterable[Path], *, timeout: float = 15.0) -> None:
    """Every tcpdump whose output goes to one of ``logs`` has printed "listening on" (it
    captures from then on)."""
    pending = list(logs)

    def ready() -> bool:
        pending[:] = [
            log for log in pending if not (log.exists() and b"listening on" in log.read_bytes())
        ]
        return not pending

    until(ready, "tcpdump to listen", timeout=timeout)


def stable(read: Callable[[], _T], what: str, *, quiet: float, timeout: float) -> _T:
    """Read until the value has not changed for ``quiet`` seconds; the last value."""
    last = read()
    since = time.monotonic()
    deadline = since + timeout
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise LabError(f"{what} still changing after {timeout:.0f} s")
        time.sleep(min(0.1, quiet / 4))
        now = read()
        if now != last:
            last, since = now, time.monotonic()
    return last
