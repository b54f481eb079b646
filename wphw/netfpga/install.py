"""Install a plan's FPGA register writes on the devices, make-before-break (``wphw apply``).

A plan's ``register_writes`` describe a waypoint as the drivers would configure a freshly reset
one (wphw/netfpga/plan.py): each used PE block's settings, then ``DEFAULT_PORT`` and the whole
dispatch table in rows 0..n-1. Replaying them blindly on a running device would break traffic
twice: re-keying a ChaCha20 block disables it for a moment, and rewriting the dispatch table
row by row moves live (SPI, SI) entries between rows while the switches still send them.

So, like the switch side of ``apply`` (read, diff, write in phases), :class:`FpgaInstall`:

1. :meth:`FpgaInstall.add` (after the new service paths are on the switches, before any
   classifier flips): attaches every block instance (ID, VERSION, CAPS checked), writes a PE
   block's settings only if the device differs from them in some readable register (a WO
   register such as a ChaCha20 ``KEY`` cannot be compared: give a new key a new ``key_id``),
   and puts each dispatch entry the plan wants and the device lacks into a *free* row, leaving
   rows that already hold a wanted entry alone. The room is checked before anything is written:
   old and new entries must fit side by side (``RegisterError`` naming the waypoint otherwise).
2. :meth:`FpgaInstall.remove_stale` (after the classifiers flipped and old paths were deleted):
   invalidates rows whose (SPI, SI) the plan no longer has.
3. :meth:`FpgaInstall.undo` (the switch side failed and was rolled back): invalidates the rows
   step 1 added. Block settings changed in step 1 are not reverted (their old values of WO
   registers cannot be read back); the error says so.

Waypoints with register writes but no ``regs`` in the topology are reported in ``skipped`` and
left alone (``wphw lab`` co-simulations configure their RTL from the plan themselves).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from wphw.entries import RegisterWrite
from wphw.errors import RegisterError
from wphw.netfpga import regmap
from wphw.netfpga.bus import RegisterBus
from wphw.netfpga.drivers import BlockDriver, WaypointDriver
from wphw.netfpga.plan import DRIVERS, apply_register_writes, instance, waypoint_of

log = logging.getLogger(__name__)

_ENTRY_REGS = ("ENTRY_KEY", "ENTRY_PE", "ENTRY_PORT", "ENTRY_CTRL")
# Registers that are state, not settings: never compared (SEQ counts frames; CTRL of a
# ChaCha20 block toggles ENABLE around re-keying, the final value is compared).
_NOT_COMPARED = {"SEQ"}


@dataclass(frozen=True, slots=True)
class DispatchEntry:
    spi: int
    si: int
    pe: int
    port: int

    @property
    def key(self) -> tuple[int, int]:
        return (self.spi, self.si)


@dataclass(slots=True)
class WaypointInstall:
    """What :class:`FpgaInstall` did (or will do) on one waypoint."""

    waypoint: str
    blocks_written: list[str] = field(default_factory=list)
    blocks_unchanged: list[str] = field(default_factory=list)
    rows_added: list[int] = field(default_factory=list)
    rows_kept: int = 0
    rows_stale: list[int] = field(default_factory=list)
    writes: int = 0  # register writes done (or, in a dry run, that would be done)
    planned_rows: list[int] = field(default_factory=list)  # dry run: rows the entries would take


def dispatch_entries(writes: Sequence[RegisterWrite]) -> list[DispatchEntry]:
    """The valid dispatch rows a waypoint's writes leave (rows written with ENTRY_CTRL=1)."""
    rows: dict[int, dict[str, int]] = {}
    for w in writes:
        if w.block == regmap.WP_WAYPOINT.name and w.register in _ENTRY_REGS:
            rows.setdefault(w.index, {})[w.register] = w.value
    out = []
    for index in sorted(rows):
        r = rows[index]
        if r.get("ENTRY_CTRL", 0) & 1:
            key = r.get("ENTRY_KEY", 0)
            out.append(
                DispatchEntry(
                    spi=key >> 8,
                    si=key & 0xFF,
                    pe=r.get("ENTRY_PE", 0),
                    port=r.get("ENTRY_PORT", 0),
                )
            )
    return out


