"""Packets per second of each software PE service on a veth pair (needs root).

``python -m wphw.pe.bench [--seconds 2] [--window 64]`` makes two network namespaces joined by a
veth pair, starts each PE as a process (as the lab does) on one end and drives it from a raw
socket on the other with a closed loop (``window`` frames in flight), then prints one line per
service and removes everything it made. It prints numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wphw.pe.runtime import (
    ETH_P_ALL,
    PACKET_AUXDATA,
    PACKET_OUTGOING,
    SOL_PACKET,
    query,
    spawn_pe,
)
from wphw.services import esp

KEY_HEX = bytes(range(32)).hex()


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    label: str
    service: str
    params: Mapping[str, Any]
    frame: bytes
    legacy: bool = False


def _ipv4(payload: bytes, proto: int = 17, src: str = "10.0.0.1", dst: str = "10.0.1.1") -> bytes:
    from wphw.services.ipv4 import inet_checksum

    total = 20 + len(payload)
    hdr = bytearray(
        bytes([0x45, 0]) + total.to_bytes(2, "big") + bytes([0, 1, 0, 0, 64, proto, 0, 0])
    )
    hdr += socket.inet_aton(src) + socket.inet_aton(dst)
    hdr[10:12] = inet_checksum(bytes(hdr)).to_bytes(2, "big")
    return bytes(hdr) + payload


def _udp(size: int) -> bytes:
    ports = (1000).to_bytes(2, "big") + (2000).to_bytes(2, "big")
    return ports + (8 + size).to_bytes(2, "big") + b"\0\0" + bytes(size)


def _tcp80(payload: bytes) -> bytes:
    hdr = (40000).to_bytes(2, "big") + (80).to_bytes(2, "big") + bytes(8) + bytes([0x50, 0x18])
    return hdr + (65535).to_bytes(2, "big") + bytes(4) + payload


ETH = bytes.fromhex("020000000002020000000001")


def nsh_frame(ip: bytes, si: int = 255) -> bytes:
    base = bytes([0x0F, 0xC2, 0x02, 0x01])  # ver 0, TTL 63, length 2, MD type 2, IPv4
    return ETH + b"\x89\x4f" + base + (7).to_bytes(3, "big") + bytes([si]) + ip


def vlan_frame(ip: bytes, vlan: int = 10) -> bytes:
    return ETH + b"\x81\x00" + vlan.to_bytes(2, "big") + b"\x08\x00" + ip


def cases() -> list[Case]:
    small = _ipv4(_udp(64))
    big = _ipv4(_udp(1400))
    http = _ipv4(
        _tcp80(b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\n\r\n"),
        proto=6,
    )
    fw_rules = [{"src": f"172.16.{i}.0/24", "action": "deny"} for i in range(10)]
    cipher = esp.encrypt(nsh_frame(big), key=bytes(range(32)), key_id=1, seq=1)
    return [
        Case(label="count 64B", service="count", params={}, frame=nsh_frame(small)),
        Case(
            label="fw 10 rules 64B",
            service="fw",
            params={"rules": fw_rules, "default": "permit"},
            frame=nsh_frame(small),
        ),
        Case(
            label="ids 5 sigs 1400B",
            service="ids",
            params={"signatures": [{"pattern": f"sig{i}xyz", "action": "drop"} for i in range(5)]},
            frame=nsh_frame(big),
        ),
        Case(
            label="nat 64B",
            service="nat",
            params={"mappings": [{"inside": "10.0.0.1", "outside": "198.51.100.1"}]},
            frame=nsh_frame(small),
        ),
        Case(
            label="encrypt 64B",
            service="encrypt",
            params={"key": KEY_HEX, "key_id": 1},
            frame=nsh_frame(small),
        ),
        Case(
            label="encrypt 1400B",
            service="encrypt",
            params={"key": KEY_HEX, "key_id": 1},
            frame=nsh_frame(big),
        ),
        Case(
            label="decrypt 1400B",
            service="decrypt",
            params={"key": KEY_HEX, "key_id": 1},
            frame=cipher,
        ),
        Case(
            label="http_proxy rewrite",
            service="http_proxy",
            params={"rewrite": [{"header": "User-Agent", "value": "wphw"}]},
            frame=nsh_frame(http),
        ),
        Case(
            label="count legacy 64B",
            service="count",
            params={},
            frame=vlan_frame(small),
            legacy=True,
        ),
    ]


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def drive(sock: socket.socket, frame: bytes, seconds: float, window: int) -> tuple[int, float]:
    """Closed loop: keep ``window`` frames in flight; returns (frames back, elapsed s)."""
    outstanding = 0
    back = 0
    anc = socket.CMSG_SPACE(32)
    t0 = time.perf_counter()
    end = t0 + seconds
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        while outstanding < window:
            try:
                sock.send(frame)
            except BlockingIOError:
                break
            outstanding += 1
        if not select.select([sock], [], [], 0.2)[0]:
            outstanding = 0  # lost (dropped by a full queue): refill the window
            continue
        while True:
            try:
                _, _, _, addr = sock.recvmsg(65600, anc)
            except BlockingIOError:
                break
            if addr[2] != PACKET_OUTGOING:
                back += 1
                outstanding -= 1
    return back, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--only", help="run only cases whose label contains this")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench needs root (network namespaces, raw sockets)", file=sys.stderr)
        return 2
    from pyroute2 import netns as pyroute2_netns

    tag = f"{os.getpid() % 100000}"
    pe_ns, sw_ns = f"wphw-b{tag}-pe", f"wphw-b{tag}-sw"
    pe_if, sw_if = f"wpb{tag}p", f"wpb{tag}s"
    made: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="wphw-bench-"))
    try:
        for ns in (pe_ns, sw_ns):
            _sh("ip", "netns", "add", ns)
            made.append(ns)
            _sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        _sh("ip", "link", "add", pe_if, "netns", pe_ns, "type", "veth", "peer", "name", sw_if,
            "netns", sw_ns)  # fmt: skip
        for ns, ifname in ((pe_ns, pe_if), (sw_ns, sw_if)):
            _sh("ip", "-n", ns, "link", "set", ifname, "mtu", "9000", "up")
        pyroute2_netns.pushns(sw_ns)
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        finally:
            pyroute2_netns.popns()
        sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        sock.bind((sw_if, ETH_P_ALL))
        sock.setblocking(False)
        print(f"{'case':<22} {'pkts/s':>9} {'frame B':>8}  (PE process, {args.window} in flight)")
        for case in cases():
            if args.only and args.only not in case.label:
                continue
            control = str(tmp / f"{case.service}.sock")
            proc = spawn_pe(
                case.service,
                pe_if,
                control=control,
                netns=pe_ns,
                params=case.params,
                legacy=case.legacy,
                log_level="warning",
            )
            try:
                drive(sock, case.frame, 0.3, args.window)  # warm up
                back, dt = drive(sock, case.frame, args.seconds, args.window)
                c = query(control, "/counters")
            finally:
                proc.terminate()
                proc.wait(5)
            extra = f" dropped={c['dropped']}" if c["dropped"] else ""
            print(f"{case.label:<22} {back / dt:>9.0f} {len(case.frame):>8}{extra}")
        sock.close()
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
