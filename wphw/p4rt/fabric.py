"""Install plans on P4Runtime switches: connect, arbitrate, push the pipeline, diff, write.

``AsyncFabric`` is the asyncio core (many switches in one process); ``Fabric`` is a synchronous
wrapper that runs it on one shared background event loop::

    with Fabric(topology, pipeline=Pipeline.load("p4/build/wphw.p4info.txtpb",
                                                  "p4/build/wphw.json")) as fabric:
        result = fabric.apply(plan)

``apply`` reads what the switches have in wphw's tables, diffs it against the plan and writes
the difference in the ordered phases of :mod:`wphw.p4rt.diff` (make-before-break), in batches
of ``batch_size`` updates, a few Write RPCs in flight per switch. Entries are encoded to wire
bytes (:mod:`wphw.p4rt.encode`) and sent with a Write stub whose serializer is the identity.

Failures: a failed update raises :class:`P4RuntimeWriteError` (a ``WriteError``) listing every
failed update (batch, index, gRPC code, message, decoded entry) after *every* switch has been
rolled back to the entries it had before ``apply``. A lost connection is retried with
exponential back-off (the switch is re-read, the pipeline re-pushed if it was lost, and the
remaining difference written again); when the retries run out, ``SwitchConnectionError`` names
the switch and its address.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from finsy.proto import p4r

from wphw._gc import gc_paused
from wphw.entries import TableEntry
from wphw.errors import PlanError, SchemaError, SwitchConnectionError, WphwError
from wphw.p4rt.client import Credentials, Disconnected, Pipeline, SwitchClient, run_sync
from wphw.p4rt.diff import (
    PATH_DELETE,
    PHASES,
    Diff,
    compute_deletes,
    compute_ops,
    make_switch_diff,
)
from wphw.p4rt.results import ApplyResult, P4RuntimeWriteError, SwitchResult, UpdateFailure
from wphw.p4rt.schema import Schema
from wphw.p4rt.switch import NO_ACTION, PhaseFailed, SwitchRun, check_paths, sort_key

LOG = logging.getLogger("wphw.p4rt")

_T = TypeVar("_T")

Progress = Callable[[int, int], None]
"""``progress(done, total)``: updates written so far, and the current estimate of the total."""


class SwitchLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def device_id(self) -> int: ...


class TopologyLike(Protocol):
    @property
    def switches(self) -> Mapping[str, Any]: ...


class PlanLike(Protocol):
    @property
    def entries(self) -> Mapping[str, Sequence[TableEntry]]: ...


class ApplyHooks(Protocol):
    """Devices that change in step with an apply's phases (wphw.install's FPGA waypoints)."""

    async def paths_installed(self) -> None:
        """New service-path entries are on every switch; no classifier points at them yet."""

    async def old_paths_removed(self) -> None:
        """The apply finished: classifiers flipped, old paths deleted."""

    async def undo(self) -> None:
        """A later phase failed and the switches were rolled back: undo what the hooks did."""


class _NoHooks:
    async def paths_installed(self) -> None:
        return None

    async def old_paths_removed(self) -> None:
        return None

    async def undo(self) -> None:
        return None


_NO_HOOKS = _NoHooks()


class AsyncFabric:
    """Connections to every switch of a topology; ``apply`` installs plans (asyncio)."""

    def __init__(
        self,
        topology: TopologyLike | Iterable[SwitchLike],
        *,
        pipeline: Pipeline | None = None,
        election_id: int = 1,
        role: str | None = None,
        credentials: Credentials | None = None,
        batch_size: int = 1000,
        window: int = 2,
        retries: int = 5,
        backoff: float = 0.1,
        timeout: float = 30.0,
        drain: float = 0.05,
        roles: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    ) -> None:
        """``roles``: switch → P4Runtime role name → the tables whose updates go through that
        role's own stream where the switch grants it (see ``SwitchClient.want_roles``;
        :meth:`roles_granted` says where it did). ``drain``: seconds
        between the classifier flip and the deletion of old service paths (only when an apply
        deletes path entries), so packets already on an old path finish it; size it to the
        slowest PE's latency (a software PE: milliseconds; a co-simulated one: seconds)."""
        if election_id <= 0 or election_id >= 1 << 128:
            raise ValueError(f"election id {election_id} outside 1..2**128-1")
        if batch_size < 1 or window < 1:
            raise ValueError("batch_size and window must be ≥ 1")
        if drain < 0:
            raise ValueError(f"drain {drain} s is negative")
        switches: Iterable[SwitchLike] = (
            topology.switches.values() if hasattr(topology, "switches") else topology
        )
        self._clients: dict[str, SwitchClient] = {
            s.name: SwitchClient(
                s.name,
                s.address,
                s.device_id,
                election_id=election_id,
                role=role,
                credentials=credentials,
                pipeline=pipeline,
                retries=retries,
                backoff=backoff,
                timeout=timeout,
            )
            for s in sorted(switches, key=lambda s: s.name)
        }
        unknown = sorted(set(roles or {}) - set(self._clients))
        if unknown:
            raise PlanError(f"roles for switches not in the fabric: {', '.join(unknown)}")
        for name, want in (roles or {}).items():
            if any(not r or r == (role or "") for r in want):
                raise PlanError(f"switch {name}: a role must be named, and not the fabric's own")
            self._clients[name].want_roles = {r: tuple(t) for r, t in want.items()}
        self.batch_size = batch_size
        self.window = window
        self.drain = drain
        self._connected = False
        self._progress: Progress | None = None
        self._done = 0
        self._total = 0

    @property
    def switch_names(self) -> tuple[str, ...]:
        return tuple(self._clients)

    def roles_granted(self) -> dict[str, dict[str, bool]]:
        """Switch → role → whether the switch made us primary of that role on the last
        connect (its tables then go through it; else through the fabric's own role)."""
        return {name: dict(c.roles_granted) for name, c in self._clients.items() if c.want_roles}

    async def connect(self, *, arbitrate: bool = True) -> None:
        """Connect to every switch. ``arbitrate=False`` opens read-only sessions (no stream)."""
        results = await asyncio.gather(
            *(c.open(arbitrate=arbitrate) for c in self._clients.values()),
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.close()
            for r in errors:
                if not isinstance(r, WphwError):
                    raise r
            raise errors[0]
        self._connected = True

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self._clients.values()))
        self._connected = False

    async def __aenter__(self) -> AsyncFabric:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def schema(self, switch: str) -> Schema:
        c = self._client(switch)
        if c.schema is None:
            raise SwitchConnectionError(f"switch {switch} at {c.address}: not connected")
        return c.schema

    def _client(self, switch: str) -> SwitchClient:
        try:
            return self._clients[switch]
        except KeyError:
            raise PlanError(
                f"switch {switch!r} is not in the fabric ({', '.join(self._clients)})"
            ) from None

    async def _ensure_connected(self) -> None:
        if not self._connected:
            await self.connect()

    # -- reading --------------------------------------------------------------------------------

    async def read(self, switch: str) -> list[TableEntry]:
        """Every entry (default entries included) of wphw's tables on ``switch``, decoded by
        short names, sorted."""
        await self._ensure_connected()
        run = SwitchRun(self, self._client(switch), ())
        run.default_tables = sorted(t.id for t in run.owned)
        await self._retrying(run.client, run.read_installed)
        return sorted((run.encoder.decode_encoded(x) for x in run.installed.values()), key=sort_key)

    async def read_direct_counters_many(
        self, switches: Sequence[str], table: str, *, parallel: int = 64
    ) -> dict[str, list[tuple[TableEntry, int, int]]]:
        """:meth:`read_direct_counters` of ``table`` on every switch of ``switches``, up to
        ``parallel`` Reads in flight (a live view of hundreds of switches reads them all)."""
        sem = asyncio.Semaphore(max(1, parallel))

        async def one(sw: str) -> list[tuple[TableEntry, int, int]]:
            async with sem:
                return await self.read_direct_counters(sw, table)

        got = await asyncio.gather(*(one(sw) for sw in switches))
        return dict(zip(switches, got, strict=True))

    async def read_direct_counters(
        self, switch: str, table: str
    ) -> list[tuple[TableEntry, int, int]]:
        """``(entry, packets, bytes)`` for every entry of ``table`` (which has a direct counter).

        A switch answers a DirectCounterEntry read with the entry's key only (BMv2 does), so
        the table's entries are read in the same request and each counter gets its entry's
        action back from them."""
        await self._ensure_connected()
        c = self._client(switch)
        assert c.encoder is not None
        enc = c.encoder
        info = enc.table(table)
        if info.direct_counter_id is None:
            raise SchemaError(f"table {info.short!r} has no direct counter")
        entries = p4r.Entity(table_entry=p4r.TableEntry(table_id=info.id))
        counters = p4r.Entity()
        counters.direct_counter_entry.table_entry.table_id = info.id
        got = await self._retrying(c, lambda: c.read([entries, counters]))
        by_key = {}
        for e in got:
            if e.WhichOneof("entity") == "table_entry":
                x = enc.encoded_from_message(e.table_entry)
                by_key[x.key] = x
        out = []
        for e in got:
            if e.WhichOneof("entity") != "direct_counter_entry":
                continue
            dc = e.direct_counter_entry
            x = enc.encoded_from_message(dc.table_entry)
            full = by_key.get(x.key, x)  # an entry deleted between the two reads: key only
            out.append((enc.decode_encoded(full), dc.data.packet_count, dc.data.byte_count))
        out.sort(key=lambda t: sort_key(t[0]))
        return out

    async def _retrying(self, c: SwitchClient, fn: Callable[[], Awaitable[_T]]) -> _T:
        for _ in range(c.retries + 1):
            try:
                return await fn()
            except Disconnected:
                await c.reconnect()
        raise c._error("connection keeps failing")

    # -- diff and apply ---------------------------------------------------------------------

    def _check_plan(self, plan: PlanLike) -> None:
        unknown = sorted(set(plan.entries) - set(self._clients))
        if unknown:
            raise PlanError(
                f"the plan has entries for switches not in the fabric: {', '.join(unknown)}"
            )
        for name, entries in plan.entries.items():
            check_paths(name, self._clients[name].schema, entries)

    async def _prepare(self, plan: PlanLike) -> dict[str, SwitchRun]:
        await self._ensure_connected()
        self._check_plan(plan)
        runs = {
            name: SwitchRun(self, c, tuple(plan.entries.get(name, ())))
            for name, c in self._clients.items()
        }
        await asyncio.gather(*(self._retrying(r.client, r.read_installed) for r in runs.values()))
        return runs

    async def diff(self, plan: PlanLike) -> Diff:
        """What ``apply(plan)`` would write, per switch and phase (nothing is written)."""
        runs = await self._prepare(plan)
        out = []
        for name, run in runs.items():
            run.encode_desired()
            phases = compute_ops(run.desired, run.installed, run.edge_ids)
            changed = sum(len(p) for p in phases[:2])
            d = make_switch_diff(name, run.encoder, phases, len(run.desired) - changed)
            c = run.client
            if c.pipeline_stale:  # apply would replace the pipeline: say what it would drop
                foreign = await self._retrying(c, c.count_foreign_entries)
                d = replace(
                    d,
                    replaces_pipeline=True,
                    device_cookie=c.device_cookie,
                    foreign_entries=foreign,
                )
            out.append(d)
        return Diff(switches=tuple(out))

    def _progress_add(self, n: int) -> None:
        self._done += n
        if self._progress is not None:
            self._progress(self._done, max(self._total, self._done))

    async def apply(
        self,
        plan: PlanLike,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
        hooks: ApplyHooks | None = None,
    ) -> ApplyResult:
        """Make the switches hold exactly the plan's entries in wphw's tables.

        ``hooks`` (see :class:`ApplyHooks`) let other devices change in step with the switches'
        phases; the P4Runtime layer knows nothing else of them (wphw.install combines it with
        the FPGA register writes). A dry run calls no hook."""
        t0 = time.perf_counter()
        if dry_run:
            d = await self.diff(plan)
            return ApplyResult(
                switches=tuple(
                    SwitchResult(
                        switch=s.switch,
                        inserted=s.inserts,
                        modified=s.modifies,
                        deleted=s.deletes,
                        unchanged=s.unchanged,
                        write_rpcs=0,
                    )
                    for s in d.switches
                ),
                seconds=time.perf_counter() - t0,
                diff=d,
            )
        with gc_paused():
            return await self._apply(plan, progress, t0, hooks or _NO_HOOKS)

    async def apply_delta(
        self,
        plan: PlanLike,
        delta: Mapping[str, tuple[Sequence[TableEntry], Sequence[TableEntry]]],
        *,
        hooks: ApplyHooks | None = None,
    ) -> ApplyResult:
        """Write a change the caller computed, without reading any switch: ``delta`` maps each
        changed switch to (the entries of the installed plan that go or change, the entries of
        ``plan`` that come or change). The caller vouches that the switches hold the installed
        plan (a controller that installed it; reconcile with reads is a separate step). Only
        those switches and keys are touched, in the same make-before-break phases as
        :meth:`apply`, and a failure rolls back exactly the keys written. A switch whose
        pipeline is not ours any more (restarted) makes it a full :meth:`apply` with reads."""
        t0 = time.perf_counter()
        with gc_paused():
            await self._ensure_connected()
            self._check_plan(plan)
            unknown = sorted(set(delta) - set(self._clients))
            if unknown:
                raise PlanError(f"the delta names switches not in the fabric: {unknown}")
            stale = sorted(sw for sw in delta if self._clients[sw].pipeline_stale)
            if stale:
                result = await self._apply(plan, None, t0, hooks or _NO_HOOKS)
                why = f"{', '.join(stale)}: our pipeline is not on it (restarted?); applied with reads"
                return replace(result, fallback=why)
            return await self._apply_pushed(plan, None, t0, hooks or _NO_HOOKS, delta=delta)

    async def _apply(
        self, plan: PlanLike, progress: Progress | None, t0: float, hooks: ApplyHooks
    ) -> ApplyResult:
        await self._ensure_connected()
        self._check_plan(plan)
        # Only here may a switch's pipeline be replaced (also on a reconnect mid-apply).
        for c in self._clients.values():
            c.may_push = True
        try:
            stale = [c for c in self._clients.values() if c.pipeline_stale]
            await asyncio.gather(*(self._retrying(c, c.push_pipeline) for c in stale))
            return await self._apply_pushed(plan, progress, t0, hooks)
        finally:
            for c in self._clients.values():
                c.may_push = False

    async def _apply_pushed(
        self,
        plan: PlanLike,
        progress: Progress | None,
        t0: float,
        hooks: ApplyHooks,
        delta: Mapping[str, tuple[Sequence[TableEntry], Sequence[TableEntry]]] | None = None,
    ) -> ApplyResult:
        reads: dict[str, asyncio.Future[None] | None] = {}
        if delta is None:
            runs = {
                name: SwitchRun(self, c, tuple(plan.entries.get(name, ())))
                for name, c in self._clients.items()
            }
        else:
            runs = {}
            for name in sorted(delta):
                went, came = delta[name]
                run = SwitchRun(self, self._clients[name], tuple(came))
                run.assume_installed(went)
                runs[name] = run
                reads[name] = None
        rpcs0 = {name: r.client.write_rpcs for name, r in runs.items()}
        self._progress, self._done = progress, 0
        self._total = sum(len(r.entries) for r in runs.values())
        try:
            # Each switch's Read runs while its first entries are encoded (stream_upserts).
            if delta is None:
                reads = {name: asyncio.ensure_future(r.read_snapshot()) for name, r in runs.items()}
            await self._phase(runs, lambda r: r.stream_upserts(0, reads[r.client.name]), 0)
            # Other devices (FPGA waypoints) learn the new paths before any classifier flips.
            try:
                await hooks.paths_installed()
            except BaseException:
                LOG.error("paths_installed hook failed; rolling back every switch")
                await hooks.undo()
                await self._rollback(runs)
                raise
            try:
                await self._phase(runs, lambda r: r.stream_upserts(1), 1)
                pending = {
                    name: compute_deletes(r.desired, r.installed, r.edge_ids)
                    for name, r in runs.items()
                }
                self._total = self._done + sum(len(p) for ops in pending.values() for p in ops[2:])
                for phase in range(2, len(PHASES)):
                    # Packets classified onto an old path just before the flip may still be
                    # on it (queued in a PE): let them drain before its hops go.
                    if (
                        phase == PATH_DELETE
                        and self.drain > 0
                        and any(pending[name][PATH_DELETE] for name in runs)
                    ):
                        await asyncio.sleep(self.drain)
                    await self._phase(
                        runs,
                        lambda r, p=phase: r.run_phase(  # type: ignore[misc]
                            p, None if r.resynced else pending[r.client.name][p]
                        ),
                        phase,
                    )
            except BaseException:
                await hooks.undo()  # the switches were rolled back by _phase
                raise
            await hooks.old_paths_removed()
        finally:
            self._progress = None
        results = []
        for name, r in runs.items():
            total_changed = sum(r.counts.values())
            results.append(
                SwitchResult(
                    switch=name,
                    inserted=r.counts["insert"],
                    modified=r.counts["modify"],
                    deleted=r.counts["delete"],
                    unchanged=max(0, len(r.desired) - r.counts["insert"] - r.counts["modify"]),
                    write_rpcs=r.client.write_rpcs - rpcs0[name],
                )
            )
            r.log.info("applied: %d updates", total_changed)
        resynced = sorted(name for name, r in runs.items() if r.resynced)
        return ApplyResult(
            switches=tuple(results),
            seconds=time.perf_counter() - t0,
            delta=delta is not None and not resynced,
            fallback=f"{', '.join(resynced)}: reconnected mid-apply and read back"
            if delta is not None and resynced
            else "",
        )

    async def _phase(
        self,
        runs: Mapping[str, SwitchRun],
        step: Callable[[SwitchRun], Coroutine[Any, Any, None]],
        phase: int,
    ) -> None:
        results = await asyncio.gather(*(step(r) for r in runs.values()), return_exceptions=True)
        failures: list[UpdateFailure] = []
        other: list[BaseException] = []
        for r in results:
            if isinstance(r, PhaseFailed):
                failures.extend(r.failures)
            elif isinstance(r, BaseException):
                other.append(r)
        if not failures and not other:
            return
        # Writes in flight complete in any order: report failures in Write order.
        failures.sort(key=lambda f: (f.switch, f.batch, f.index))
        LOG.error("phase %d (%s) failed; rolling back every switch", phase, PHASES[phase])
        rollback_failures = await self._rollback(runs)
        rolled_back = not rollback_failures
        if failures:
            raise P4RuntimeWriteError(
                f"{len(failures)} update(s) failed in phase {phase} ({PHASES[phase]})",
                failures,
                rolled_back=rolled_back,
                rollback_failures=rollback_failures,
            )
        if not rolled_back:
            LOG.error("rollback incomplete: %s", "; ".join(map(str, rollback_failures)))
        raise other[0]

    async def _rollback(self, runs: Mapping[str, SwitchRun]) -> list[UpdateFailure]:
        """Write every switch back to its snapshot, in the same make-before-break phases."""
        live = []
        for r in runs.values():
            r.failures = []
            r.needs_resync = False
            if r.snapshot is None:  # its Read never came back: nothing was written to it
                continue
            r.desired = r.snapshot
            try:
                await self._retrying(r.client, r.read_installed)
                live.append(r)
            except WphwError as exc:
                r.log.error("cannot roll back: %s", exc)
                r.failures.append(
                    UpdateFailure(
                        switch=r.client.name,
                        batch=0,
                        index=0,
                        code="UNAVAILABLE",
                        message=str(exc),
                        kind="rollback",
                        entry=TableEntry(table="", match=(), action=NO_ACTION),
                    )
                )
        failures = [f for r in runs.values() for f in r.failures]
        for phase in range(len(PHASES)):
            results = await asyncio.gather(
                *(r.run_phase(phase) for r in live), return_exceptions=True
            )
            for res in results:
                if isinstance(res, PhaseFailed):
                    failures.extend(res.failures)
                elif isinstance(res, BaseException):
                    LOG.error("rollback phase %d: %s", phase, res)
            live = [r for r, res in zip(live, results, strict=True) if res is None]
        return failures