async def read_dispatch(drv: WaypointDriver) -> dict[int, DispatchEntry]:
    """The device's valid dispatch rows: row → entry."""
    out = {}
    for i in range(drv.caps):
        if await drv.read("ENTRY_CTRL", i) & 1:
            key = await drv.read("ENTRY_KEY", i)
            out[i] = DispatchEntry(
                spi=key >> 8,
                si=key & 0xFF,
                pe=await drv.read("ENTRY_PE", i),
                port=await drv.read("ENTRY_PORT", i),
            )
    return out


class FpgaInstall:
    """One apply's FPGA side: ``add`` → (switch classifiers flip) → ``remove_stale``."""

    def __init__(
        self, writes: Sequence[RegisterWrite], buses: Mapping[str, Callable[[], RegisterBus]]
    ) -> None:
        self.by_waypoint: dict[str, list[RegisterWrite]] = {}
        for w in writes:
            self.by_waypoint.setdefault(waypoint_of(w), []).append(w)
        self.skipped = sorted(wp for wp in self.by_waypoint if wp not in buses)
        for wp in self.skipped:
            log.warning(
                "waypoint %s: %d register writes not applied (no 'regs' in the topology)",
                wp,
                len(self.by_waypoint[wp]),
            )
        self._factories = buses
        self._buses: dict[str, RegisterBus] = {}
        self._drivers: dict[str, WaypointDriver] = {}
        self._stale: dict[str, list[int]] = {}
        self.results: dict[str, WaypointInstall] = {}

    @property
    def waypoints(self) -> list[str]:
        return sorted(wp for wp in self.by_waypoint if wp in self._factories)

    def _bus(self, wp: str) -> RegisterBus:
        bus = self._buses.get(wp)
        if bus is None:
            try:
                bus = self._factories[wp]()
            except RegisterError as exc:
                raise RegisterError(f"waypoint {wp}: {exc}") from exc
            self._buses[wp] = bus
        return bus

    async def add(self, *, dry_run: bool = False) -> None:
        """Configure changed PE blocks and add missing dispatch rows into free rows.
        ``dry_run``: read and decide, write nothing (``results`` says what would change)."""
        # Check every waypoint (attach, room in the table) before writing to any.
        plans: dict[
            str, tuple[list[DispatchEntry], list[DispatchEntry], dict[int, DispatchEntry]]
        ] = {}
        for wp in self.waypoints:
            drv = await WaypointDriver.attach(self._bus(wp), name=f"waypoint {wp}")
            self._drivers[wp] = drv
            want = dispatch_entries(self.by_waypoint[wp])
            have = await read_dispatch(drv)
            have_keys = {e.key: row for row, e in have.items()}
            new = [e for e in want if e.key not in have_keys or have[have_keys[e.key]] != e]
            free = drv.caps - len(have)
            if len(new) > free:
                raise RegisterError(
                    f"waypoint {wp}: dispatch table holds {drv.caps} rows; {len(have)} are in "
                    f"use and the plan adds {len(new)}: make-before-break needs room for old and "
                    "new entries side by side (install in two steps, or a build with more rows)"
                )
            plans[wp] = (want, new, have)
        for wp in self.waypoints:
            result = self.results.setdefault(wp, WaypointInstall(waypoint=wp))
            await self._configure_blocks(wp, result, dry_run)
            want, new, have = plans[wp]
            drv = self._drivers[wp]
            want_keys = {e.key: e for e in want}
            default = [w for w in self.by_waypoint[wp] if w.register == "DEFAULT_PORT"]
            for w in default:
                if await drv.read("DEFAULT_PORT") != w.value:
                    if not dry_run:
                        await drv.write("DEFAULT_PORT", w.value)
                    result.writes += 1
            num_pes = await drv.read("NUM_PES")
            used = set(have)
            free_rows = (i for i in range(drv.caps) if i not in used)
            for e in new:
                if e.pe >= num_pes:
                    raise RegisterError(
                        f"waypoint {wp}: dispatch entry (spi {e.spi}, si {e.si}) names PE "
                        f"{e.pe}, this build has 0..{num_pes - 1} (NUM_PES)"
                    )
                row = next(free_rows)
                if not dry_run:
                    await drv.write("ENTRY_CTRL", 0, row)
                    await drv.write("ENTRY_KEY", (e.spi << 8) | e.si, row)
                    await drv.write("ENTRY_PE", e.pe, row)
                    await drv.write("ENTRY_PORT", e.port, row)
                    await drv.write("ENTRY_CTRL", 1, row)
                result.rows_added.append(row)
                result.writes += 5
            # Rows holding a wanted entry stay; rows holding anything else go after the flip
            # (a row with a wanted key but another PE/port is replaced by the added row).
            result.rows_kept = sum(1 for e in have.values() if want_keys.get(e.key) == e)
            stale = sorted(row for row, e in have.items() if want_keys.get(e.key) != e)
            result.rows_stale = stale
            result.writes += len(stale)
            if dry_run:
                result.rows_added = []  # nothing to undo
                result.planned_rows = [row for row in range(drv.caps) if row not in used][
                    : len(new)
                ]
            else:
                self._stale[wp] = list(stale)
            log.info(
                "waypoint %s: blocks written %s, %d dispatch rows added, %d kept, %d to remove",
                wp,
                result.blocks_written or "none",
                len(result.rows_added),
                result.rows_kept,
                len(result.rows_stale),
            )

    async def _configure_blocks(self, wp: str, result: WaypointInstall, dry_run: bool) -> None:
        by_block: dict[str, list[RegisterWrite]] = {}
        for w in self.by_waypoint[wp]:
            if w.block != regmap.WP_WAYPOINT.name:
                by_block.setdefault(w.block, []).append(w)
        for block, writes in by_block.items():
            inst = instance(block)
            drv: BlockDriver = await DRIVERS[inst.block.name].attach(
                self._bus(wp), base=inst.base, name=f"{wp}.{block}"
            )
            final: dict[tuple[str, int], int] = {}
            for w in writes:
                final[(w.register, w.index)] = w.value
            differs = False
            for (reg, index), value in final.items():
                r = drv.block.reg(reg)
                if reg in _NOT_COMPARED or r.access is regmap.Access.WO:
                    continue
                if r.count > 1 and drv.caps and index >= drv.caps:
                    continue  # apply_register_writes checks (and skips clears) beyond CAPS
                if await drv.read(reg, index) != value:
                    differs = True
                    break
            if not differs:
                result.blocks_unchanged.append(block)
                continue
            result.blocks_written.append(block)
            if dry_run:
                result.writes += len(writes)
                continue
            done = await apply_register_writes(writes, lambda _wp: self._bus(wp))
            result.writes += sum(done.values())

    async def remove_stale(self) -> None:
        """Invalidate the rows the plan no longer wants (after the classifiers flipped)."""
        for wp, rows in self._stale.items():
            drv = self._drivers[wp]
            for row in rows:
                await drv.write("ENTRY_CTRL", 0, row)
            if rows:
                log.info("waypoint %s: %d stale dispatch rows invalidated", wp, len(rows))
        self._stale = {}

    async def undo(self) -> None:
        """Invalidate the rows :meth:`add` wrote (the switch side was rolled back). Never
        raises: a failure is logged, so the error that caused the undo is the one reported."""
        for wp, result in self.results.items():
            drv = self._drivers.get(wp)
            if drv is None:
                continue
            try:
                for row in result.rows_added:
                    await drv.write("ENTRY_CTRL", 0, row)
            except Exception as exc:  # the original failure matters more
                log.error(
                    "waypoint %s: undo failed, rows %s may stay: %s", wp, result.rows_added, exc
                )
                continue
            if result.blocks_written:
                log.warning(
                    "waypoint %s: PE block settings written by this apply stay (%s): write-only"
                    " registers cannot be restored",
                    wp,
                    ", ".join(result.blocks_written),
                )
            result.rows_added = []
        self._stale = {}

    def close(self) -> None:
        for bus in self._buses.values():
            close = getattr(bus, "close", None)
            if close is not None:
                close()
        self._buses = {}


def buses_from_topology(topology: object) -> dict[str, Callable[[], RegisterBus]]:
    """Bus factories for every waypoint with ``regs`` (opened when the apply first needs one)."""
    from wphw.netfpga.bus import bus_from_regs

    out: dict[str, Callable[[], RegisterBus]] = {}
    for wp in getattr(topology, "waypoints", {}).values():
        regs = getattr(wp, "regs", None)
        if regs:
            out[wp.name] = functools.partial(bus_from_regs, regs)
    return out


__all__ = [
    "DispatchEntry",
    "FpgaInstall",
    "WaypointInstall",
    "buses_from_topology",
    "dispatch_entries",
    "read_dispatch",
]
