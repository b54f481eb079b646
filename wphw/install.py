"""Install a plan on everything it configures: P4Runtime switches and FPGA waypoints.

The orchestrator of docs/design.md's install layer: the CLI (``wphw apply``), the lab and the
controller install through it. :mod:`wphw.p4rt` writes the switches in make-before-break
phases and knows nothing of FPGAs; :mod:`wphw.netfpga.install` writes a waypoint's registers.
This module runs the second inside the first's phases (:class:`~wphw.p4rt.ApplyHooks`): the
FPGA waypoints learn the new (SPI, SI) dispatch rows after the new path entries are on the
switches and before any classifier flips to them; stale rows go after the old paths; a failure
anywhere rolls back both.

::

    with Installer(topology, pipeline=Pipeline.load(p4info, bmv2_json)) as inst:
        result = inst.apply(plan)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from wphw.entries import TableEntry
from wphw.errors import PlanError
from wphw.netfpga.bus import RegisterBus
from wphw.netfpga.install import FpgaInstall, WaypointInstall, buses_from_topology
from wphw.p4rt import ApplyResult, AsyncFabric, SwitchResult, run_sync
from wphw.p4rt.diff import Diff
from wphw.p4rt.fabric import PlanLike, Progress

LOG = logging.getLogger("wphw.install")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallResult:
    """What an install did on the switches (:class:`~wphw.p4rt.ApplyResult`) and on the FPGA
    waypoints (configured ones; those skipped for want of a register bus)."""

    p4rt: ApplyResult
    fpga: tuple[WaypointInstall, ...] = ()
    fpga_skipped: tuple[str, ...] = ()

    @property
    def switches(self) -> tuple[SwitchResult, ...]:
        return self.p4rt.switches

    @property
    def seconds(self) -> float:
        return self.p4rt.seconds

    @property
    def diff(self) -> Diff | None:
        return self.p4rt.diff

    @property
    def written(self) -> int:
        return self.p4rt.written

    @property
    def delta(self) -> bool:
        return self.p4rt.delta

    @property
    def fallback(self) -> str:
        return self.p4rt.fallback

    def __str__(self) -> str:
        head, _, tail = str(self.p4rt).rpartition("\n")
        lines = [head] if head else []
        for f in self.fpga:
            lines.append(
                f"{f.waypoint} (FPGA): blocks written {', '.join(f.blocks_written) or 'none'},"
                f" dispatch rows +{len(f.rows_added) or len(f.planned_rows)}"
                f" -{len(f.rows_stale)} ({f.rows_kept} kept), {f.writes} register writes"
            )
        if self.fpga_skipped:
            lines.append(
                "register writes NOT applied (no 'regs' in the topology): "
                + ", ".join(self.fpga_skipped)
            )
        lines.append(tail)
        return "\n".join(lines)


class _FpgaHooks:
    """:class:`~wphw.netfpga.install.FpgaInstall` as the apply's phase hooks."""

    def __init__(self, fpga: FpgaInstall) -> None:
        self.fpga = fpga

    async def paths_installed(self) -> None:
        await self.fpga.add()

    async def old_paths_removed(self) -> None:
        await self.fpga.remove_stale()

    async def undo(self) -> None:
        await self.fpga.undo()


