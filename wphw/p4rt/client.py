"""One P4Runtime switch connection: gRPC channel, arbitration, pipeline, Read and Write.

:class:`SwitchClient` speaks P4Runtime to one switch (finsy's generated protobuf classes; the
Write payload is encoded by :mod:`wphw.p4rt.encode` and sent with an identity serializer).
:func:`run_sync` runs coroutines on wphw's one background event loop for the synchronous API.
finsy's own ``Switch`` is not used: it owns the whole connection life cycle (its own
arbitration, pipeline push and reconnect policy) where wphw needs a read-only connection that
never takes mastership and never pushes (dry runs, diff, stats), pre-encoded Write payloads, and
per-update error details mapped onto our entries (docs/p4runtime.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
from finsy.proto import p4i, p4r, rpc_code, rpc_status

from wphw.errors import SchemaError, SwitchConnectionError
from wphw.p4rt.encode import Encoder
from wphw.p4rt.schema import Schema

LOG = logging.getLogger("wphw.p4rt")

_T = TypeVar("_T")

GRPC_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_receive_message_length", 512 << 20),
    ("grpc.max_send_message_length", 512 << 20),
    # BMv2 reports one p4.v1.Error per update in the trailing metadata: a failed batch of
    # 1000 updates is ~70 KB, past gRPC's default 8/16 KB metadata limits.
    ("grpc.max_metadata_size", 64 << 20),
    ("grpc.absolute_max_metadata_size", 64 << 20),
]


class SwitchLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = self.extra or {}
        kwargs.setdefault("extra", {}).update(extra)
        return f"[{extra.get('switch')}] {msg}", kwargs


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


# -- one switch connection ---------------------------------------------------------------------


class Disconnected(Exception):
    pass


class RpcFailure(Exception):
    def __init__(self, code: str, message: str, details: list[tuple[int, str]] | None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


def _identity(data: bytes) -> bytes:
    return data


def code_name(code: int) -> str:
    for c in grpc.StatusCode:
        if c.value[0] == code:
            return str(c.name)
    return f"CODE_{code}"


def status_details(exc: grpc.aio.AioRpcError) -> list[tuple[int, str]] | None:
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


class SwitchClient:
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
        self.log = SwitchLog(LOG, {"switch": name})
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
        # P4Runtime roles beside the client's own (``role``): role name → the tables whose
        # updates go through it. Each gets a stream of its own (same election id) on connect;
        # ``roles_granted`` says which the switch made primary as a role of their own (the
        # P4Runtime spec), and only those are used (``role_tables``). A switch with one primary
        # per device (BMv2/PI) refuses them: everything then goes through ``role``.
        self.want_roles: dict[str, tuple[str, ...]] = {}
        self.roles_granted: dict[str, bool] = {}
        self.role_tables: dict[int, str] = {}
        self._role_streams: dict[str, Any] = {}
        self._role_headers: dict[str, bytes] = {}
        self._role_monitors: dict[str, asyncio.Task[None]] = {}
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
            except (grpc.aio.AioRpcError, TimeoutError, Disconnected) as exc:
                await self._close_channel()
                last = exc
                if isinstance(exc, grpc.aio.AioRpcError) and exc.code() not in _RETRYABLE:
                    raise self._error(describe_exc(exc)) from exc
                if attempt > self.retries:
                    break
                self.log.warning(
                    "connection attempt %d failed (%s); retrying in %.2f s",
                    attempt,
                    describe_exc(exc),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise self._error(
            f"unreachable after {self.retries + 1} attempts: {describe_exc(last)}"
        ) from last

    async def _open_once(self) -> None:
        if self.credentials is None:
            channel = grpc.aio.insecure_channel(self.address, options=GRPC_OPTIONS)
        else:
            opts = list(GRPC_OPTIONS)
            if self.credentials.target_name:
                opts.append(("grpc.ssl_target_name_override", self.credentials.target_name))
            channel = grpc.aio.secure_channel(
                self.address, self.credentials.channel_credentials(), options=opts
            )
        self._channel = channel
        await wait_ready(channel, self.timeout)
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
        if self._arbitrate and self.want_roles:
            await self._open_roles()

    async def _open_roles(self) -> None:
        """One arbitration stream per wanted role, with our election id. Granted when the
        answer is OK for that role (echoed, as the spec says); refused (another election id is
        primary of the role, or the switch keeps one primary per device and answers "Election
        id already exists") → that role's tables go through our own stream."""
        assert self._channel is not None and self.encoder is not None
        stream_rpc = self._channel.stream_stream(
            "/p4.v1.P4Runtime/StreamChannel",
            request_serializer=p4r.StreamMessageRequest.SerializeToString,
            response_deserializer=p4r.StreamMessageResponse.FromString,
        )
        for role, tables in sorted(self.want_roles.items()):
            stream = stream_rpc()
            req = p4r.StreamMessageRequest()
            arb = req.arbitration
            arb.device_id = self.device_id
            arb.election_id.high = self.election_id >> 64
            arb.election_id.low = self.election_id & (2**64 - 1)
            arb.role.name = role
            why = ""
            try:
                await stream.write(req)
                while True:
                    resp = await asyncio.wait_for(stream.read(), self.timeout)
                    if resp is grpc.aio.EOF:
                        why = "stream closed"
                        break
                    if resp.WhichOneof("update") == "arbitration":
                        a = resp.arbitration
                        if a.role.name != role:
                            why = f"the answer names role {a.role.name!r}, not ours"
                        elif a.status.code != rpc_code.OK:
                            why = f"not primary of the role ({a.status.message})"
                        break
            except (grpc.aio.AioRpcError, TimeoutError) as exc:
                why = describe_exc(exc)
            self.roles_granted[role] = not why
            if why:
                stream.cancel()
                self.log.info("role %s not granted (%s): its tables go through ours", role, why)
                continue
            self._role_streams[role] = stream
            wreq = p4r.WriteRequest(device_id=self.device_id, role=role)
            wreq.election_id.high = self.election_id >> 64
            wreq.election_id.low = self.election_id & (2**64 - 1)
            self._role_headers[role] = wreq.SerializeToString()
            for t in tables:
                self.role_tables[self.encoder.table(t).id] = role
            self._role_monitors[role] = asyncio.ensure_future(self._watch_role(role, stream))
            self.log.info("primary of role %s (%s)", role, ", ".join(tables))

    def _drop_role(self, role: str, why: str) -> None:
        if self._role_streams.pop(role, None) is None:
            return
        self._role_headers.pop(role, None)
        for tid in [t for t, r in self.role_tables.items() if r == role]:
            del self.role_tables[tid]
        self.roles_granted[role] = False
        self.log.warning("role %s lost (%s): its tables go through ours", role, why)

    async def _watch_role(self, role: str, stream: Any) -> None:
        """A role whose primary another client takes (a higher election id) or whose stream
        ends is no longer used until the next connect."""
        why = "stream closed"
        try:
            while True:
                resp = await stream.read()
                if resp is grpc.aio.EOF:
                    break
                if resp.WhichOneof("update") == "arbitration":
                    a = resp.arbitration
                    if a.status.code != rpc_code.OK:
                        eid = (a.election_id.high << 64) | a.election_id.low
                        why = f"election id {eid} is its primary now"
                        break
        except grpc.aio.AioRpcError as exc:
            why = describe_exc(exc)
        except asyncio.CancelledError:
            return
        self._drop_role(role, why)

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
                raise Disconnected("arbitration stream closed")
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
                raise Disconnected(describe_exc(exc)) from exc
            raise self._error(f"Read failed: {describe_exc(exc)}") from exc
        return n

    async def _close_channel(self) -> None:
        for task in self._role_monitors.values():
            task.cancel()
        self._role_monitors.clear()
        for stream in self._role_streams.values():
            stream.cancel()
        self._role_streams.clear()
        self._role_headers.clear()
        self.role_tables.clear()
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

    async def write(self, payload: bytes, role: str = "") -> None:
        """One Write RPC of framed updates; ``role``: one of the granted ``want_roles``
        (default: the client's own role)."""
        if self._channel is None:
            raise Disconnected("not connected")
        self.write_rpcs += 1
        header = self._role_headers[role] if role else self._write_header
        try:
            await self._write_rpc(header + payload, timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _RETRYABLE:
                raise Disconnected(describe_exc(exc)) from exc
            raise RpcFailure(exc.code().name, exc.details() or "", status_details(exc)) from exc

    async def read(self, entities: Iterable[Any]) -> list[Any]:
        if self._channel is None:
            raise Disconnected("not connected")
        req = p4r.ReadRequest(device_id=self.device_id, role=self.role)
        req.entities.extend(entities)
        out: list[Any] = []
        try:
            async for resp in self._read_rpc(req, timeout=max(self.timeout, 120.0)):
                out.extend(resp.entities)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _RETRYABLE:
                raise Disconnected(describe_exc(exc)) from exc
            raise self._error(f"Read failed: {describe_exc(exc)}") from exc
        return out


async def wait_ready(channel: grpc.aio.Channel, timeout: float) -> None:
    """Wait until the channel is READY; fail at once on a refused connection."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    state = channel.get_state(try_to_connect=True)
    while state != grpc.ChannelConnectivity.READY:
        if state in (grpc.ChannelConnectivity.TRANSIENT_FAILURE, grpc.ChannelConnectivity.SHUTDOWN):
            raise Disconnected("connection failed (nothing listening, or TLS/HTTP2 mismatch)")
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError
        await asyncio.wait_for(channel.wait_for_state_change(state), remaining)
        state = channel.get_state(try_to_connect=True)


def describe_exc(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


# -- one switch's part of an apply -------------------------------------------------------------


# -- the background event loop of the synchronous API -----------------------------------------


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
