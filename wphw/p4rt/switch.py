"""The apply state machine of one switch: read what it holds, diff, write in ordered phases.

:class:`SwitchRun` holds one switch's desired and installed entries during an apply (or a
rollback) and runs the make-before-break phases of :mod:`wphw.p4rt.diff` on its
:class:`~wphw.p4rt.client.SwitchClient`; :class:`~wphw.p4rt.fabric.AsyncFabric` runs one per
switch, in lock step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from finsy.proto import p4r, rpc_code

import wphw.p4names as P4
from wphw.entries import Action, TableEntry
from wphw.errors import PlanError, SchemaError
from wphw.p4rt.client import Disconnected, RpcFailure, SwitchClient, code_name
from wphw.p4rt.diff import (
    EDGE_TABLES,
    Op,
    compute_ops,
)
from wphw.p4rt.encode import EncodedEntry, Encoder, UpdateKind, describe, update_bytes
from wphw.p4rt.results import UpdateFailure
from wphw.p4rt.schema import Schema, TableInfo

if TYPE_CHECKING:
    from wphw.p4rt.fabric import AsyncFabric

LOG = logging.getLogger("wphw.p4rt")


def owns_table(info: TableInfo) -> bool:
    """The ownership rule: wphw owns the tables named ``wp_*`` and ``ipv4_lpm``, except tables
    whose entries the program fixes (``const entries``: the TNA program's ``wp_lb``)."""
    if info.is_const:
        return False
    last = info.name.rsplit(".", 1)[-1]
    return last.startswith("wp_") or last == P4.IPV4_LPM


def check_paths(switch: str, schema: Schema | None, entries: Iterable[TableEntry]) -> None:
    """A TNA pipeline spreads flows over at most ``TNA_MAX_PATHS`` paths: its ``wp_lb`` holds
    constant entries for that many (p4/tna/wp_lb.p4). A plan needing more is refused there."""
    if schema is None or not schema.has_table(P4.WP_LB):
        return
    for e in entries:
        if e.action.name == P4.START_CHAIN and e.action.param("paths") > P4.TNA_MAX_PATHS:
            raise PlanError(
                f"switch {switch}: start_chain with {e.action.param('paths')} paths, but its"
                f" pipeline's wp_lb spreads flows over at most {P4.TNA_MAX_PATHS}"
                f" ({describe(e)})"
            )


class PhaseFailed(Exception):
    def __init__(self, failures: list[UpdateFailure]) -> None:
        super().__init__(f"{len(failures)} updates failed")
        self.failures = failures


# The first Write of a phase carries _FIRST_BATCH updates; each next one twice as many, up to
# batch_size (for a small plan: a quarter of it, but at least _EARLY_BATCH).
_FIRST_BATCH = 32
_EARLY_BATCH = 128
# stream_upserts lets the event loop run after this many entries.
_YIELD_EVERY = 16


class SwitchRun:
    """One switch during one apply: installed state, desired state, writes, resync."""

    def __init__(self, fabric: AsyncFabric, client: SwitchClient, entries: Sequence[TableEntry]):
        self.fabric = fabric
        self.client = client
        self.entries = entries
        assert client.encoder is not None and client.schema is not None
        self.encoder: Encoder = client.encoder
        schema = client.schema
        self.owned = [t for t in schema.tables if owns_table(t)]
        self.fabric_owned_ids = frozenset(t.id for t in self.owned)
        self.edge_ids = frozenset(t.id for t in self.owned if t.short in EDGE_TABLES)
        self.default_tables = sorted(
            {self.encoder.table(e.table).id for e in entries if e.is_default}
        )
        self.installed: dict[bytes, EncodedEntry] = {}
        self.snapshot: dict[bytes, EncodedEntry] | None = None  # None: not read yet
        self.desired: dict[bytes, EncodedEntry] = {}
        self.failures: list[UpdateFailure] = []
        self.needs_resync = False
        self.resynced = False  # ops computed before a reconnect are stale
        self.counts = {"insert": 0, "modify": 0, "delete": 0}
        self.unchanged = 0
        self.log = client.log
        self._edge_by_name: dict[str, bool] = {}
        # a delta apply: only these entry keys are this run's business (None: the whole
        # switch); a Read (rollback, resync) keeps only them
        self.scope: frozenset[bytes] | None = None

    def assume_installed(self, went: Iterable[TableEntry]) -> None:
        """A delta apply: the switch holds ``went`` (and whatever else, which this run leaves
        alone); no Read. Scope: the keys of ``went`` and of the entries to write."""
        enc = self.encoder.encode_entry
        self.installed = {x.key: x for x in map(enc, went)}
        self.snapshot = dict(self.installed)
        self.scope = frozenset(self.installed) | {enc(e).key for e in self.entries}

    async def read_installed(self) -> None:
        entities = [p4r.Entity(table_entry=p4r.TableEntry(table_id=t.id)) for t in self.owned]
        for tid in self.default_tables:
            entities.append(
                p4r.Entity(table_entry=p4r.TableEntry(table_id=tid, is_default_action=True))
            )
        owned_ids = {t.id for t in self.owned}
        if self.client.pipeline_stale:  # our pipeline is not on it yet: apply starts empty
            self.installed = {}
            return
        got = await self.client.read(entities)
        enc = self.encoder.encoded_from_message
        installed = {}
        scope = self.scope
        for entity in got:
            te = entity.table_entry
            if te.table_id in owned_ids:
                x = enc(te)
                if scope is None or x.key in scope:
                    installed[x.key] = x
        self.installed = installed
        self.log.debug("read %d installed entries", len(installed))

    def encode_desired(self) -> None:
        """Encode the whole plan for this switch (validating it) into ``desired``."""
        self.desired = {}
        for e in self.entries:
            self._add_desired(e)

    def _add_desired(self, e: TableEntry) -> EncodedEntry | None:
        x = self.encoder.encode_entry(e)
        if x.table_id not in self.fabric_owned_ids:
            raise SchemaError(
                f"switch {self.client.name}: table {e.table!r} is not owned by wphw (owned:"
                f" {', '.join(sorted(t.short for t in self.owned))})"
            )
        prev = self.desired.get(x.key)
        if prev is not None:
            if not prev.same_value(x):
                raise PlanError(
                    f"switch {self.client.name}: two entries with the same key and different"
                    f" actions: {describe(self.encoder.decode_encoded(prev))} and {describe(e)}"
                )
            return None
        self.desired[x.key] = x
        return x

    # -- writing ----------------------------------------------------------------------------

    async def _submit(self, ops: list[Op], payload: bytes | None = None) -> None:
        """One Write RPC (``payload``: the ops' framed updates, if already built) — one per
        P4Runtime role when some of the ops' tables go through a role of their own
        (``SwitchClient.role_tables``). Records failures; updates ``installed`` for the updates
        applied."""
        role_tables = self.client.role_tables
        if role_tables:
            groups: dict[str, list[Op]] = {}
            for op in ops:
                groups.setdefault(role_tables.get(op.enc.table_id, ""), []).append(op)
            if list(groups) != [""]:
                for role, group in groups.items():
                    await self._submit_as(group, None, role)
                return
        await self._submit_as(ops, payload, "")

    async def _submit_as(self, ops: list[Op], payload: bytes | None, role: str) -> None:
        if self.needs_resync:
            return
        batch_no = self.client.write_rpcs + 1
        if payload is None:
            payload = b"".join([update_bytes(op.kind, op.enc) for op in ops])
        try:
            await self.client.write(payload, role)
        except Disconnected as exc:
            self.log.warning("connection lost during Write %d: %s", batch_no, exc)
            self.needs_resync = True
            return
        except RpcFailure as exc:
            details = exc.details
            if details is None or len(details) != len(ops):
                details = [(-1, exc.message)] * len(ops)
            for i, (op, (code, message)) in enumerate(zip(ops, details, strict=True)):
                if code == rpc_code.OK:
                    self._applied((op,))
                else:
                    self.failures.append(
                        UpdateFailure(
                            switch=self.client.name,
                            batch=batch_no,
                            index=i,
                            code=exc.code if code == -1 else code_name(code),
                            message=message,
                            kind=op.kind,
                            entry=self.encoder.decode_encoded(op.enc),
                        )
                    )
            self.log.error(
                "Write %d: %d of %d updates failed",
                batch_no,
                sum(1 for c, _ in details if c != rpc_code.OK),
                len(ops),
            )
            return
        self._applied(ops)
        self.fabric._progress_add(len(ops))

    def _applied(self, ops: Iterable[Op]) -> None:
        """Record updates the switch accepted in ``installed`` and the counts."""
        counts, installed = self.counts, self.installed
        for op in ops:
            if op.kind == "delete":
                installed.pop(op.enc.key, None)
            else:
                installed[op.enc.key] = op.enc
            counts[op.kind] += 1

    async def _run_ops(self, ops: Sequence[Op]) -> None:
        size = self.fabric.batch_size
        window = self.fabric.window
        pending: set[asyncio.Task[None]] = set()
        for i in range(0, len(ops), size):
            if len(pending) >= window:
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            pending.add(asyncio.ensure_future(self._submit(list(ops[i : i + size]))))
        if pending:
            await asyncio.gather(*pending)

    def _is_edge(self, table: str) -> bool:
        edge = self._edge_by_name.get(table)
        if edge is None:
            edge = self.encoder.table(table).id in self.edge_ids
            self._edge_by_name[table] = edge
        return edge

    async def read_snapshot(self) -> None:
        """Read what the switch holds (retrying over reconnects) and keep it as the state a
        rollback returns to."""
        await self.fabric._retrying(self.client, self.read_installed)
        self.snapshot = dict(self.installed)

    async def stream_upserts(self, phase: int, read: asyncio.Future[None] | None = None) -> None:
        """Phase 0 (path tables) or 1 (edge tables): encode that part of the plan and write
        its inserts/modifies while encoding goes on, so the client overlaps the switch.

        ``read`` (phase 0): the Read of what is installed, still in flight; entries are
        encoded (not yet diffed) while it runs, and the first Write goes out as soon as it is
        back. The switch is the bound of an install (bench/install_rate.py), so what matters
        is that it starts early and never waits: the first Write is small (_FIRST_BATCH) and
        the next ones double up to batch_size; a small plan is cut into batches of about a
        quarter of it, so the last Write, which nothing overlaps, is short. The loop yields
        every _YIELD_EVERY entries: a gRPC aio call advances (its Read response, the next
        Write) only when the loop runs."""
        if phase == 0:
            self.desired = {}
        want_edge = phase == 1
        size = self.fabric.batch_size
        window = self.fabric.window
        desired = self.desired
        owned = self.fabric_owned_ids
        encode = self.encoder.encode_entry
        edge_by_name = self._edge_by_name
        encoded: list[EncodedEntry] = []  # encoded, not yet diffed (the Read may still run)
        batch: list[Op] = []
        parts: list[bytes] = []
        pending: set[asyncio.Task[None]] = set()
        size = min(size, max(_EARLY_BATCH, len(self.entries) // 4))
        threshold = min(size, _FIRST_BATCH)
        try:
            for e in self.entries:
                edge = edge_by_name.get(e.table)
                if edge is None:
                    edge = self._is_edge(e.table)
                if edge != want_edge:
                    continue
                x = encode(e)
                key = x.key
                if (key in desired or x.table_id not in owned) and self._add_desired(e) is None:
                    continue  # a duplicate (a conflicting one or a foreign table raises)
                desired[key] = x
                encoded.append(x)
                if len(encoded) < _YIELD_EVERY:
                    continue
                # Every _YIELD_EVERY entries: diff them (once the Read is back), send a batch
                # when it is full, and let the loop run.
                if read is not None and (read.done() or len(encoded) >= size):
                    await read  # raises what the Read raised
                    read = None
                if read is None:
                    self._diff_into(phase, encoded, batch, parts)
                    encoded = []
                    while len(batch) >= threshold:
                        if len(pending) >= window:
                            _, pending = await asyncio.wait(
                                pending, return_when=asyncio.FIRST_COMPLETED
                            )
                        ops, batch = batch[:threshold], batch[threshold:]
                        payload, parts = b"".join(parts[:threshold]), parts[threshold:]
                        pending.add(asyncio.ensure_future(self._submit(ops, payload)))
                        threshold = min(size, threshold * 2)
                await asyncio.sleep(0)
            if read is not None:
                await read
                read = None
            self._diff_into(phase, encoded, batch, parts)
            for i in range(0, len(batch), size):
                if len(pending) >= window:
                    _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                payload = b"".join(parts[i : i + size])
                pending.add(asyncio.ensure_future(self._submit(batch[i : i + size], payload)))
        finally:
            if read is not None:
                read.cancel()
            if pending:
                await asyncio.gather(*pending)
        await self._finish_phase(phase)

    def _diff_into(
        self, phase: int, encoded: list[EncodedEntry], batch: list[Op], parts: list[bytes]
    ) -> None:
        """Append the updates ``encoded`` needs to ``batch`` and their framing to ``parts``
        (a default entry is always modified, never inserted; unchanged entries need none)."""
        installed = self.installed
        for x in encoded:
            old = installed.get(x.key)
            if old is None:
                kind: UpdateKind = "modify" if x.is_default else "insert"
            elif old.action != x.action or old.meter != x.meter:
                kind = "modify"
            else:
                continue
            batch.append(Op(phase, kind, x, old))
            parts.append(update_bytes(kind, x))

    async def run_phase(self, phase: int, ops: Sequence[Op] | None = None) -> None:
        if ops is None:
            ops = compute_ops(self.desired, self.installed, self.edge_ids)[phase]
        await self._run_ops(ops)
        await self._finish_phase(phase)

    async def _finish_phase(self, phase: int) -> None:
        attempts = 0
        if self.needs_resync:
            # Writes that raced with the connection loss may have been refused because the
            # restarted switch had no primary or no pipeline yet; the resync redoes them.
            self.failures = [
                f
                for f in self.failures
                if f.code not in ("PERMISSION_DENIED", "FAILED_PRECONDITION")
            ]
        while self.needs_resync:
            attempts += 1
            if attempts > self.client.retries + 1:
                raise self.client._error("connection keeps failing during apply")
            await self.client.reconnect()
            if self.client.encoder is not self.encoder:
                raise SchemaError(f"switch {self.client.name}: pipeline changed during apply")
            self.needs_resync = False
            self.resynced = True
            await self.read_installed()
            self.log.info("reconnected; redoing phases 0..%d from what the switch has", phase)
            phases = compute_ops(self.desired, self.installed, self.edge_ids)
            for p in range(phase + 1):
                await self._run_ops(phases[p])
                if self.needs_resync:
                    break
        if self.failures:
            raise PhaseFailed(self.failures)


# -- the fabric ------------------------------------------------------------------------------


def sort_key(e: TableEntry) -> tuple[Any, ...]:
    return (e.table, e.is_default, -e.priority, repr(e.match))


NO_ACTION = Action(name="")
