"""A real BMv2 ``simple_switch_grpc`` in a private lab, for the packet tests and the benchmark.

:class:`Bmv2Lab` owns everything it creates and removes it again, also on failure:

* one network namespace ``wphw-bmv2-<tag>`` and ``n_ports`` veth pairs: the switch side
  ``wpb<tag>s<i>`` stays in the root namespace (BMv2 port ``i``), the host side ``wpb<tag>h<i>``
  lives in the namespace, where the tests send and sniff with raw sockets;
* one ``simple_switch_grpc`` process (killed by its PID), P4Runtime on ``127.0.0.1:<free port>``;
* one asyncio loop thread running a finsy :class:`finsy.Switch` (primary, device id 0) that pushed
  the pipeline (BMv2 JSON + P4Info).

Table entries are written as :class:`wphw.entries.TableEntry` values (the short names of
docs/dataplane.md), so the tests exercise the same names the plan translation emits.

Finding the switch: ``WPHW_BMV2`` (path to ``simple_switch_grpc``) or ``PATH``. Root is needed for
the namespace and the veths.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import finsy
from scapy.layers.l2 import Ether

from wphw.entries import LPM, Exact, Range, TableEntry, Ternary

LOG = logging.getLogger("wphw.tests.bmv2")

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "p4" / "build"
WPHW_JSON = BUILD / "wphw.json"
WPHW_P4INFO = BUILD / "wphw.p4info.txtpb"
BASIC_JSON = BUILD / "basic_forward.json"
BASIC_P4INFO = BUILD / "basic_forward.p4info.txtpb"

SKIP_NO_BMV2 = "simple_switch_grpc not found: build BMv2 (see docs/p4.md) or set WPHW_BMV2"

_T = TypeVar("_T")

_CLONE_NEWNET = 0x40000000
_ETH_P_ALL = 0x0003
_PACKET_OUTGOING = 4
_SOL_PACKET = 263
_PACKET_AUXDATA = 8
_TP_STATUS_VLAN_VALID = 0x10
_TP_STATUS_VLAN_TPID_VALID = 0x40
_AUXDATA = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata


def find_simple_switch_grpc() -> Path | None:
    """``WPHW_BMV2`` if set (must exist), else ``simple_switch_grpc`` on PATH."""
    env = os.environ.get("WPHW_BMV2")
    if env:
        path = Path(env)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which("simple_switch_grpc")
    return Path(found) if found else None


def skip_reason() -> str | None:
    """Why the BMv2 tier cannot run here, or None when it can."""
    if find_simple_switch_grpc() is None:
        return SKIP_NO_BMV2
    if os.geteuid() != 0:
        return "BMv2 packet tests need root (network namespace and veth pairs)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is needed for the BMv2 lab"
    if not (WPHW_JSON.is_file() and WPHW_P4INFO.is_file()):
        return "p4/build/wphw.json or wphw.p4info.txtpb missing: run `make -C p4`"
    return None


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")


_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def _in_netns(name: str) -> Iterator[None]:
    """Run the block with this thread in network namespace ``name`` (sockets created inside
    stay there)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(target, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
        try:
            yield
        finally:
            if _libc.setns(own, _CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns(back): {os.strerror(err)}")
    finally:
        os.close(target)
        os.close(own)


@dataclass(frozen=True, slots=True, kw_only=True)
class Program:
    """A compiled v1model program: BMv2 JSON + P4Info text."""

    json: Path
    p4info: Path


WPHW = Program(json=WPHW_JSON, p4info=WPHW_P4INFO)
BASIC_FORWARD = Program(json=BASIC_JSON, p4info=BASIC_P4INFO)


class _LoopThread:
    """An asyncio loop in a daemon thread; ``run`` submits a coroutine and waits for it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float = 30.0) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


def _recv_frame(sock: socket.socket) -> bytes | None:
    """One frame as it was on the wire (None for our own outgoing frames).

    The kernel strips 802.1Q tags on receive (VLAN offload) and reports them in the packet
    auxdata; they are put back in place here.
    """
    data, ancdata, _, addr = sock.recvmsg(65535, socket.CMSG_SPACE(_AUXDATA.size))
    if addr[2] == _PACKET_OUTGOING:
        return None
    for level, kind, cdata in ancdata:
        if level != _SOL_PACKET or kind != _PACKET_AUXDATA or len(cdata) < _AUXDATA.size:
            continue
        status, _, _, _, _, tci, tpid = _AUXDATA.unpack_from(cdata)
        if status & _TP_STATUS_VLAN_VALID:
            if not status & _TP_STATUS_VLAN_TPID_VALID:
                tpid = 0x8100
            data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    return data


class Bmv2Lab:
    """One simple_switch_grpc with ``n_ports`` veth ports, driven over P4Runtime (finsy).

    Use as a context manager; :meth:`close` is idempotent and removes what was created.
    """

    def __init__(
        self,
        program: Program = WPHW,
        *,
        n_ports: int = 4,
        log_level: str | None = "info",
        workdir: Path | None = None,
    ) -> None:
        binary = find_simple_switch_grpc()
        if binary is None:
            raise RuntimeError(SKIP_NO_BMV2)
        self.binary = binary
        self.program = program
        self.n_ports = n_ports
        self.log_level = log_level
        self.tag = f"{os.getpid() % 100000}{int(time.monotonic() * 1000) % 100:02d}"[-7:]
        self.netns = f"wphw-bmv2-{self.tag}"
        self.sw_ifaces = [f"wpb{self.tag}s{i}" for i in range(n_ports)]
        self.host_ifaces = [f"wpb{self.tag}h{i}" for i in range(n_ports)]
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="wphw-bmv2-"))
        self.grpc_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._socks: list[socket.socket] = []
        self._netns_made = False
        self._ifaces_made: list[str] = []
        self._loop: _LoopThread | None = None
        self.switch: finsy.Switch | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Bmv2Lab:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._make_network()
        self._start_switch()
        self._loop = _LoopThread()
        self.load(self.program)

    def close(self) -> None:
        if self._loop is not None:
            if self.switch is not None:
                with contextlib.suppress(Exception):
                    self._loop.run(self.switch.__aexit__(None, None, None), timeout=10)
                self.switch = None
            self._loop.close()
            self._loop = None
        for s in self._socks:
            s.close()
        self._socks = []
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            self.proc = None
        for iface in self._ifaces_made:
            subprocess.run(["ip", "link", "del", iface], capture_output=True, check=False)
        self._ifaces_made = []
        if self._netns_made:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True, check=False)
            self._netns_made = False
        if self._own_workdir and os.environ.get("WPHW_BMV2_KEEP_LOGS") is None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _make_network(self) -> None:
        _run(["ip", "netns", "add", self.netns])
        self._netns_made = True
        for sw, host in zip(self.sw_ifaces, self.host_ifaces, strict=True):
            _run(
                ["ip", "link", "add", sw, "type", "veth", "peer", "name", host, "netns", self.netns]
            )
            self._ifaces_made.append(sw)
            # no IPv6 (router solicitations, MLD) and no addresses: only our packets on the wire
            Path(f"/proc/sys/net/ipv6/conf/{sw}/disable_ipv6").write_text("1")
            _run(
                [
                    "ip",
                    "netns",
                    "exec",
                    self.netns,
                    "sysctl",
                    "-qw",
                    f"net.ipv6.conf.{host}.disable_ipv6=1",
                ]
            )
            _run(["ip", "link", "set", sw, "up"])
            _run(["ip", "-n", self.netns, "link", "set", host, "up"])
        with _in_netns(self.netns):
            for host in self.host_ifaces:
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
                s.setsockopt(_SOL_PACKET, _PACKET_AUXDATA, 1)
                s.bind((host, 0))
                s.setblocking(False)
                self._socks.append(s)

    def _start_switch(self) -> None:
        self.grpc_port = _free_tcp_port()
        cmd = [str(self.binary), "--device-id", "0"]
        for i, sw in enumerate(self.sw_ifaces):
            cmd += ["-i", f"{i}@{sw}"]
        cmd += ["--thrift-port", str(_free_tcp_port())]
        cmd += ["--notifications-addr", f"ipc://{self.workdir}/notifications.ipc"]
        if self.log_level is not None:
            cmd += ["--log-file", str(self.workdir / "bmv2"), "--log-flush", "-L", self.log_level]
        else:
            # BMv2's default level is trace: without a log target it would still format every
            # message for its null logger, which costs more than the pipeline itself
            cmd += ["-L", "off"]
        cmd += ["--no-p4", "--", "--grpc-server-addr", f"127.0.0.1:{self.grpc_port}"]
        LOG.info("starting %s", " ".join(cmd))
        out = (self.workdir / "stdout.txt").open("wb")
        self.proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"simple_switch_grpc exited with {self.proc.returncode}: "
                    + (self.workdir / "stdout.txt").read_text(errors="replace")[-2000:]
                )
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                if s.connect_ex(("127.0.0.1", self.grpc_port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("simple_switch_grpc did not open its gRPC port within 20 s")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- P4Runtime --------------------------------------------------------------------------

    def _run_async(self, coro: Coroutine[Any, Any, _T], timeout: float = 30.0) -> _T:
        assert self._loop is not None, "lab not started"
        return self._loop.run(coro, timeout)

    def load(self, program: Program) -> None:
        """(Re)connect as primary and push ``program`` (SetForwardingPipelineConfig)."""
        if self.switch is not None:
            self._run_async(self.switch.__aexit__(None, None, None))
            self.switch = None
        options = finsy.SwitchOptions(
            p4info=program.p4info, p4blob=program.json, device_id=0, p4force=True
        )
        switch = finsy.Switch("bmv2", f"127.0.0.1:{self.grpc_port}", options)
        self._run_async(switch.__aenter__(), timeout=60)
        self.switch = switch
        self.program = program

    @property
    def sw(self) -> finsy.Switch:
        assert self.switch is not None, "lab not started"
        return self.switch

    def to_finsy(self, entry: TableEntry) -> finsy.P4TableEntry:
        """Encode a plan entry for finsy, leaving out don't-care fields as P4Runtime wants."""
        table = self.sw.p4info.tables[entry.table]
        match: dict[str, Any] = {}
        for name, value in entry.match:
            width = table.match_fields[name].bitwidth
            full = (1 << width) - 1
            match value:
                case Exact(value=v):
                    match[name] = v
                case Ternary(value=v, mask=m):
                    if m & full:
                        match[name] = f"{v & m & full}/&{m & full}"
                case LPM(value=v, prefix_len=p):
                    if p:
                        match[name] = f"{v}/{p}"
                case Range(low=lo, high=hi):
                    if not (lo == 0 and hi == full):
                        match[name] = f"{lo}...{hi}"
        action = finsy.Action(entry.action.name, **dict(entry.action.params))
        if entry.is_default:
            return finsy.P4TableEntry(entry.table, action=action, is_default_action=True)
        return finsy.P4TableEntry(
            entry.table,
            match=finsy.Match(match),
            action=action,
            priority=entry.priority,
        )

    def insert(self, entries: Iterable[TableEntry]) -> None:
        plain = [e for e in entries if not e.is_default]
        defaults = [e for e in entries if e.is_default]
        if plain:
            self._run_async(self.sw.insert([self.to_finsy(e) for e in plain]))
        if defaults:
            self._run_async(self.sw.modify([self.to_finsy(e) for e in defaults]))

    def clear(self) -> None:
        """Delete every table entry and reset default actions."""
        self._run_async(self.sw.delete_all())

    def direct_counter(self, entry: TableEntry) -> tuple[int, int]:
        """(packets, bytes) of the direct counter of ``entry``'s table entry."""

        async def read() -> tuple[int, int]:
            req = finsy.P4DirectCounterEntry(table_entry=self.to_finsy(entry))
            async for got in self.sw.read(req):
                return got.packet_count, got.byte_count
            raise LookupError(f"no direct counter for {entry}")

        return self._run_async(read())

    def set_direct_meter(
        self, entry: TableEntry, *, cir: int, cburst: int, pir: int, pburst: int
    ) -> None:
        config = finsy.P4MeterConfig(cir=cir, cburst=cburst, pir=pir, pburst=pburst)
        msg = finsy.P4DirectMeterEntry(table_entry=self.to_finsy(entry), config=config)
        self._run_async(self.sw.modify([msg]))

    # -- packets ------------------------------------------------------------------------------

    def send(self, port: int, frame: bytes | Ether) -> None:
        self._socks[port].send(bytes(frame))

    def drain(self) -> None:
        for s in self._socks:
            while True:
                try:
                    s.recv(65535)
                except BlockingIOError:
                    break

    def recv(self, port: int, *, timeout: float = 1.0, count: int | None = None) -> list[bytes]:
        """Frames the switch sent out of ``port`` within ``timeout`` (stops early at ``count``)."""
        sock = self._socks[port]
        out: list[bytes] = []
        deadline = time.monotonic() + timeout
        while count is None or len(out) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            while True:
                try:
                    frame = _recv_frame(sock)
                except BlockingIOError:
                    break
                if frame is not None:
                    out.append(frame)
        return out

    def recv_all(
        self, *, timeout: float = 0.5, first: bool = False, grace: float = 0.05
    ) -> dict[int, list[bytes]]:
        """Frames that came out of any port within ``timeout``; with ``first``, return
        ``grace`` seconds after the first frame (a late one on a loaded machine is still
        waited for, up to ``timeout``; a second copy within ``grace`` is still seen)."""
        if not first:
            time.sleep(timeout)
            return {p: self.recv(p, timeout=0.01) for p in range(self.n_ports)}
        out: dict[int, list[bytes]] = {p: [] for p in range(self.n_ports)}
        port_of = {self._socks[p]: p for p in range(self.n_ports)}
        deadline = time.monotonic() + timeout
        while not any(out.values()):  # our own sent frame also wakes select: read on
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            ready, _, _ = select.select(list(port_of), [], [], left)
            for sock in ready:
                out[port_of[sock]] += self.recv(port_of[sock], timeout=0.001)
        time.sleep(grace)
        for p in range(self.n_ports):
            out[p] += self.recv(p, timeout=0.001)
        return out

    def raw_socket(self, port: int) -> socket.socket:
        """The namespace-side raw socket of ``port`` (for the benchmark's own loops)."""
        return self._socks[port]
