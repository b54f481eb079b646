"""Pausing Python's cyclic garbage collector around bulk work (compile, apply).

Both ``wphw.compile`` and ``AsyncFabric.apply`` allocate a few objects per rule or entry that
all stay alive until they return (entries, paths, encoded updates). The cyclic collector's
passes over them — and over everything else the process holds, such as a large topology —
are pure overhead there: with the GC on, compiling 10,000 rules on a 980-switch fat tree took
2.7 s, with it paused 0.7 s (bench/plan_scale.py); at 100,000 entries it was 15 % of an
install's client CPU (bench/install_rate.py). Reference counting still frees everything; the
collector is switched back on (if it was on) when the last paused section ends, also on error.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_LOCK = threading.Lock()
_DEPTH = 0
_WAS_ENABLED = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC inside; nests and works across threads (the outermost exit restores)."""
    global _DEPTH, _WAS_ENABLED
    with _LOCK:
        if _DEPTH == 0:
            _WAS_ENABLED = gc.isenabled()
            gc.disable()
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0 and _WAS_ENABLED:
                gc.enable()
