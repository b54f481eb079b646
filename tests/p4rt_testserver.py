"""TEST DOUBLE: an in-process P4Runtime gRPC server that answers like BMv2's (PI) server.

This is not a switch: it forwards no packets. It exists so that wphw.p4rt can be tested over
real gRPC without simple_switch_grpc. What it enforces, following PI's ``device_mgr.cpp``:

* pipeline: Write/Read before SetForwardingPipelineConfig → FAILED_PRECONDITION; the cookie is
  stored and returned by GetForwardingPipelineConfig.
* arbitration: the stream with the highest election id is primary (OK), the others are told
  ALREADY_EXISTS with the primary's id; a higher id takes over and the old primary is notified;
  Write/SetForwardingPipelineConfig from a non-primary → PERMISSION_DENIED "Not primary". As
  PI, one primary per device whatever the role; ``per_role = True`` gives each role name its
  own election (the P4Runtime spec's roles, which PI does not implement).
* IDs and values: unknown table/field/action/param id → INVALID_ARGUMENT "Invalid P4 id"
  (BMv2 says INVALID_ARGUMENT, not NOT_FOUND, for ids missing from the P4Info); non-canonical
  or too-wide bytes, ternary value outside its mask, missing exact field, wrong priority →
  INVALID_ARGUMENT; duplicate INSERT → ALREADY_EXISTS; MODIFY/DELETE of a missing entry →
  NOT_FOUND; a full table → UNKNOWN "Error when adding match entry to target" (as BMv2).
* batches: updates are applied one by one (CONTINUE_ON_ERROR; atomic modes → UNIMPLEMENTED);
  if any fails the RPC status is UNKNOWN and ``grpc-status-details-bin`` carries a
  google.rpc.Status with one p4.v1.Error per update (OK for those that were applied).

Test hooks: ``inject`` (fail chosen updates), ``read_delay`` / ``read_error`` (a slow or
failing Read), ``write_delay`` (a slow Write), ``crash_after_writes`` (drop the connection and
lose all state, as a restarted simple_switch_grpc does; with ``lose_state=False`` keep it: a
dropped connection; with ``down_for=None`` stay down until ``come_back``), per-entry direct counters, and
counts of Write RPCs and updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from finsy.proto import p4i, p4r, p4r_grpc, rpc_code, rpc_status

Key = tuple[int, bytes, int]  # table id, match (sorted, serialized), priority

OK = rpc_code.OK


class _UpdateError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class _Stream:
    election_id: int = -1
    role: str = ""
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)


@dataclass
class DeviceState:
    p4info: Any = None  # p4i.P4Info
    cookie: int | None = None
    device_config: bytes = b""
    entries: dict[Key, Any] = field(default_factory=dict)  # -> p4r.TableEntry
    defaults: dict[int, Any] = field(default_factory=dict)  # table id -> p4r.TableEntry
    counters: dict[Key, tuple[int, int]] = field(default_factory=dict)  # packets, bytes
    sizes: dict[int, int] = field(default_factory=dict)  # table id -> entries
    tables: dict[int, Any] = field(default_factory=dict)  # table id -> p4i.Table


def _key(te: Any) -> Key:
    match = b"".join(m.SerializeToString() for m in sorted(te.match, key=lambda m: m.field_id))
    return (te.table_id, match, te.priority)


class P4RuntimeTestServer(p4r_grpc.P4RuntimeServicer):  # type: ignore[misc]
    """TEST DOUBLE of a P4Runtime device (see module docstring). Runs on its own thread."""

    def __init__(
        self,
        port: int | None = None,
        device_id: int = 1,
        tls: tuple[bytes, bytes] | None = None,
        *,
        serve: bool = True,
    ) -> None:
        """``tls``: (PEM private key, PEM certificate) to serve over TLS. ``serve=False``: a
        device without a server, thread or loop of its own, whose RPC methods another
        servicer calls (tests/p4rt_multiserver.py: many devices behind one server)."""
        self.tls = tls
        self.port = port or (free_port() if serve else 0)
        self.address = f"127.0.0.1:{self.port}"
        self.device_id = device_id
        self.state = DeviceState()
        self.write_rpcs = 0
        self.read_rpcs = 0
        self.updates_seen = 0
        # Every Write RPC that got past the checks: (time.monotonic(), [(update type, table id)])
        self.write_log: list[tuple[float, list[tuple[int, int]]]] = []
        self.set_pipeline_rpcs = 0
        # Return (code, message) to fail an update before it is applied, or None.
        self.inject: Callable[[Any], tuple[int, str] | None] | None = None
        # Answer Reads only after this many seconds / fail the next Read with (code, message).
        self.read_delay = 0.0
        # Answer Write RPCs only after this many seconds (a slow switch mid-apply).
        self.write_delay = 0.0
        self.read_error: tuple[grpc.StatusCode, str] | None = None
        # Crash (drop every connection, lose all state, refuse connections for `down_for` s;
        # None: until come_back()) when the Write RPC with this 1-based number arrives.
        # lose_state=False: the device keeps its pipeline and entries (a dropped connection,
        # a restarted gRPC server in front of the same device).
        self.crash_after_writes: int | None = None
        self.down_for: float | None = 0.3
        self.lose_state = True
        # per_role=False: one primary per device whatever the role, and Write checks only the
        # election id (what PI does: tests/test_p4rt_roles_bmv2.py). per_role=True: the
        # P4Runtime spec's roles — each role name has its own election and primary, the role
        # is echoed in the arbitration response, and a Write must come from its role's primary.
        self.per_role = False
        # every Write RPC that got past the checks: (role, [table id of each update])
        self.role_log: list[tuple[str, list[int]]] = []
        self._streams: list[_Stream] = []
        self._primaries: dict[str, _Stream] = {}
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Future[None]] = set()
        self._server: grpc.aio.Server | None = None
        if not serve:
            return
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> P4RuntimeTestServer:
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        for task in list(self._tasks):
            self._loop.call_soon_threadsafe(task.cancel)
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def crash(self, down_for: float | None = 0.0) -> None:
        """Drop all connections and lose all state now (like killing simple_switch_grpc);
        ``down_for=None``: refuse connections until :meth:`come_back`."""
        self._call(self._crash(down_for))

    def come_back(self) -> None:
        """Listen again after a crash with ``down_for=None``."""
        self._call(self._start())

    def __enter__(self) -> P4RuntimeTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _start(self) -> None:
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", 256 << 20),
                ("grpc.max_send_message_length", 256 << 20),
                ("grpc.so_reuseport", 0),
            ]
        )
        p4r_grpc.add_P4RuntimeServicer_to_server(self, server)
        if self.tls is None:
            server.add_insecure_port(self.address)
        else:
            server.add_secure_port(self.address, grpc.ssl_server_credentials([self.tls]))
        await server.start()
        self._server = server

    async def _stop(self) -> None:
        if self._server is not None:
            for s in self._streams:
                s.queue.put_nowait(None)
            await self._server.stop(None)
            self._server = None
        self._streams.clear()
        self._primaries.clear()

    async def _crash(self, down_for: float | None) -> None:
        await self._stop()
        if self.lose_state:
            self.state = DeviceState()
        if down_for is None:
            return
        if down_for:
            await asyncio.sleep(down_for)
        await self._start()

    # -- helpers for tests ------------------------------------------------------------------

    def entries(self) -> list[Any]:
        """Every installed entry (p4r.TableEntry), sorted by key."""
        with self._lock:
            return [self.state.entries[k] for k in sorted(self.state.entries)]

    def entry_tables(self) -> set[str]:
        """Full names of the tables that hold at least one installed entry."""
        with self._lock:
            names = {t.preamble.id: t.preamble.name for t in self.state.p4info.tables}
            return {names[e.table_id] for e in self.state.entries.values()}

    def set_counter(self, te: Any, packets: int, octets: int) -> None:
        with self._lock:
            self.state.counters[_key(te)] = (packets, octets)

    # -- arbitration ------------------------------------------------------------------------

    def _role_key(self, role: str) -> str:
        return role if self.per_role else ""

    def _elect(self, key: str) -> None:
        best = max(
            (s for s in self._streams if s.election_id >= 0 and self._role_key(s.role) == key),
            key=lambda s: s.election_id,
            default=None,
        )
        if best is self._primaries.get(key):
            return
        if best is None:
            self._primaries.pop(key, None)
        else:
            self._primaries[key] = best
        for s in self._streams:
            if s.election_id >= 0 and self._role_key(s.role) == key:
                self._notify(s)

    def _notify(self, s: _Stream) -> None:
        msg = p4r.StreamMessageResponse()
        arb = msg.arbitration
        arb.device_id = self.device_id
        if s.role and self.per_role:
            arb.role.name = s.role
        primary = self._primaries.get(self._role_key(s.role))
        if primary is not None:
            eid = primary.election_id
            arb.election_id.high, arb.election_id.low = eid >> 64, eid & ((1 << 64) - 1)
        arb.status.code = OK if s is primary else rpc_code.ALREADY_EXISTS
        arb.status.message = "primary" if s is primary else "backup"
        s.queue.put_nowait(msg)

    async def StreamChannel(
        self, request_iterator: AsyncIterator[Any], context: Any
    ) -> AsyncIterator[Any]:
        stream = _Stream()
        self._streams.append(stream)

        async def reader() -> None:
            try:
                async for req in request_iterator:
                    if req.WhichOneof("update") != "arbitration":
                        continue
                    arb = req.arbitration
                    eid = (arb.election_id.high << 64) | arb.election_id.low
                    key = self._role_key(arb.role.name)
                    if arb.device_id != self.device_id:
                        stream.queue.put_nowait(
                            _UpdateError(grpc.StatusCode.NOT_FOUND.value[0], "no such device")
                        )
                        return
                    if any(
                        s is not stream and s.election_id == eid and self._role_key(s.role) == key
                        for s in self._streams
                    ):
                        stream.queue.put_nowait(
                            _UpdateError(
                                grpc.StatusCode.INVALID_ARGUMENT.value[0],
                                "Election id already exists",
                            )
                        )
                        return
                    stream.election_id = eid
                    stream.role = arb.role.name
                    before = self._primaries.get(key)
                    self._elect(key)
                    if before is self._primaries.get(key):
                        self._notify(stream)
            except (asyncio.CancelledError, grpc.aio.AioRpcError):
                pass
            finally:
                stream.queue.put_nowait(None)

        task = asyncio.ensure_future(reader())
        try:
            while True:
                item = await stream.queue.get()
                if item is None:
                    break
                if isinstance(item, _UpdateError):
                    await context.abort(grpc.StatusCode(_grpc_code(item.code)), item.message)
                yield item
        finally:
            task.cancel()
            if stream in self._streams:
                self._streams.remove(stream)
            key = self._role_key(stream.role)
            if self._primaries.get(key) is stream:
                del self._primaries[key]
                self._elect(key)

    def _is_primary(self, election: Any, role: str) -> bool:
        eid = (election.high << 64) | election.low
        p = self._primaries.get(self._role_key(role))
        return p is not None and p.election_id == eid

    # -- pipeline ---------------------------------------------------------------------------

    async def Capabilities(self, request: Any, context: Any) -> Any:
        return p4r.CapabilitiesResponse(p4runtime_api_version="1.3.0")

    async def SetForwardingPipelineConfig(self, request: Any, context: Any) -> Any:
        self.set_pipeline_rpcs += 1
        if request.device_id != self.device_id:
            await context.abort(grpc.StatusCode.NOT_FOUND, "Invalid device id")
        if not self._is_primary(request.election_id, request.role):
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "Not primary")
        if request.action != p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "only VERIFY_AND_COMMIT here")
        cfg = request.config
        if not cfg.p4info.tables:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "P4Info has no tables")
        with self._lock:
            self.state = DeviceState(
                p4info=p4i.P4Info.FromString(cfg.p4info.SerializeToString()),
                cookie=cfg.cookie.cookie if cfg.HasField("cookie") else None,
                device_config=cfg.p4_device_config,
            )
        return p4r.SetForwardingPipelineConfigResponse()

    async def GetForwardingPipelineConfig(self, request: Any, context: Any) -> Any:
        resp = p4r.GetForwardingPipelineConfigResponse()
        st = self.state
        if st.p4info is None:  # as PI's server does
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "No forwarding pipeline config set for this device",
            )
        rt = p4r.GetForwardingPipelineConfigRequest
        if request.response_type in (rt.ALL, rt.P4INFO_AND_COOKIE):
            resp.config.p4info.CopyFrom(st.p4info)
        if request.response_type in (rt.ALL, rt.DEVICE_CONFIG_AND_COOKIE):
            resp.config.p4_device_config = st.device_config
        if st.cookie is not None:
            resp.config.cookie.cookie = st.cookie
        return resp

    # -- write ------------------------------------------------------------------------------

    async def Write(self, request: Any, context: Any) -> Any:
        self.write_rpcs += 1
        if self.write_delay:
            await asyncio.sleep(self.write_delay)
        if self.crash_after_writes is not None and self.write_rpcs >= self.crash_after_writes:
            self.crash_after_writes = None
            task = asyncio.ensure_future(self._crash(self.down_for))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            await asyncio.sleep(0.05)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "switch went away (test crash)")
        if request.device_id != self.device_id:
            await context.abort(grpc.StatusCode.NOT_FOUND, "Invalid device id")
        if self.state.p4info is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "No forwarding pipeline config set for this device",
            )
        if not self._is_primary(request.election_id, request.role):
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "Not primary")
        if request.atomicity != p4r.WriteRequest.CONTINUE_ON_ERROR:
            await context.abort(
                grpc.StatusCode.UNIMPLEMENTED,
                "Support for atomic write modes has not been implemented yet",
            )
        errors: list[tuple[int, str]] = []
        self.write_log.append(
            (time.monotonic(), [(u.type, u.entity.table_entry.table_id) for u in request.updates])
        )
        self.role_log.append(
            (request.role, [u.entity.table_entry.table_id for u in request.updates])
        )
        with self._lock:
            for update in request.updates:
                self.updates_seen += 1
                try:
                    if self.inject is not None:
                        injected = self.inject(update)
                        if injected is not None:
                            raise _UpdateError(*injected)
                    self._apply(update)
                    errors.append((OK, ""))
                except _UpdateError as exc:
                    errors.append((exc.code, exc.message))
        if any(code != OK for code, _ in errors):
            status = rpc_status.Status(code=rpc_code.UNKNOWN, message="Write failure")
            for code, message in errors:
                err = p4r.Error(canonical_code=code, message=message)
                if code != OK:
                    err.space = "ALL-sswitch-p4org"
                status.details.add().Pack(err)
            await context.abort(
                grpc.StatusCode.UNKNOWN,
                "Write failure",
                trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),),
            )
        return p4r.WriteResponse()

    def _apply(self, update: Any) -> None:
        which = update.entity.WhichOneof("entity")
        if which != "table_entry":
            raise _UpdateError(rpc_code.UNIMPLEMENTED, f"{which} writes not supported here")
        te = update.entity.table_entry
        table = self._table(te.table_id)
        if table.is_const_table:  # P4Runtime spec: const tables refuse every write
            raise _UpdateError(rpc_code.PERMISSION_DENIED, "Cannot write to a const table")
        if te.is_default_action:
            if update.type != p4r.Update.MODIFY or te.match:
                raise _UpdateError(
                    rpc_code.INVALID_ARGUMENT, "default entry: only MODIFY, with no match"
                )
            self._check_action(table, te)
            self.state.defaults[te.table_id] = te
            return
        self._check_match(table, te)
        key = _key(te)
        entries = self.state.entries
        if update.type == p4r.Update.INSERT:
            self._check_action(table, te)
            if key in entries:
                raise _UpdateError(rpc_code.ALREADY_EXISTS, "Match entry exists, use MODIFY")
            sizes = self.state.sizes
            if table.size and sizes.get(te.table_id, 0) >= table.size:
                # What BMv2 (PI) answers for a full table.
                raise _UpdateError(rpc_code.UNKNOWN, "Error when adding match entry to target")
            sizes[te.table_id] = sizes.get(te.table_id, 0) + 1
            stored = p4r.TableEntry()
            stored.CopyFrom(te)
            entries[key] = stored
        elif update.type == p4r.Update.MODIFY:
            self._check_action(table, te)
            if key not in entries:
                raise _UpdateError(rpc_code.NOT_FOUND, "Cannot find match entry")
            stored = p4r.TableEntry()
            stored.CopyFrom(te)
            entries[key] = stored
        elif update.type == p4r.Update.DELETE:
            if key not in entries:
                raise _UpdateError(rpc_code.NOT_FOUND, "Cannot find match entry")
            del entries[key]
            self.state.sizes[te.table_id] -= 1
            self.state.counters.pop(key, None)
        else:
            raise _UpdateError(rpc_code.INVALID_ARGUMENT, "Update type is not set")

    def _table(self, table_id: int) -> Any:
        if not self.state.tables:
            self.state.tables = {t.preamble.id: t for t in self.state.p4info.tables}
        t = self.state.tables.get(table_id)
        if t is None:
            raise _UpdateError(rpc_code.INVALID_ARGUMENT, "Invalid P4 id")
        return t

    @staticmethod
    def _check_bytes(data: bytes, width: int, what: str) -> int:
        if not data:
            raise _UpdateError(rpc_code.INVALID_ARGUMENT, f"{what}: empty bytestring")
        if len(data) > 1 and data[0] == 0:
            raise _UpdateError(rpc_code.INVALID_ARGUMENT, f"{what}: bytestring not canonical")
        value = int.from_bytes(data, "big")
        if value >> width:
            raise _UpdateError(
                rpc_code.INVALID_ARGUMENT,
                f"{what}: bytestring provided does not fit within {width} bits",
            )
        return value

    def _check_match(self, table: Any, te: Any) -> None:
        fields = {f.id: f for f in table.match_fields}
        seen = set()
        needs_priority = False
        for f in table.match_fields:
            if f.match_type in (
                p4i.MatchField.TERNARY,
                p4i.MatchField.RANGE,
                p4i.MatchField.OPTIONAL,
            ):
                needs_priority = True
        for m in te.match:
            f = fields.get(m.field_id)
            if f is None:
                raise _UpdateError(rpc_code.INVALID_ARGUMENT, "Invalid P4 id")
            if m.field_id in seen:
                raise _UpdateError(rpc_code.INVALID_ARGUMENT, "Duplicate field id")
            seen.add(m.field_id)
            which = m.WhichOneof("field_match_type")
            expected = {
                p4i.MatchField.EXACT: "exact",
                p4i.MatchField.TERNARY: "ternary",
                p4i.MatchField.LPM: "lpm",
                p4i.MatchField.RANGE: "range",
                p4i.MatchField.OPTIONAL: "optional",
            }[f.match_type]
            if which != expected:
                raise _UpdateError(rpc_code.INVALID_ARGUMENT, f"{f.name}: expected {expected}")
            w = f.bitwidth
            if which == "exact":
                self._check_bytes(m.exact.value, w, f.name)
            elif which == "ternary":
                v = self._check_bytes(m.ternary.value, w, f.name)
                mask = self._check_bytes(m.ternary.mask, w, f.name)
                if v & ~mask:
                    raise _UpdateError(
                        rpc_code.INVALID_ARGUMENT, f"{f.name}: value has bits outside mask"
                    )
            elif which == "lpm":
                v = self._check_bytes(m.lpm.value, w, f.name)
                plen = m.lpm.prefix_len
                if not 0 < plen <= w or v & ((1 << (w - plen)) - 1):
                    raise _UpdateError(rpc_code.INVALID_ARGUMENT, f"{f.name}: bad prefix")
            elif which == "range":
                lo = self._check_bytes(m.range.low, w, f.name)
                hi = self._check_bytes(m.range.high, w, f.name)
                if lo > hi:
                    raise _UpdateError(rpc_code.INVALID_ARGUMENT, f"{f.name}: low > high")
            else:
                self._check_bytes(m.optional.value, w, f.name)
        for f in table.match_fields:
            if f.match_type == p4i.MatchField.EXACT and f.id not in seen:
                raise _UpdateError(rpc_code.INVALID_ARGUMENT, f"missing exact field {f.name}")
        if needs_priority and te.priority <= 0:
            raise _UpdateError(rpc_code.INVALID_ARGUMENT, "priority must be > 0")
        if not needs_priority and te.priority:
            raise _UpdateError(rpc_code.INVALID_ARGUMENT, "priority must be 0")

    def _check_action(self, table: Any, te: Any) -> None:
        if te.action.WhichOneof("type") != "action":
            raise _UpdateError(rpc_code.INVALID_ARGUMENT, "direct action required")
        a = te.action.action
        if a.action_id not in {r.id for r in table.action_refs}:
            raise _UpdateError(rpc_code.INVALID_ARGUMENT, "Invalid P4 id")
        info = next(x for x in self.state.p4info.actions if x.preamble.id == a.action_id)
        params = {p.id: p for p in info.params}
        seen = set()
        for p in a.params:
            pi = params.get(p.param_id)
            if pi is None:
                raise _UpdateError(rpc_code.INVALID_ARGUMENT, "Invalid P4 id")
            seen.add(p.param_id)
            self._check_bytes(p.value, pi.bitwidth, pi.name)
        if seen != set(params):
            raise _UpdateError(rpc_code.INVALID_ARGUMENT, "missing action parameters")

    # -- read -------------------------------------------------------------------------------

    async def Read(self, request: Any, context: Any) -> AsyncIterator[Any]:
        self.read_rpcs += 1
        if self.read_delay:
            await asyncio.sleep(self.read_delay)
        if self.read_error is not None:
            error, self.read_error = self.read_error, None
            await context.abort(*error)
        if self.state.p4info is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "No forwarding pipeline config set for this device",
            )
        resp = p4r.ReadResponse()
        with self._lock:
            for entity in request.entities:
                which = entity.WhichOneof("entity")
                if which == "table_entry":
                    want = entity.table_entry
                    if want.is_default_action:
                        d = self.state.defaults.get(want.table_id)
                        if d is not None:
                            resp.entities.add().table_entry.CopyFrom(d)
                        continue
                    for key, te in self.state.entries.items():
                        if want.table_id in (0, key[0]):
                            resp.entities.add().table_entry.CopyFrom(te)
                elif which == "direct_counter_entry":
                    tid = entity.direct_counter_entry.table_entry.table_id
                    for key, te in self.state.entries.items():
                        if tid in (0, key[0]):
                            out = resp.entities.add().direct_counter_entry
                            # Like BMv2: the entry's key only (no action).
                            key_only = out.table_entry
                            key_only.table_id = te.table_id
                            key_only.match.extend(te.match)
                            key_only.priority = te.priority
                            pk, by = self.state.counters.get(key, (0, 0))
                            out.data.packet_count, out.data.byte_count = pk, by
                else:
                    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{which} reads")
        # Like PI, answer in chunks.
        chunk = 2000
        for i in range(0, max(len(resp.entities), 1), chunk):
            part = p4r.ReadResponse()
            part.entities.extend(resp.entities[i : i + chunk])
            yield part


def _grpc_code(code: int) -> Any:
    for c in grpc.StatusCode:
        if c.value[0] == code:
            return c.value
    return grpc.StatusCode.UNKNOWN.value


@contextlib.contextmanager
def running(**kwargs: Any) -> Any:
    server = P4RuntimeTestServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
