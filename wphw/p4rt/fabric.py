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
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import grpc
from finsy.proto import p4i, p4r, rpc_code, rpc_status

from wphw._gc import gc_paused
from wphw.entries import Action, TableEntry
from wphw.errors import PlanError, SchemaError, SwitchConnectionError, WphwError, WriteError
from wphw.netfpga.bus import RegisterBus
from wphw.netfpga.install import FpgaInstall, WaypointInstall, buses_from_topology
from wphw.p4rt.diff import (
    EDGE_TABLES,
    PATH_DELETE,
    PHASES,
    Diff,
    Op,
    SwitchDiff,
    compute_deletes,
    compute_ops,
    make_switch_diff,
)
from wphw.p4rt.encode import EncodedEntry, Encoder, UpdateKind, describe, update_bytes
from wphw.p4rt.schema import Schema, TableInfo

LOG = logging.getLogger("wphw.p4rt")

_T = TypeVar("_T")

Progress = Callable[[int, int], None]
"""``progress(done, total)``: updates written so far, and the current estimate of the total."""

_GRPC_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_receive_message_length", 512 << 20),
    ("grpc.max_send_message_length", 512 << 20),
    # BMv2 reports one p4.v1.Error per update in the trailing metadata: a failed batch of
    # 1000 updates is ~70 KB, past gRPC's default 8/16 KB metadata limits.
    ("grpc.max_metadata_size", 64 << 20),
    ("grpc.absolute_max_metadata_size", 64 << 20),
]


class _SwitchLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = self.extra or {}
        kwargs.setdefault("extra", {}).update(extra)
        return f"[{extra.get('switch')}] {msg}", kwargs


def owns_table(info: TableInfo) -> bool:
    """The ownership rule: wphw owns the tables named ``wp_*`` and ``ipv4_lpm``."""
    last = info.name.rsplit(".", 1)[-1]
    return last.startswith("wp_") or last == "ipv4_lpm"