class AsyncInstaller:
    """The asyncio installer: an :class:`~wphw.p4rt.AsyncFabric` (same keyword arguments) plus
    the FPGA register buses (``register_buses``: waypoint → opener; default: from the
    topology's waypoint ``regs``)."""

    def __init__(
        self,
        topology: Any,
        *,
        register_buses: Mapping[str, Callable[[], RegisterBus]] | None = None,
        **fabric_options: Any,
    ) -> None:
        self.fabric = AsyncFabric(topology, **fabric_options)
        self.register_buses = (
            dict(register_buses) if register_buses is not None else buses_from_topology(topology)
        )

    async def connect(self, *, arbitrate: bool = True) -> None:
        await self.fabric.connect(arbitrate=arbitrate)

    async def close(self) -> None:
        await self.fabric.close()

    async def diff(self, plan: PlanLike) -> Diff:
        return await self.fabric.diff(plan)

    async def apply(
        self, plan: PlanLike, *, dry_run: bool = False, progress: Progress | None = None
    ) -> InstallResult:
        """Make the switches hold exactly the plan's entries and the FPGA waypoints its
        register writes; a dry run writes nothing anywhere and says what would change."""
        writes = getattr(plan, "register_writes", ())
        redacted = getattr(plan, "redacted", ())
        if redacted and writes:
            raise PlanError(
                f"the plan's FPGA keys were left out of its JSON ({redacted[0]}"
                f"{' …' if len(redacted) > 1 else ''}): compile it from the topology to apply"
                " it, or write it with its secrets (wphw plan --with-secrets)"
            )
        fpga = FpgaInstall(writes, self.register_buses)
        try:
            if dry_run:
                p4rt = await self.fabric.apply(plan, dry_run=True)
                await fpga.add(dry_run=True)
            else:
                p4rt = await self.fabric.apply(plan, progress=progress, hooks=_FpgaHooks(fpga))
        finally:
            fpga.close()
        return InstallResult(
            p4rt=p4rt,
            fpga=tuple(fpga.results[wp] for wp in sorted(fpga.results)),
            fpga_skipped=tuple(fpga.skipped),
        )

    async def apply_delta(self, plan: PlanLike, delta: Mapping[str, Any]) -> InstallResult:
        """Write only ``delta`` (:meth:`wphw.p4rt.AsyncFabric.apply_delta`: per changed
        switch, the entries that went and those that came; no Read). A plan that writes FPGA
        registers is applied in full (its dispatch rows are computed over the whole plan)."""
        if getattr(plan, "register_writes", ()):
            full = await self.apply(plan)
            return replace(
                full,
                p4rt=replace(
                    full.p4rt, fallback="the plan writes FPGA registers: applied with reads"
                ),
            )
        return InstallResult(p4rt=await self.fabric.apply_delta(plan, delta))


class Installer:
    """Synchronous face of :class:`AsyncInstaller` (same arguments), on wphw's background
    event loop (:func:`wphw.p4rt.run_sync`)."""

    def __init__(self, topology: Any, **kwargs: Any) -> None:
        self.aio = AsyncInstaller(topology, **kwargs)

    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return run_sync(coro)

    def connect(self, *, arbitrate: bool = True) -> Installer:
        self._run(self.aio.connect(arbitrate=arbitrate))
        return self

    def close(self) -> None:
        self._run(self.aio.close())

    def __enter__(self) -> Installer:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def apply(
        self, plan: PlanLike, *, dry_run: bool = False, progress: Progress | None = None
    ) -> InstallResult:
        return self._run(self.aio.apply(plan, dry_run=dry_run, progress=progress))

    def diff(self, plan: PlanLike) -> Diff:
        return self._run(self.aio.diff(plan))

    def apply_delta(self, plan: PlanLike, delta: Mapping[str, Any]) -> InstallResult:
        return self._run(self.aio.apply_delta(plan, delta))

    def roles_granted(self) -> dict[str, dict[str, bool]]:
        return self.aio.fabric.roles_granted()

    def read(self, switch: str) -> list[TableEntry]:
        """What ``switch`` holds in wphw's tables (:meth:`wphw.p4rt.AsyncFabric.read`)."""
        return self._run(self.aio.fabric.read(switch))

    def read_direct_counters(self, switch: str, table: str) -> list[tuple[TableEntry, int, int]]:
        return self._run(self.aio.fabric.read_direct_counters(switch, table))

    def read_direct_counters_many(
        self, switches: Sequence[str], table: str
    ) -> dict[str, list[tuple[TableEntry, int, int]]]:
        return self._run(self.aio.fabric.read_direct_counters_many(switches, table))