# -- synchronous wrapper ---------------------------------------------------------------------


class Fabric:
    """Synchronous face of :class:`AsyncFabric` (same arguments), run on a shared background
    event loop (:func:`run_sync`)."""

    def __init__(self, topology: TopologyLike | Iterable[SwitchLike], **kwargs: Any) -> None:
        self.aio = AsyncFabric(topology, **kwargs)

    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return run_sync(coro)

    def connect(self, *, arbitrate: bool = True) -> Fabric:
        self._run(self.aio.connect(arbitrate=arbitrate))
        return self

    def close(self) -> None:
        self._run(self.aio.close())

    def __enter__(self) -> Fabric:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def apply(
        self,
        plan: PlanLike,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
        hooks: ApplyHooks | None = None,
    ) -> ApplyResult:
        return self._run(self.aio.apply(plan, dry_run=dry_run, progress=progress, hooks=hooks))

    def diff(self, plan: PlanLike) -> Diff:
        return self._run(self.aio.diff(plan))

    def apply_delta(
        self,
        plan: PlanLike,
        delta: Mapping[str, tuple[Sequence[TableEntry], Sequence[TableEntry]]],
        *,
        hooks: ApplyHooks | None = None,
    ) -> ApplyResult:
        return self._run(self.aio.apply_delta(plan, delta, hooks=hooks))

    def read(self, switch: str) -> list[TableEntry]:
        return self._run(self.aio.read(switch))

    def roles_granted(self) -> dict[str, dict[str, bool]]:
        return self.aio.roles_granted()

    def read_direct_counters(self, switch: str, table: str) -> list[tuple[TableEntry, int, int]]:
        return self._run(self.aio.read_direct_counters(switch, table))

    def read_direct_counters_many(
        self, switches: Sequence[str], table: str
    ) -> dict[str, list[tuple[TableEntry, int, int]]]:
        return self._run(self.aio.read_direct_counters_many(switches, table))

    def schema(self, switch: str) -> Schema:
        return self.aio.schema(switch)
