"""A software waypoint: the internal interconnect of the paper's Figure 5 in one process.

A waypoint port carries packets for every PE behind it. The plan's waypoint contexts say which
PE and service handle each (SPI, SI) — or, for legacy PEs on the SFC proxy leg, each VLAN —
exactly like the context table of ``hdl/wp_waypoint.v``. :class:`WaypointProcessor` looks the
context up and hands the frame to that PE's :class:`~wphw.pe.runtime.FrameProcessor` (one per PE
and service, so counters stay per PE). Frames with no context are dropped and counted.

Run by the lab inside the waypoint's namespace::

    python -m wphw.pe.waypoint --iface eth0 --name wp1 --contexts contexts.json \\
        --pes '[{"name": "ids1", "services": ["ids"], "kind": "software", "params": {}}]' \\
        --control 127.0.0.1:18000
"""

from __future__ import annotations

import argparse
import ctypes
import json
import logging
import os
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from wphw.errors import PEError
from wphw.pe.runtime import ETHERTYPE_NSH, ETHERTYPE_VLAN, FrameProcessor, PERunner
from wphw.pe.services import make_service

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Named:
    name: str

    def counters(self) -> dict[str, Any]:
        return {}


class WaypointProcessor:
    """Dispatch frames to per-PE processors by (SPI, SI) or by VLAN."""

    legacy = False

    def __init__(
        self,
        name: str,
        contexts: Sequence[Mapping[str, Any]],
        pes: Sequence[Mapping[str, Any]],
        *,
        stamp: bool = False,
    ) -> None:
        self.name = name
        self.service = _Named("waypoint")
        self.stamping = stamp
        self.specs = {str(p["name"]): p for p in pes}
        self.procs: dict[tuple[str, str, bool], FrameProcessor] = {}
        self.by_nsh: dict[tuple[int, int], FrameProcessor] = {}
        self.by_vlan: dict[int, FrameProcessor] = {}
        self.rx = self.tx = self.dropped = 0
        self.by_reason: dict[str, int] = {}
        self.contexts_version = 0
        self.reload(contexts)

    def reload(self, contexts: Sequence[Mapping[str, Any]], version: int = 0) -> None:
        """Install a new context table (the plan changed). PE processors (and their counters
        and service state) are kept for (PE, service) pairs that stay; the dispatch maps are
        swapped in one assignment each, so the packet loop sees either table, never a mix."""
        by_nsh: dict[tuple[int, int], FrameProcessor] = {}
        by_vlan: dict[int, FrameProcessor] = {}
        for c in contexts:
            if c["waypoint"] != self.name:
                continue
            pe, service = str(c["pe"]), str(c["service"])
            if pe not in self.specs:
                raise PEError(f"waypoint {self.name}: context names PE {pe!r}, which is not here")
            legacy = c.get("vlan") is not None
            key = (pe, service, legacy)
            proc = self.procs.get(key)
            if proc is None:
                svc = make_service(service, dict(self.specs[pe].get("params") or {}), pe=pe)
                proc = FrameProcessor(
                    svc, legacy=legacy, name=f"{pe}/{service}", stamp=self.stamping
                )
                self.procs[key] = proc
            if legacy:
                by_vlan[int(c["vlan"])] = proc
            else:
                by_nsh[(int(c["spi"]), int(c["si"]))] = proc
        self.by_nsh, self.by_vlan = by_nsh, by_vlan
        self.contexts_version = version

    def drop(self, reason: str) -> None:
        self.dropped += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    def process(self, frame: bytes) -> bytes | None:
        self.rx += 1
        if len(frame) < 22:
            self.drop("runt")
            return None
        ethertype = (frame[12] << 8) | frame[13]
        proc: FrameProcessor | None
        if ethertype == ETHERTYPE_NSH:
            spi = (frame[18] << 16) | (frame[19] << 8) | frame[20]
            proc = self.by_nsh.get((spi, frame[21]))
        elif ethertype == ETHERTYPE_VLAN:
            proc = self.by_vlan.get(((frame[14] << 8) | frame[15]) & 0x0FFF)
        else:
            proc = None
        if proc is None:
            self.drop("no_context")
            return None
        out = proc.process(frame)
        if out is None:
            self.dropped += 1
        else:
            self.tx += 1
        return out

    def counters(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "service": "waypoint",
            "rx": self.rx,
            "tx": self.tx,
            "dropped": self.dropped,
            "by_reason": self.by_reason.copy(),
            "contexts_version": self.contexts_version,
            "pes": {f"{pe}/{svc}": p.counters() for (pe, svc, _), p in sorted(self.procs.items())},
        }

    def stamps_since(self, since: int = 0) -> list[dict[str, Any]]:
        """Every PE's stamps (each PE numbers its own; ``since`` applies to each), with the PE."""
        return [
            {**s, "pe": pe, "service": svc}
            for (pe, svc, _), p in sorted(self.procs.items())
            for s in p.stamps_since(since)
        ]