# -- values -------------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """TLS for the gRPC channel (PEM files). Without a client key/cert it is server-auth only."""

    root_certificates: Path | None = None
    private_key: Path | None = None
    certificate_chain: Path | None = None
    target_name: str | None = None  # override the name checked against the server certificate

    def channel_credentials(self) -> grpc.ChannelCredentials:
        def read(p: Path | None) -> bytes | None:
            return p.read_bytes() if p is not None else None

        return grpc.ssl_channel_credentials(
            root_certificates=read(self.root_certificates),
            private_key=read(self.private_key),
            certificate_chain=read(self.certificate_chain),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Pipeline:
    """A compiled program to push: P4Info and the target's device config (BMv2 JSON)."""

    p4info: Any  # p4.config.v1.P4Info
    device_config: bytes
    cookie: int
    schema: Schema = field(compare=False, repr=False)

    @staticmethod
    def load(p4info: str | Path, device_config: str | Path | None = None) -> Pipeline:
        schema = Schema.load(p4info)
        config = Path(device_config).read_bytes() if device_config is not None else b""
        return Pipeline.of(schema, config)

    @staticmethod
    def of(schema: Schema, device_config: bytes = b"") -> Pipeline:
        digest = hashlib.sha256(schema.fingerprint() + device_config).digest()
        return Pipeline(
            p4info=schema.p4info,
            device_config=device_config,
            cookie=int.from_bytes(digest[:8], "big"),
            schema=schema,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateFailure:
    """One failed update of a Write RPC, as the switch reported it."""

    switch: str
    batch: int  # the number of the Write RPC in this apply (1-based)
    index: int  # the update's index in that RPC
    code: str  # gRPC canonical code name, e.g. "ALREADY_EXISTS"
    message: str
    kind: str  # insert / modify / delete
    entry: TableEntry

    def __str__(self) -> str:
        return (
            f"{self.switch} batch {self.batch} update {self.index}: {self.code}"
            f" {self.message!r} — {self.kind} {describe(self.entry)}"
        )


class P4RuntimeWriteError(WriteError):
    """Updates failed. ``failures`` lists each; ``rolled_back`` says whether every switch is
    back to what it had before ``apply`` (``rollback_failures`` lists what failed if not)."""

    def __init__(
        self,
        message: str,
        failures: Sequence[UpdateFailure],
        *,
        rolled_back: bool,
        rollback_failures: Sequence[UpdateFailure] = (),
    ) -> None:
        shown = 20
        lines = [message, *(f"  - {f}" for f in failures[:shown])]
        if len(failures) > shown:
            lines.append(f"  ... and {len(failures) - shown} more (see .failures)")
        if rolled_back:
            lines.append("every switch was rolled back to what it had before apply")
        else:
            lines.append("ROLLBACK FAILED; the switches may hold a mix of old and new entries:")
            lines.extend(f"  - {f}" for f in rollback_failures[:shown])
        super().__init__("\n".join(lines))
        self.failures = tuple(failures)
        self.rolled_back = rolled_back
        self.rollback_failures = tuple(rollback_failures)


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchResult:
    switch: str
    inserted: int
    modified: int
    deleted: int
    unchanged: int
    write_rpcs: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    switches: tuple[SwitchResult, ...]
    seconds: float
    diff: Diff | None = None  # only for dry runs (decoding every change costs time)
    # FPGA waypoints configured through their register buses (wphw/netfpga/install.py), and
    # the waypoints whose register writes were not applied (no ``regs`` in the topology).
    fpga: tuple[WaypointInstall, ...] = ()
    fpga_skipped: tuple[str, ...] = ()

    @property
    def written(self) -> int:
        return sum(s.inserted + s.modified + s.deleted for s in self.switches)

    def __str__(self) -> str:
        lines = [
            f"{s.switch}: +{s.inserted} ~{s.modified} -{s.deleted} ({s.unchanged} unchanged,"
            f" {s.write_rpcs} Write RPCs)"
            for s in self.switches
        ]
        for f in self.fpga:
            lines.append(
                f"{f.waypoint} (FPGA): blocks written {', '.join(f.blocks_written) or 'none'},"
                f" dispatch rows +{len(f.rows_added) or len(f.planned_rows)} -{len(f.rows_stale)} ({f.rows_kept} kept),"
                f" {f.writes} register writes"
            )
        if self.fpga_skipped:
            lines.append(
                "register writes NOT applied (no 'regs' in the topology): "
                + ", ".join(self.fpga_skipped)
            )
        lines.append(f"{self.written} updates in {self.seconds:.3f} s")
        return "\n".join(lines)


# -- one switch connection ---------------------------------------------------------------------


class _Disconnected(Exception):
    pass


class _RpcFailure(Exception):
    def __init__(self, code: str, message: str, details: list[tuple[int, str]] | None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


def _identity(data: bytes) -> bytes:
    return data


def _code_name(code: int) -> str:
    for c in grpc.StatusCode:
        if c.value[0] == code:
            return str(c.name)
    return f"CODE_{code}"


def _status_details(exc: grpc.aio.AioRpcError) -> list[tuple[int, str]] | None:
    for key, value in exc.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = rpc_status.Status.FromString(value)
            out = []
            for any_msg in status.details:
                err = p4r.Error()
                if not any_msg.Unpack(err):
                    return None
                out.append((err.canonical_code, err.message))
            return out
    return None


# A server that goes away mid-RPC (GOAWAY, e.g. a restarting simple_switch_grpc) fails the call
# with CANCELLED: like UNAVAILABLE, the switch is re-read and the difference written again.
_RETRYABLE = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
)


class _Client:
    """One P4Runtime connection: channel, arbitration stream, pipeline, schema."""

    def __init__(
        self,
        name: str,
        address: str,
        device_id: int,
        *,
        election_id: int,
        role: str | None,
        credentials: Credentials | None,
        pipeline: Pipeline | None,
        retries: int,
        backoff: float,
        timeout: float,
    ) -> None:
        self.name = name
        self.address = address
        self.device_id = device_id
        self.election_id = election_id
        self.role = role or ""
        self.credentials = credentials
        self.pipeline = pipeline
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.log = _SwitchLog(LOG, {"switch": name})
        self.schema: Schema | None = None
        self.encoder: Encoder | None = None
        self.primary = False
        self.pipeline_stale = False
        self.device_cookie: int | None = None
        # Only an apply may replace the switch's pipeline (AsyncFabric._apply sets this).
        self.may_push = False
        self.write_rpcs = 0
        self._channel: grpc.aio.Channel | None = None
        self._stream: Any = None
        self._monitor: asyncio.Task[None] | None = None
        self._arbitrate = True
        req = p4r.WriteRequest(device_id=device_id, role=self.role)
        req.election_id.high, req.election_id.low = election_id >> 64, election_id & (2**64 - 1)
        self._write_header = req.SerializeToString()

    def _error(self, what: str) -> SwitchConnectionError:
        return SwitchConnectionError(f"switch {self.name} at {self.address}: {what}")

    async def open(self, *, arbitrate: bool = True) -> None:
        """Connect (retrying with back-off), arbitrate, push the pipeline if needed."""
        self._arbitrate = arbitrate
        delay = self.backoff
        for attempt in range(1, self.retries + 2):
            try:
                await self._open_once()
                return
            except (grpc.aio.AioRpcError, TimeoutError, _Disconnected) as exc:
                await self._close_channel()
                last = exc
                if isinstance(exc, grpc.aio.AioRpcError) and exc.code() not in _RETRYABLE:
                    raise self._error(_describe_exc(exc)) from exc
                if attempt > self.retries:
                    break
                self.log.warning(
                    "connection attempt %d failed (%s); retrying in %.2f s",
                    attempt,
                    _describe_exc(exc),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise self._error(
            f"unreachable after {self.retries + 1} attempts: {_describe_exc(last)}"
        ) from last

    async def _open_once(self) -> None:
        if self.credentials is None:
            channel = grpc.aio.insecure_channel(self.address, options=_GRPC_OPTIONS)
        else:
            opts = list(_GRPC_OPTIONS)
            if self.credentials.target_name:
                opts.append(("grpc.ssl_target_name_override", self.credentials.target_name))
            channel = grpc.aio.secure_channel(
                self.address, self.credentials.channel_credentials(), options=opts
            )
        self._channel = channel
        await _wait_ready(channel, self.timeout)
        self._write_rpc = channel.unary_unary(
            "/p4.v1.P4Runtime/Write",
            request_serializer=_identity,
            response_deserializer=p4r.WriteResponse.FromString,
        )
        self._read_rpc = channel.unary_stream(
            "/p4.v1.P4Runtime/Read",
            request_serializer=p4r.ReadRequest.SerializeToString,
            response_deserializer=p4r.ReadResponse.FromString,
        )
        self._set_rpc = channel.unary_unary(
            "/p4.v1.P4Runtime/SetForwardingPipelineConfig",
            request_serializer=p4r.SetForwardingPipelineConfigRequest.SerializeToString,
            response_deserializer=p4r.SetForwardingPipelineConfigResponse.FromString,
        )
        self._get_rpc = channel.unary_unary(
            "/p4.v1.P4Runtime/GetForwardingPipelineConfig",
            request_serializer=p4r.GetForwardingPipelineConfigRequest.SerializeToString,
            response_deserializer=p4r.GetForwardingPipelineConfigResponse.FromString,
        )
        if self._arbitrate:
            await self._arbitration()
        await self._ensure_pipeline()

    async def _arbitration(self) -> None:
        assert self._channel is not None
        stream_rpc = self._channel.stream_stream(
            "/p4.v1.P4Runtime/StreamChannel",
            request_serializer=p4r.StreamMessageRequest.SerializeToString,
            response_deserializer=p4r.StreamMessageResponse.FromString,
        )
        self._stream = stream_rpc()
        req = p4r.StreamMessageRequest()
        arb = req.arbitration
        arb.device_id = self.device_id
        arb.election_id.high = self.election_id >> 64
        arb.election_id.low = self.election_id & (2**64 - 1)
        if self.role:
            arb.role.name = self.role
        await self._stream.write(req)
        while True:
            resp = await asyncio.wait_for(self._stream.read(), self.timeout)
            if resp is grpc.aio.EOF:
                raise _Disconnected("arbitration stream closed")
            if resp.WhichOneof("update") == "arbitration":
                break
        self._on_arbitration(resp.arbitration)
        if not self.primary:
            eid = resp.arbitration.election_id
            raise self._error(
                f"not primary: election id {self.election_id} is lower than the primary's"
                f" {(eid.high << 64) | eid.low} ({resp.arbitration.status.message})"
            )
        self._monitor = asyncio.ensure_future(self._watch_stream())

    def _on_arbitration(self, arb: Any) -> None:
        was = self.primary
        self.primary = arb.status.code == rpc_code.OK
        if was and not self.primary:
            eid = (arb.election_id.high << 64) | arb.election_id.low
            self.log.warning("lost primary role to election id %d", eid)
        elif self.primary and not was:
            self.log.info("primary (election id %d)", self.election_id)

    async def _watch_stream(self) -> None:
        try:
            while True:
                resp = await self._stream.read()
                if resp is grpc.aio.EOF:
                    break
                if resp.WhichOneof("update") == "arbitration":
                    self._on_arbitration(resp.arbitration)
                elif resp.WhichOneof("update") == "error":
                    self.log.warning("stream error: %s", resp.error)
        except (grpc.aio.AioRpcError, asyncio.CancelledError):
            pass
        self.primary = False
        self.log.debug("stream closed")

    async def _get_pipeline(self, response_type: Any) -> Any:
        """GetForwardingPipelineConfig; BMv2 answers FAILED_PRECONDITION when it has none:
        that is returned as an empty config."""
        get = p4r.GetForwardingPipelineConfigRequest
        try:
            return await self._get_rpc(
                get(device_id=self.device_id, response_type=response_type), timeout=self.timeout
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            return p4r.GetForwardingPipelineConfigResponse()

    async def _ensure_pipeline(self) -> None:
        """Learn the schema; push our pipeline only while an apply runs (``may_push``).

        Connecting never changes a switch: a switch that runs another pipeline (or none) is
        marked ``pipeline_stale``, and only :meth:`AsyncFabric.apply` replaces it."""
        get = p4r.GetForwardingPipelineConfigRequest
        if self.pipeline is None:
            resp = await self._get_pipeline(get.P4INFO_AND_COOKIE)
            if not resp.config.p4info.tables:
                raise SchemaError(
                    f"switch {self.name} at {self.address} has no pipeline and none was"
                    " given (pass the P4Info and BMv2 JSON)"
                )
            schema = Schema(p4i.P4Info.FromString(resp.config.p4info.SerializeToString()))
        else:
            resp = await self._get_pipeline(get.COOKIE_ONLY)
            have = resp.config.cookie.cookie if resp.config.HasField("cookie") else None
            self.device_cookie = have
            self.pipeline_stale = have != self.pipeline.cookie
            if self.pipeline_stale and self.may_push and self._arbitrate:
                await self.push_pipeline()
            elif self.pipeline_stale:
                # not a warning: an apply will push ours; a diff or dry run says so in its report
                self.log.info(
                    "the switch runs %s; apply would replace it",
                    "no pipeline" if have is None else f"another pipeline (cookie {have:#x})",
                )
            schema = self.pipeline.schema
        if self.schema is None or self.schema.fingerprint() != schema.fingerprint():
            self.schema = schema
            self.encoder = Encoder(schema)

    async def push_pipeline(self) -> None:
        """SetForwardingPipelineConfig with our pipeline (needs the primary role)."""
        assert self.pipeline is not None
        self.log.info(
            "pushing pipeline (device cookie %s, ours %#x)",
            "none" if self.device_cookie is None else f"{self.device_cookie:#x}",
            self.pipeline.cookie,
        )
        set_req = p4r.SetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            role=self.role,
            action=p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
        )
        set_req.election_id.high = self.election_id >> 64
        set_req.election_id.low = self.election_id & (2**64 - 1)
        set_req.config.p4info.CopyFrom(self.pipeline.p4info)
        set_req.config.p4_device_config = self.pipeline.device_config
        set_req.config.cookie.cookie = self.pipeline.cookie
        await self._set_rpc(set_req, timeout=max(self.timeout, 60.0))
        self.device_cookie = self.pipeline.cookie
        self.pipeline_stale = False

    async def count_foreign_entries(self) -> int:
        """How many table entries the switch holds under the pipeline it runs now (a wildcard
        Read, which needs no P4Info of ours); 0 when it runs no pipeline."""
        req = p4r.ReadRequest(device_id=self.device_id, role=self.role)
        req.entities.add().table_entry.table_id = 0
        n = 0
        try:
            async for resp in self._read_rpc(req, timeout=max(self.timeout, 120.0)):
                n += sum(1 for e in resp.entities if e.WhichOneof("entity") == "table_entry")
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:  # no pipeline: nothing held
                return 0
            if exc.code() in _RETRYABLE:
                raise _Disconnected(_describe_exc(exc)) from exc
            raise self._error(f"Read failed: {_describe_exc(exc)}") from exc
        return n

    async def _close_channel(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        self.primary = False

    async def close(self) -> None:
        await self._close_channel()

    async def reconnect(self) -> None:
        await self._close_channel()
        await self.open(arbitrate=self._arbitrate)

    # -- RPCs -------------------------------------------------------------------------------

    async def write(self, payload: bytes) -> None:
        if self._channel is None:
            raise _Disconnected("not connected")
        self.write_rpcs += 1
        try:
            await self._write_rpc(self._write_header + payload, timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _RETRYABLE:
                raise _Disconnected(_describe_exc(exc)) from exc
            raise _RpcFailure(exc.code().name, exc.details() or "", _status_details(exc)) from exc

    async def read(self, entities: Iterable[Any]) -> list[Any]:
        if self._channel is None:
            raise _Disconnected("not connected")
        req = p4r.ReadRequest(device_id=self.device_id, role=self.role)
        req.entities.extend(entities)
        out: list[Any] = []
        try:
            async for resp in self._read_rpc(req, timeout=max(self.timeout, 120.0)):
                out.extend(resp.entities)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _RETRYABLE:
                raise _Disconnected(_describe_exc(exc)) from exc
            raise self._error(f"Read failed: {_describe_exc(exc)}") from exc
        return out


async def _wait_ready(channel: grpc.aio.Channel, timeout: float) -> None:
    """Wait until the channel is READY; fail at once on a refused connection."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    state = channel.get_state(try_to_connect=True)
    while state != grpc.ChannelConnectivity.READY:
        if state in (grpc.ChannelConnectivity.TRANSIENT_FAILURE, grpc.ChannelConnectivity.SHUTDOWN):
            raise _Disconnected("connection failed (nothing listening, or TLS/HTTP2 mismatch)")
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError
        await asyncio.wait_for(channel.wait_for_state_change(state), remaining)
        state = channel.get_state(try_to_connect=True)


def _describe_exc(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


# -- one switch's part of an apply -------------------------------------------------------------


class _PhaseFailed(Exception):
    def __init__(self, failures: list[UpdateFailure]) -> None:
        super().__init__(f"{len(failures)} updates failed")
        self.failures = failures


# The first Write of a phase carries _FIRST_BATCH updates; each next one twice as many, up to
# batch_size (for a small plan: a quarter of it, but at least _EARLY_BATCH).
_FIRST_BATCH = 32
_EARLY_BATCH = 128
# stream_upserts lets the event loop run after this many entries.
_YIELD_EVERY = 16


class _Run:
    """One switch during one apply: installed state, desired state, writes, resync."""

    def __init__(self, fabric: AsyncFabric, client: _Client, entries: Sequence[TableEntry]):
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
        for entity in got:
            te = entity.table_entry
            if te.table_id in owned_ids:
                x = enc(te)
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
        """One Write RPC (``payload``: the ops' framed updates, if already built). Records
        failures; updates ``installed`` for the updates applied."""
        if self.needs_resync:
            return
        batch_no = self.client.write_rpcs + 1
        if payload is None:
            payload = b"".join([update_bytes(op.kind, op.enc) for op in ops])
        try:
            await self.client.write(payload)
        except _Disconnected as exc:
            self.log.warning("connection lost during Write %d: %s", batch_no, exc)
            self.needs_resync = True
            return
        except _RpcFailure as exc:
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
                            code=exc.code if code == -1 else _code_name(code),
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
            raise _PhaseFailed(self.failures)


# -- the fabric ------------------------------------------------------------------------------


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
        register_buses: Mapping[str, Callable[[], RegisterBus]] | None = None,
        drain: float = 0.05,
    ) -> None:
        """``register_buses``: waypoint → opener of its FPGA register bus, for the plan's
        ``register_writes``; default: from the topology's waypoint ``regs``. ``drain``: seconds
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
        self._clients: dict[str, _Client] = {
            s.name: _Client(
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
        self.batch_size = batch_size
        self.window = window
        self.drain = drain
        self.register_buses = (
            dict(register_buses) if register_buses is not None else buses_from_topology(topology)
        )
        self._connected = False
        self._progress: Progress | None = None
        self._done = 0
        self._total = 0

    @property
    def switch_names(self) -> tuple[str, ...]:
        return tuple(self._clients)

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

    def _client(self, switch: str) -> _Client:
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
        run = _Run(self, self._client(switch), ())
        run.default_tables = sorted(t.id for t in run.owned)
        await self._retrying(run.client, run.read_installed)
        return sorted(
            (run.encoder.decode_encoded(x) for x in run.installed.values()), key=_sort_key
        )

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
        out.sort(key=lambda t: _sort_key(t[0]))
        return out

    async def _retrying(self, c: _Client, fn: Callable[[], Awaitable[_T]]) -> _T:
        for _ in range(c.retries + 1):
            try:
                return await fn()
            except _Disconnected:
                await c.reconnect()
        raise c._error("connection keeps failing")

    # -- diff and apply ---------------------------------------------------------------------

    def _check_plan(self, plan: PlanLike) -> None:
        unknown = sorted(set(plan.entries) - set(self._clients))
        if unknown:
            raise PlanError(
                f"the plan has entries for switches not in the fabric: {', '.join(unknown)}"
            )

    async def _prepare(self, plan: PlanLike) -> dict[str, _Run]:
        await self._ensure_connected()
        self._check_plan(plan)
        runs = {
            name: _Run(self, c, tuple(plan.entries.get(name, ())))
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
        self, plan: PlanLike, *, dry_run: bool = False, progress: Progress | None = None
    ) -> ApplyResult:
        """Make the switches hold exactly the plan's entries in wphw's tables."""
        redacted = getattr(plan, "redacted", ())
        if redacted and getattr(plan, "register_writes", ()):
            raise PlanError(
                f"the plan's FPGA keys were left out of its JSON ({redacted[0]}"
                f"{' …' if len(redacted) > 1 else ''}): compile it from the topology to apply"
                " it, or write it with its secrets (wphw plan --with-secrets)"
            )
        t0 = time.perf_counter()
        if dry_run:
            d = await self.diff(plan)
            preview = FpgaInstall(getattr(plan, "register_writes", ()), self.register_buses)
            try:
                await preview.add(dry_run=True)
            finally:
                preview.close()
            return ApplyResult(
                fpga=tuple(preview.results[wp] for wp in sorted(preview.results)),
                fpga_skipped=tuple(preview.skipped),
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
            return await self._apply(plan, progress, t0)

    async def _apply(self, plan: PlanLike, progress: Progress | None, t0: float) -> ApplyResult:
        await self._ensure_connected()
        self._check_plan(plan)
        # Only here may a switch's pipeline be replaced (also on a reconnect mid-apply).
        for c in self._clients.values():
            c.may_push = True
        try:
            stale = [c for c in self._clients.values() if c.pipeline_stale]
            await asyncio.gather(*(self._retrying(c, c.push_pipeline) for c in stale))
            return await self._apply_pushed(plan, progress, t0)
        finally:
            for c in self._clients.values():
                c.may_push = False

    async def _apply_pushed(
        self, plan: PlanLike, progress: Progress | None, t0: float
    ) -> ApplyResult:
        runs = {
            name: _Run(self, c, tuple(plan.entries.get(name, ())))
            for name, c in self._clients.items()
        }
        rpcs0 = {name: r.client.write_rpcs for name, r in runs.items()}
        self._progress, self._done = progress, 0
        self._total = sum(len(r.entries) for r in runs.values())
        fpga = FpgaInstall(getattr(plan, "register_writes", ()), self.register_buses)
        try:
            # Each switch's Read runs while its first entries are encoded (stream_upserts).
            reads = {name: asyncio.ensure_future(r.read_snapshot()) for name, r in runs.items()}
            await self._phase(runs, lambda r: r.stream_upserts(0, reads[r.client.name]), 0)
            # FPGA waypoints learn the new (SPI, SI) entries before any classifier flips.
            try:
                await fpga.add()
            except BaseException:
                LOG.error("FPGA register writes failed; rolling back every switch")
                await fpga.undo()
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
                await fpga.undo()  # the switches were rolled back by _phase
                raise
            await fpga.remove_stale()
        finally:
            self._progress = None
            fpga.close()
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
        return ApplyResult(
            switches=tuple(results),
            seconds=time.perf_counter() - t0,
            fpga=tuple(fpga.results[wp] for wp in sorted(fpga.results)),
            fpga_skipped=tuple(fpga.skipped),
        )

    async def _phase(
        self,
        runs: Mapping[str, _Run],
        step: Callable[[_Run], Coroutine[Any, Any, None]],
        phase: int,
    ) -> None:
        results = await asyncio.gather(*(step(r) for r in runs.values()), return_exceptions=True)
        failures: list[UpdateFailure] = []
        other: list[BaseException] = []
        for r in results:
            if isinstance(r, _PhaseFailed):
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

    async def _rollback(self, runs: Mapping[str, _Run]) -> list[UpdateFailure]:
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
                        entry=TableEntry(table="", match=(), action=_NO_ACTION),
                    )
                )
        failures = [f for r in runs.values() for f in r.failures]
        for phase in range(len(PHASES)):
            results = await asyncio.gather(
                *(r.run_phase(phase) for r in live), return_exceptions=True
            )
            for res in results:
                if isinstance(res, _PhaseFailed):
                    failures.extend(res.failures)
                elif isinstance(res, BaseException):
                    LOG.error("rollback phase %d: %s", phase, res)
            live = [r for r, res in zip(live, results, strict=True) if res is None]
        return failures


def _sort_key(e: TableEntry) -> tuple[Any, ...]:
    return (e.table, e.is_default, -e.priority, repr(e.match))


_NO_ACTION = Action(name="")


# -- synchronous wrapper ---------------------------------------------------------------------


_LOOP: asyncio.AbstractEventLoop | None = None
_LOOP_LOCK = threading.Lock()


async def _hold_grpc_aio() -> None:
    grpc.aio.init_grpc_aio()


def run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` on wphw's shared background event loop and wait for its result.

    Every synchronous :class:`Fabric` uses this one loop (a daemon thread), so gRPC's asyncio
    machinery never sees a loop that was closed under it, and the sync API also works where
    an event loop is already running (notebooks).
    """
    global _LOOP
    with _LOOP_LOCK:
        if _LOOP is None:
            # gRPC's asyncio layer is reference-counted by its channels: when the last one is
            # deallocated it closes its poller's notification socket, from whichever thread
            # dropped the channel (often the caller's, by garbage collection), under this loop
            # that still watches the socket: later "OSError: [Errno 9] Bad file descriptor" in
            # PollerCompletionQueue._handle_events. One reference held for the life of this
            # loop keeps that socket open (taken in the loop's thread: it needs a current loop).
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="wphw-p4rt", daemon=True).start()
            asyncio.run_coroutine_threadsafe(_hold_grpc_aio(), loop).result()
            _LOOP = loop
    return asyncio.run_coroutine_threadsafe(coro, _LOOP).result()


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
        self, plan: PlanLike, *, dry_run: bool = False, progress: Progress | None = None
    ) -> ApplyResult:
        return self._run(self.aio.apply(plan, dry_run=dry_run, progress=progress))

    def diff(self, plan: PlanLike) -> Diff:
        return self._run(self.aio.diff(plan))

    def read(self, switch: str) -> list[TableEntry]:
        return self._run(self.aio.read(switch))

    def read_direct_counters(self, switch: str, table: str) -> list[tuple[TableEntry, int, int]]:
        return self._run(self.aio.read_direct_counters(switch, table))

    def schema(self, switch: str) -> Schema:
        return self.aio.schema(switch)


__all__ = [
    "ApplyResult",
    "AsyncFabric",
    "Credentials",
    "Fabric",
    "P4RuntimeWriteError",
    "Pipeline",
    "SwitchDiff",
    "SwitchResult",
    "UpdateFailure",
    "owns_table",
]
