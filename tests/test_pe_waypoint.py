"""The software waypoint's context watcher: a rewritten contexts file is loaded, with inotify and
with the polling fallback (CI-runnable: no root, no packets)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from wphw.pe import waypoint
from wphw.pe.waypoint import WaypointProcessor

PES = [{"name": "c1", "services": ["count"], "params": {}}]


def _ctx(spi: int) -> list[dict[str, object]]:
    return [{"waypoint": "wp", "pe": "c1", "service": "count", "spi": spi, "si": 255, "vlan": None}]


def _publish(path: Path, spi: int) -> int:
    tmp = path.with_suffix(".tmp")  # as Lab.write_contexts does: write aside, rename over
    tmp.write_text(json.dumps(_ctx(spi)))
    tmp.replace(path)
    return path.stat().st_mtime_ns


def _wait_loaded(wp: WaypointProcessor, version: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while wp.contexts_version < version:
        assert time.monotonic() < deadline, "contexts not reloaded"
        time.sleep(0.002)


@pytest.mark.parametrize("inotify", [True, False], ids=["inotify", "polling"])
def test_rewritten_contexts_are_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inotify: bool
) -> None:
    if not inotify:

        def no_inotify(folder: Path) -> None:
            raise OSError(38, "inotify_init1")

        monkeypatch.setattr(waypoint, "_Inotify", no_inotify)
    path = tmp_path / "contexts.json"
    path.write_text(json.dumps(_ctx(7)))
    wp = WaypointProcessor("wp", _ctx(7), PES)
    threading.Thread(target=waypoint._watch_contexts, args=(wp, path), daemon=True).start()
    time.sleep(0.05)  # let the watcher take its first look (a change before it is not missed
    # either: the next event or the once-a-second look compares the mtime)
    for spi in (8, 9):
        version = _publish(path, spi)
        _wait_loaded(wp, version)
        assert list(wp.by_nsh) == [(spi, 255)]
    # a file beside it changing is not a reload
    (tmp_path / "other.json").write_text("[]")
    time.sleep(0.05)
    assert wp.contexts_version == version


def test_inotify_reports_the_renamed_name(tmp_path: Path) -> None:
    events = waypoint._Inotify(tmp_path)
    _publish(tmp_path / "contexts.json", 1)
    seen: set[str] = set()
    deadline = time.monotonic() + 5
    while "contexts.json" not in seen and time.monotonic() < deadline:
        seen |= events.wait(1.0)
    assert "contexts.json" in seen and "contexts.tmp" in seen
    assert events.wait(0.01) == set()  # nothing more happened
