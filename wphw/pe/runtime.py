"""The software PE's packet loop, counters, per-packet stamps and control interface.

A PE reads Ethernet frames from one interface (an ``AF_PACKET`` raw socket), hands the inner
IPv4 datagram to its service (:mod:`wphw.pe.services`) and sends the result back out of the
same interface, which is what the switch's SFF expects of a PE port.

- NSH mode (default): Ethernet + NSH (RFC 8300: version 0, length 2, MD type 2, next protocol
  IPv4) + IPv4. The service sees the IPv4 datagram; the PE sends the frame back with SI − 1
  and every other byte of the Ethernet and NSH headers unchanged (NSH TTL is the switch's).
- Legacy mode: Ethernet + 802.1Q + IPv4, no NSH (the switch's SFC proxy leg); the frame goes
  back with the same tag.

Frames that do not fit are dropped and counted in ``by_reason``; bytes after the IPv4 datagram
(Ethernet padding) are kept. :class:`FrameProcessor` is the pure part (bytes in, bytes or
``None`` out); :class:`PERunner` adds the socket, a thread and the control server.

Control interface (HTTP/1.0, JSON; on ``HOST:PORT`` or on a unix socket path, which also works
from another network namespace): ``GET /health``, ``/counters``, ``/stamps?since=N``,
``/flows`` (count service). :func:`query` is the client.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import http.client
import json
import logging
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wphw.errors import PEError
from wphw.pe.control import ControlServer, is_tcp
from wphw.pe.services import Count, Drop, Service, make_service
from wphw.services.ipv4 import switch_flow_key

log = logging.getLogger(__name__)

ETH_P_ALL = 0x0003
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_VLAN = 0x8100
ETHERTYPE_QINQ = 0x88A8
ETHERTYPE_NSH = 0x894F
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
_AUX = struct.Struct("=IIIHHHH")
RECV_BUF = 65600
NSH_HDR = 22  # Ethernet 14 + NSH base 4 + service path 4
VLAN_HDR = 18  # Ethernet 14 + 802.1Q 4
DEFAULT_STAMP_LIMIT = 10000
RECV_TIMEOUT_S = 0.1  # how soon the packet loop notices stop()
SEND_TIMEOUT_S = 0.05  # one try of a send to a full queue; SEND_TRIES before tx_busy
SEND_TRIES = 20


def _timeval(seconds: float) -> bytes:
    return struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))


@dataclass(frozen=True, slots=True, kw_only=True)
class Stamp:
    """Evidence that one packet passed this PE: its identity and the path it carried."""

    n: int
    time: float
    ip_id: int
    src: str
    dst: str
    proto: int
    src_port: int
    dst_port: int
    spi: int | None
    si: int | None
    vlan: int | None
    verdict: str  # "tx" or the drop reason

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _ip_str(addr: int) -> str:
    return socket.inet_ntoa(addr.to_bytes(4, "big"))


class FrameProcessor:
    """Frame in, frame out: header checks, SI decrement, the service, counters and stamps."""

    def __init__(
        self,
        service: Service,
        *,
        legacy: bool = False,
        name: str,
        stamp: bool = False,
        stamp_limit: int = DEFAULT_STAMP_LIMIT,
    ) -> None:
        self.service = service
        self.legacy = legacy
        self.name = name
        self.rx = 0
        self.tx = 0
        self.dropped = 0
        self.by_reason: dict[str, int] = {}
        self.stamping = stamp
        self.stamps: collections.deque[Stamp] = collections.deque(maxlen=stamp_limit)
        self._stamp_n = 0
        self._errors_logged = 0

    def drop(self, reason: str) -> None:
        self.dropped += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    def process(self, frame: bytes) -> bytes | None:
        """The frame to send back, or ``None`` when it is dropped (counted by reason)."""
        self.rx += 1
        n = len(frame)
        if n < 14:
            self.drop("runt")
            return None
        ethertype = (frame[12] << 8) | frame[13]
        spi: int | None = None
        si: int | None = None
        vlan: int | None = None
        if self.legacy:
            if ethertype != ETHERTYPE_VLAN:
                self.drop("not_vlan")
                return None
            if n < VLAN_HDR or (frame[16] << 8) | frame[17] != ETHERTYPE_IPV4:
                self.drop("not_ipv4")
                return None
            vlan = ((frame[14] << 8) | frame[15]) & 0x0FFF
            hdr = VLAN_HDR
        else:
            if ethertype != ETHERTYPE_NSH:
                self.drop("not_nsh")
                return None
            if n < NSH_HDR:
                self.drop("bad_nsh")
                return None
            if frame[14] >> 6 != 0 or frame[15] & 0x3F != 2 or frame[16] & 0x0F != 2:
                self.drop("bad_nsh")
                return None
            if frame[17] != 1:
                self.drop("not_ipv4")
                return None
            si = frame[21]
            spi = (frame[18] << 16) | (frame[19] << 8) | frame[20]
            if si == 0:
                self.drop("si_zero")
                return None
            hdr = NSH_HDR
        if n < hdr + 20 or frame[hdr] >> 4 != 4 or frame[hdr] & 0x0F < 5:
            self.drop("bad_ipv4")
            return None
        total = (frame[hdr + 2] << 8) | frame[hdr + 3]
        if total < (frame[hdr] & 0x0F) * 4 or hdr + total > n:
            self.drop("bad_ipv4")
            return None
        ip = frame[hdr : hdr + total]
        try:
            out = self.service.process(ip)
        except Exception:  # a bug or an odd packet must not stop the PE
            if self._errors_logged < 10:
                self._errors_logged += 1
                log.exception("PE %s: service %s failed on a packet", self.name, self.service.name)
            out = Drop("service_error")
        if self.stamping:
            self._stamp(ip, spi, si, vlan, out.reason if isinstance(out, Drop) else "tx")
        if isinstance(out, Drop):
            self.drop(out.reason)
            return None
        self.tx += 1
        if si is not None:
            return frame[:21] + bytes((si - 1,)) + out + frame[hdr + total :]
        return frame[:hdr] + out + frame[hdr + total :]

    def _stamp(self, ip: bytes, spi: int | None, si: int | None, vlan: int | None, v: str) -> None:
        src, dst, proto, sport, dport = switch_flow_key(ip)
        self._stamp_n += 1
        self.stamps.append(
            Stamp(
                n=self._stamp_n,
                time=time.time(),
                ip_id=(ip[4] << 8) | ip[5],
                src=_ip_str(src),
                dst=_ip_str(dst),
                proto=proto,
                src_port=sport,
                dst_port=dport,
                spi=spi,
                si=si,
                vlan=vlan,
                verdict=v,
            )
        )

    def counters(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "service": self.service.name,
            "rx": self.rx,
            "tx": self.tx,
            "dropped": self.dropped,
            "by_reason": self.by_reason.copy(),
            "service_counters": self.service.counters(),
        }

    def stamps_since(self, since: int = 0) -> list[dict[str, Any]]:
        return [s.to_dict() for s in list(self.stamps) if s.n > since]


def reinsert_vlan(data: bytes, ancdata: list[tuple[int, int, bytes]]) -> bytes:
    """Put back the 802.1Q tag the kernel moved to metadata (VLAN receive offload)."""
    for level, kind, cdata in ancdata:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(cdata) >= _AUX.size:
            status, _, _, _, _, tci, tpid = _AUX.unpack_from(cdata)
            if status & TP_STATUS_VLAN_VALID or tci:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = ETHERTYPE_VLAN
                return data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    return data


class PERunner:
    """A software PE on one interface: packet loop in a thread, optional control server.

    ``PERunner("fw", "veth1", {"rules": [...]}, name="fw1").start()`` … ``.stop()``; or
    :meth:`run` in the foreground (the CLI). Counters are read without locking: the loop
    thread is their only writer and the control thread copies them.
    """

    def __init__(
        self,
        service: str | Service,
        iface: str,
        params: Mapping[str, Any] | None = None,
        *,
        legacy: bool = False,
        name: str | None = None,
        stamp: bool = False,
        stamp_limit: int = DEFAULT_STAMP_LIMIT,
        control: str | None = None,
        netns: str | None = None,
    ) -> None:
        self.name = name or f"{service if isinstance(service, str) else service.name}@{iface}"
        svc = (
            service if isinstance(service, Service) else make_service(service, params, pe=self.name)
        )
        self.iface = iface
        self.proc = FrameProcessor(
            svc, legacy=legacy, name=self.name, stamp=stamp, stamp_limit=stamp_limit
        )
        self.control = control
        self.netns = netns
        self.control_address: str | None = None
        self.started = 0.0
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._control: ControlServer | None = None
        self._stop = threading.Event()
        self.tx_errors = 0

    # --- lifecycle --------------------------------------------------------------------------

    def open(self) -> None:
        """Open the packet socket and the control server (raises :class:`PEError`); with
        ``netns``, both are opened inside that network namespace (``ip netns`` name) while the
        thread returns to its own (sockets keep the namespace they were made in)."""
        if self.netns is None:
            self._open()
            return
        from pyroute2 import netns as pyroute2_netns

        try:
            pyroute2_netns.pushns(self.netns)
        except OSError as exc:
            raise PEError(f"PE {self.name}: cannot enter netns {self.netns!r}: {exc}") from None
        try:
            self._open()
        finally:
            pyroute2_netns.popns()

    def _open(self) -> None:
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError:
            raise PEError(f"PE {self.name}: raw sockets need root (CAP_NET_RAW)") from None
        try:
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            with contextlib.suppress(OSError):  # Linux >= 4.20; else filtered by pkttype
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            # Blocking calls with kernel time-outs: one recvmsg per frame (a non-blocking socket
            # took a select and a failed recvmsg per frame whenever the queue ran dry).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(RECV_TIMEOUT_S))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(SEND_TIMEOUT_S))
            sock.bind((self.iface, ETH_P_ALL))
        except OSError as exc:
            sock.close()
            raise PEError(f"PE {self.name}: cannot open interface {self.iface!r}: {exc}") from None
        self._sock = sock
        if self.control:
            try:
                self._start_control(self.control)
            except Exception:
                self.close()
                raise
        self.started = time.time()
        log.info(
            "PE %s: %s on %s (%s mode)%s",
            self.name,
            self.proc.service.name,
            self.iface,
            "legacy" if self.proc.legacy else "NSH",
            f", control {self.control_address}" if self.control_address else "",
        )

    def start(self) -> PERunner:
        """Open and run the packet loop in a daemon thread."""
        self.open()
        self._thread = threading.Thread(target=self._loop, name=f"pe-{self.name}", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        """Open (unless open) and run the packet loop here until :meth:`stop`."""
        if self._sock is None:
            self.open()
        try:
            self._loop()
        finally:
            self.close()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the loop (thread-safe; also from a signal handler) and close everything."""
        self._stop.set()  # the loop sees it within RECV_TIMEOUT_S
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            self._thread = None
            self.close()

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> PERunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def alive(self) -> bool:
        if self._sock is None or self._stop.is_set():
            return False
        return self._thread is None or self._thread.is_alive()

    # --- packet loop ------------------------------------------------------------------------

    def _loop(self) -> None:
        sock = self._sock
        assert sock is not None
        proc = self.proc
        anc_size = socket.CMSG_SPACE(_AUX.size)
        recvmsg = sock.recvmsg
        stop = self._stop
        while not stop.is_set():
            try:
                data, anc, _flags, addr = recvmsg(RECV_BUF, anc_size)
            except (BlockingIOError, InterruptedError):  # SO_RCVTIMEO: look at stop again
                continue
            except OSError as exc:
                if stop.is_set():
                    break
                log.error("PE %s: receive on %s failed: %s", self.name, self.iface, exc)
                raise
            if addr[2] == PACKET_OUTGOING:
                continue
            out = proc.process(reinsert_vlan(data, anc) if anc else data)
            if out is not None:
                self._send(sock, out)

    def _send(self, sock: socket.socket, frame: bytes) -> None:
        for _ in range(SEND_TRIES):
            try:
                sock.send(frame)
                return
            except (BlockingIOError, InterruptedError):  # SO_SNDTIMEO expired: queue full
                continue
            except OSError as exc:
                self._tx_error("tx_too_big" if exc.errno == errno.EMSGSIZE else "tx_error", exc)
                return
        self._tx_error("tx_busy", None)

    def _tx_error(self, reason: str, exc: OSError | None) -> None:
        self.proc.tx -= 1
        self.proc.drop(reason)
        self.tx_errors += 1
        if self.tx_errors <= 10:
            log.warning("PE %s: send on %s failed (%s): %s", self.name, self.iface, reason, exc)

    # --- control ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {
            "ok": self.alive,
            "service": self.proc.service.name,
            "name": self.name,
            "iface": self.iface,
            "legacy": self.proc.legacy,
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 3) if self.started else 0.0,
            "rx": self.proc.rx,
            "tx": self.proc.tx,
        }

    def counters(self) -> dict[str, Any]:
        return self.proc.counters()

    def handle_get(self, target: str) -> tuple[int, Any]:
        """(HTTP status, JSON body) for a control GET request."""
        url = urlsplit(target)
        query = parse_qs(url.query)
        if url.path == "/health":
            h = self.health()
            return (200 if h["ok"] else 503), h
        if url.path == "/counters":
            return 200, self.counters()
        if url.path == "/stamps":
            try:
                since = int(query.get("since", ["0"])[0])
            except ValueError:
                return 400, {"error": "since must be an integer"}
            return 200, {"enabled": self.proc.stamping, "stamps": self.proc.stamps_since(since)}
        if url.path == "/flows":
            svc = self.proc.service
            if not isinstance(svc, Count):
                return 404, {"error": f"service {svc.name} has no flows (only count)"}
            return 200, {"flows": svc.flows()}
        return 404, {"error": f"unknown path {url.path} (/health /counters /stamps /flows)"}

    def _start_control(self, address: str) -> None:
        self._control = ControlServer(address, self.handle_get, who=f"PE {self.name}")
        self.control_address = self._control.address


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def query(control: str, path: str = "/health", timeout: float = 1.0) -> Any:
    """GET ``path`` from a PE's control interface (``HOST:PORT`` or a unix socket path).

    Raises :class:`PEError` when the PE does not answer (dead) or answers with an error;
    ``/health`` of a PE whose loop died answers 503, which is raised as well.
    """
    conn: http.client.HTTPConnection
    if is_tcp(control):
        host, _, port = control.rpartition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    else:
        conn = _UnixConnection(control, timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = json.loads(resp.read() or b"null")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise PEError(f"PE control {control}: GET {path} failed: {exc}") from None
    finally:
        conn.close()
    if resp.status != 200:
        raise PEError(f"PE control {control}: GET {path}: HTTP {resp.status} {body}")
    return body


def pe_command(
    service: str,
    iface: str,
    *,
    name: str | None = None,
    legacy: bool = False,
    params: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    control: str | None = None,
    stamp: bool = False,
    netns: str | None = None,
    log_level: str = "info",
) -> list[str]:
    """The argv that runs a PE (``python -m wphw.pe.cli run ...``, in ``netns`` if given)."""
    argv = [sys.executable, "-m", "wphw.pe.cli", "--log-level", log_level, "run", service]
    argv += ["--iface", iface]
    if name:
        argv += ["--name", name]
    if legacy:
        argv.append("--legacy")
    if isinstance(params, Mapping):
        argv += ["--params-json", json.dumps(dict(params))]
    elif params is not None:
        argv += ["--params", os.fspath(params)]
    if control:
        argv += ["--control", control]
    if stamp:
        argv.append("--stamp")
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    return argv


def spawn_pe(
    service: str,
    iface: str,
    *,
    control: str,
    ready_timeout: float = 10.0,
    stderr: Any = None,
    **kwargs: Any,
) -> Any:
    """Start a PE process (see :func:`pe_command` for the options) and wait until its
    ``/health`` answers ok; returns the :class:`subprocess.Popen`. Raises :class:`PEError`
    (after killing it) when it exits or does not become healthy in ``ready_timeout`` s."""
    import subprocess

    argv = pe_command(service, iface, control=control, **kwargs)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + ready_timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PEError(f"PE {service} on {iface} exited with status {proc.returncode}")
        try:
            if query(control, "/health", timeout=0.5).get("ok"):
                return proc
        except PEError as exc:
            last = str(exc)
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise PEError(f"PE {service} on {iface} not healthy after {ready_timeout} s ({last})")


def load_params(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Service parameters from a YAML or JSON file (a mapping at the top level)."""
    import yaml

    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text())  # JSON is YAML
    except (OSError, yaml.YAMLError) as exc:
        raise PEError(f"{p}: cannot read PE params: {exc}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PEError(f"{p}: PE params must be a mapping at the top level")
    return raw