class _Inotify:
    """The kernel's file-change events for one folder (``inotify(7)`` through libc): the
    context watcher blocks in ``read`` instead of waking to ``stat()`` the file."""

    MASK = 0x00000008 | 0x00000080 | 0x00000100  # IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
    _EVENT = struct.Struct("iIII")

    def __init__(self, folder: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, os.fsencode(folder), self.MASK) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, f"inotify_add_watch {folder}")

    def wait(self, timeout: float) -> set[str]:
        """Names changed in the folder, after at most ``timeout`` seconds (empty: none)."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return set()
        buf = os.read(self.fd, 65536)
        names, off = set(), 0
        while off + self._EVENT.size <= len(buf):
            _wd, _mask, _cookie, size = self._EVENT.unpack_from(buf, off)
            off += self._EVENT.size
            names.add(os.fsdecode(buf[off : off + size].rstrip(b"\0")))
            off += size
        return names


def _watch_contexts(processor: WaypointProcessor, path: Path, interval: float = 0.005) -> None:
    """Reload the context table whenever the controller rewrites the file (atomically).

    The controller publishes contexts before and after every switch install and waits until
    each waypoint has loaded them (Lab.write_contexts), so how soon a change is seen is on the
    path of every failover. The watcher blocks on inotify events for the file's folder (and
    looks at the file once a second anyway); where inotify is missing it polls every
    ``interval`` seconds. Polling every 5 ms took 13 % of a software waypoint's CPU samples under
    TCP load (py-spy, figure3 lab, iperf3 through the chain); blocking costs nothing between
    changes."""
    last = path.stat().st_mtime_ns
    try:
        events: _Inotify | None = _Inotify(path.parent)
    except (OSError, AttributeError) as exc:
        log.warning("waypoint %s: no inotify (%s), polling %s", processor.name, exc, path)
        events = None
    while True:
        if events is None:
            time.sleep(interval)
        elif path.name not in events.wait(1.0) and path.stat().st_mtime_ns == last:
            continue
        try:
            mtime = path.stat().st_mtime_ns
            if mtime == last:
                continue
            last = mtime
            processor.reload(json.loads(path.read_text()), version=mtime)
            log.info(
                "waypoint %s: contexts reloaded (%d NSH, %d VLAN)",
                processor.name,
                len(processor.by_nsh),
                len(processor.by_vlan),
            )
        except (OSError, ValueError, PEError) as exc:
            log.error("waypoint %s: cannot reload %s: %s", processor.name, path, exc)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m wphw.pe.waypoint",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--iface", required=True)
    ap.add_argument("--name", required=True, help="the waypoint's name in the topology")
    ap.add_argument(
        "--contexts", required=True, type=Path, help="JSON list of the plan's waypoint contexts"
    )
    ap.add_argument("--pes", required=True, help="JSON list of {name, services, kind, params}")
    ap.add_argument("--control", help="host:port for /health and /counters")
    ap.add_argument("--stamp", action="store_true", help="record every packet (GET /stamps)")
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    contexts = json.loads(args.contexts.read_text())
    pes = json.loads(args.pes)
    processor = WaypointProcessor(args.name, contexts, pes, stamp=args.stamp)
    first = next(iter(processor.procs.values()), None)
    if first is None:
        log.warning("waypoint %s: no contexts, every frame will be dropped", args.name)
    runner = PERunner(
        first.service if first else "count", args.iface, name=args.name, control=args.control
    )
    runner.proc = processor  # type: ignore[assignment]

    def on_signal(signum: int, frame: FrameType | None) -> None:
        runner.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=_watch_contexts, args=(processor, args.contexts), daemon=True).start()
    runner.open()
    log.info(
        "waypoint %s: %d NSH and %d VLAN contexts for %d PE services",
        args.name,
        len(processor.by_nsh),
        len(processor.by_vlan),
        len(processor.procs),
    )
    runner.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
