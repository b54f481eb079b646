"""Software PEs on real interfaces: a veth pair between two network namespaces, the PE on one
end and a raw socket playing the switch on the other (marked ``lab``: needs root + ip netns).

Every namespace, interface and process made here is removed at the end, also on failure.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyroute2 import netns as pyroute2_netns
from scapy.contrib.nsh import NSH
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from wphw.errors import PEError
from wphw.pe import legacy_nft
from wphw.pe.runtime import (
    ETH_P_ALL,
    PACKET_AUXDATA,
    PACKET_OUTGOING,
    SOL_PACKET,
    PERunner,
    query,
    reinsert_vlan,
    spawn_pe,
)
from wphw.services import esp

KEY_HEX = bytes(range(32)).hex()


def _lab_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root for network namespaces and raw sockets"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    res = subprocess.run(["ip", "netns", "list"], capture_output=True, check=False)
    if res.returncode != 0:
        return "ip netns is not available here"
    return None


pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(_lab_skip_reason() is not None, reason=str(_lab_skip_reason())),
]


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


@dataclass
class Wire:
    """Two namespaces joined by a veth pair: ``pe_ns``/``pe_if`` and ``sw_ns``/``sw_if``."""

    pe_ns: str
    pe_if: str
    sw_ns: str
    sw_if: str
    sock: socket.socket

    def send(self, *frames: bytes) -> None:
        for f in frames:
            self.sock.send(f)

    def recv(self, count: int, timeout: float = 2.0) -> list[bytes]:
        """Frames coming back from the PE (until ``count`` arrive or ``timeout``)."""
        out: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                break
            data, anc, _, addr = self.sock.recvmsg(65600, socket.CMSG_SPACE(32))
            if addr[2] != PACKET_OUTGOING:
                out.append(reinsert_vlan(data, anc))
        return out

    def drain(self) -> None:
        while self.recv(1, timeout=0.05):
            pass

    def exchange(self, frames: list[bytes], expect: int, timeout: float = 2.0) -> list[bytes]:
        """Send ``frames``; return what comes back: ``expect`` frames (or fewer at
        ``timeout``), plus any extra frame arriving within 0.2 s after them."""
        self.drain()
        self.send(*frames)
        got = self.recv(expect, timeout)
        return got + self.recv(len(frames) + 1, timeout=0.2)


@pytest.fixture(scope="module")
def wire() -> Iterator[Wire]:
    tag = f"{os.getpid() % 100000}"
    pe_ns, sw_ns = f"wphw-t{tag}-pe", f"wphw-t{tag}-sw"
    pe_if, sw_if = f"wpt{tag}p", f"wpt{tag}s"
    made: list[str] = []
    sock: socket.socket | None = None
    try:
        for ns in (pe_ns, sw_ns):
            sh("ip", "netns", "add", ns)
            made.append(ns)
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", pe_if, "netns", pe_ns, "type", "veth", "peer", "name", sw_if,
           "netns", sw_ns)  # fmt: skip
        for ns, ifname in ((pe_ns, pe_if), (sw_ns, sw_if)):
            sh("ip", "-n", ns, "link", "set", ifname, "mtu", "9000", "up")
        pyroute2_netns.pushns(sw_ns)
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        finally:
            pyroute2_netns.popns()
        sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        sock.bind((sw_if, ETH_P_ALL))
        yield Wire(pe_ns=pe_ns, pe_if=pe_if, sw_ns=sw_ns, sw_if=sw_if, sock=sock)
    finally:
        if sock is not None:
            sock.close()
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


@contextmanager
def pe(wire: Wire, service: str, params: dict[str, object] | None = None, **kw: object
       ) -> Iterator[PERunner]:  # fmt: skip
    runner = PERunner(service, wire.pe_if, params or {}, netns=wire.pe_ns, **kw)  # type: ignore[arg-type]
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def nsh(inner: IP, spi: int = 0x10, si: int = 255) -> bytes:
    return bytes(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / NSH(ttl=63, mdtype=2, nextproto=1, spi=spi, si=si)
        / inner
    )


def test_nsh_roundtrip_si_decremented_spi_kept(wire: Wire) -> None:
    with pe(wire, "count", name="cnt1", stamp=True) as r:
        frames = [
            nsh(
                IP(src="10.0.0.1", dst="10.0.0.2", id=i) / UDP(sport=1000 + i, dport=53) / b"q",
                spi=0xABCDE,
                si=255 - i,
            )
            for i in range(5)
        ]
        got = wire.exchange(frames, 5)
        assert len(got) == 5
        for i, (sent, back) in enumerate(zip(frames, got, strict=True)):
            p = Ether(back)
            assert p[NSH].spi == 0xABCDE and p[NSH].si == 254 - i and p[NSH].ttl == 63
            assert back[22:] == sent[22:] and back[:21] == sent[:21]
        c = r.counters()
        assert c["rx"] == 5 and c["tx"] == 5 and c["service_counters"]["flows"] == 5
        stamps = r.handle_get("/stamps")[1]["stamps"]
        assert [(s["ip_id"], s["spi"], s["si"]) for s in stamps] == [
            (i, 0xABCDE, 255 - i) for i in range(5)
        ]


def test_encrypt_then_decrypt_restores_exact_packet(wire: Wire) -> None:
    inner = IP(src="10.0.0.1", dst="10.0.0.2", id=99) / TCP(sport=1, dport=2) / (b"plain" * 30)
    frame = nsh(inner, spi=5, si=255)
    with pe(wire, "encrypt", {"key": KEY_HEX, "key_id": 3}, name="enc"):
        (cipher,) = wire.exchange([frame], 1)
    assert Ether(cipher)[NSH].si == 254 and Ether(cipher)[NSH].spi == 5
    assert cipher[22 + 9] == esp.WP_ESP_PROTO and b"plain" not in cipher
    assert len(cipher) == len(frame) + esp.HEADER_LEN
    with pe(wire, "decrypt", {"key": KEY_HEX, "key_id": 3}, name="dec"):
        (plain,) = wire.exchange([cipher], 1)
    assert plain[22:] == frame[22:]
    assert Ether(plain)[NSH].si == 253


def test_fw_permit_deny_on_the_wire(wire: Wire) -> None:
    params = {
        "rules": [
            {"src": "10.0.0.0/24", "proto": "udp", "dst_port": "5000-5010", "action": "deny"}
        ],
        "default": "permit",
    }
    with pe(wire, "fw", params, name="fw1") as r:
        deny = nsh(IP(src="10.0.0.7", dst="10.1.0.1") / UDP(dport=5005) / b"x")
        permit = nsh(IP(src="10.0.0.7", dst="10.1.0.1") / UDP(dport=5011) / b"y")
        got = wire.exchange([deny, permit, deny], 1)
        assert len(got) == 1 and got[0][22:] == permit[22:]
        c = r.counters()
        assert c["by_reason"] == {"fw_deny": 2} and c["tx"] == 1


def test_ids_count_mark_drop_on_the_wire(wire: Wire) -> None:
    params = {
        "signatures": [
            {"name": "worm", "pattern": "WORM", "action": "drop"},
            {"name": "odd", "pattern": "odd", "action": "mark"},
        ],
        "mark_dscp": 10,
    }
    with pe(wire, "ids", params, name="ids1") as r:
        base = IP(src="192.168.0.1", dst="10.0.0.1") / TCP(sport=4, dport=80)
        frames = [nsh(base / b"fine"), nsh(base / b"an odd one"), nsh(base / b"WORM!")]
        got = wire.exchange(frames, 2)
        assert len(got) == 2
        assert got[0][22:] == frames[0][22:]
        marked = Ether(got[1])[IP]
        assert marked.tos >> 2 == 10
        ref = IP(bytes(marked))
        del ref.chksum
        assert IP(bytes(ref)).chksum == marked.chksum
        sc = r.counters()["service_counters"]
        assert sc["match_pkts"] == 2 and sc["drop_pkts"] == 1 and sc["mark_pkts"] == 1
        assert sc["sig_hits"] == {"worm": 1, "odd": 1}


def test_nat_rewrite_with_valid_checksums(wire: Wire) -> None:
    params = {"mappings": [{"inside": "192.168.0.5", "outside": "198.51.100.5"}]}
    with pe(wire, "nat", params, name="nat1"):
        out = nsh(IP(src="192.168.0.5", dst="8.8.8.8") / TCP(sport=3333, dport=80) / b"GET")
        back = nsh(IP(src="8.8.8.8", dst="198.51.100.5") / UDP(sport=53, dport=3333) / b"A")
        got = wire.exchange([out, back], 2)
    assert len(got) == 2
    for frame, field, want in ((got[0], "src", "198.51.100.5"), (got[1], "dst", "192.168.0.5")):
        ip = Ether(frame)[IP]
        assert getattr(ip, field) == want
        ref = ip.copy()
        del ref.chksum
        del ref.payload.chksum
        ref = IP(bytes(ref))
        assert (ip.chksum, ip.payload.chksum) == (ref.chksum, ref.payload.chksum)


def test_legacy_mode_keeps_vlan_and_has_no_nsh(wire: Wire) -> None:
    with pe(wire, "fw", {"rules": [{"dst": "10.9.9.9/32", "action": "deny"}]}, legacy=True,
            name="legacyfw") as r:  # fmt: skip
        ok = bytes(Ether() / Dot1Q(vlan=123, prio=5) / IP(dst="10.0.0.1") / UDP() / b"ok")
        bad = bytes(Ether() / Dot1Q(vlan=123) / IP(dst="10.9.9.9") / UDP() / b"no")
        got = wire.exchange([ok, bad, nsh(IP() / UDP())], 1)
        assert got == [ok]
        p = Ether(got[0])
        assert p[Dot1Q].vlan == 123 and p[Dot1Q].prio == 5 and NSH not in p
        assert r.counters()["by_reason"] == {"fw_deny": 1, "not_vlan": 1}


def test_malformed_frames_do_not_kill_the_pe(wire: Wire) -> None:
    with pe(wire, "nat", {"mappings": []}, name="nat2", control="127.0.0.1:0") as r:
        good = nsh(IP() / UDP() / b"ok")
        junk = [
            b"\xff" * 14,
            bytes(Ether() / IP() / UDP()),
            good[:25],
            good[:14] + b"\xc0" + good[15:],
            nsh(IP() / UDP(), si=0),
        ]
        got = wire.exchange([*junk, good], 1)
        assert got and got[-1][22:] == good[22:] and len(got) == 1
        assert r.alive
        c = r.counters()
        assert c["dropped"] == 5 and c["tx"] == 1
        assert c["by_reason"] == {"not_nsh": 2, "bad_ipv4": 1, "bad_nsh": 1, "si_zero": 1}
        assert r.control_address is not None
        pyroute2_netns.pushns(wire.pe_ns)  # TCP control lives in the PE's namespace
        try:
            health = query(r.control_address, "/health")
            counters = query(r.control_address, "/counters")
        finally:
            pyroute2_netns.popns()
        assert health["ok"] is True and health["name"] == "nat2" and health["service"] == "nat"
        assert counters["rx"] == 6 and counters["by_reason"]["not_nsh"] == 2


def test_cli_process_health_counters_and_death(wire: Wire, tmp_path: Path) -> None:
    control = str(tmp_path / "pe.sock")
    params = tmp_path / "ids.yaml"
    params.write_text("signatures:\n  - {pattern: BAD, action: drop}\n")
    proc = spawn_pe("ids", wire.pe_if, control=control, netns=wire.pe_ns, params=params,
                    name="ids-cli", stamp=True)  # fmt: skip
    try:
        assert query(control, "/health") | {"uptime_s": 0} == {
            "ok": True, "service": "ids", "name": "ids-cli", "iface": wire.pe_if,
            "legacy": False, "pid": query(control)["pid"], "uptime_s": 0,
            "rx": 0, "tx": 0,
        }  # fmt: skip
        got = wire.exchange([nsh(IP(id=1) / UDP() / b"BAD"), nsh(IP(id=2) / UDP() / b"ok")], 1,
                            timeout=1.0)  # fmt: skip
        assert len(got) == 1
        c = query(control, "/counters")
        assert (c["rx"], c["tx"], c["dropped"], c["by_reason"]) == (2, 1, 1, {"ids_drop": 1})
        stamps = query(control, "/stamps?since=0")["stamps"]
        assert [(s["ip_id"], s["verdict"]) for s in stamps] == [(1, "ids_drop"), (2, "tx")]
        assert query(control, "/stamps?since=1")["stamps"][0]["ip_id"] == 2
        with pytest.raises(PEError, match="HTTP 404"):
            query(control, "/flows")
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        with pytest.raises(PEError, match="failed"):
            query(control, "/health", timeout=0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_bad_params(wire: Wire, tmp_path: Path) -> None:
    with pytest.raises(PEError, match="exited with status 2"):
        spawn_pe("encrypt", wire.pe_if, control=str(tmp_path / "x.sock"), netns=wire.pe_ns,
                 params={"key": "00"}, stderr=subprocess.DEVNULL)  # fmt: skip


@pytest.mark.skipif(shutil.which("nft") is None, reason="needs nft (apt-get install nftables)")
def test_legacy_nftables_middlebox_hairpin() -> None:
    """An unmodified nftables firewall in a namespace returns proxied frames on the same port
    with the same VLAN tag, and drops what its rule set says."""
    tag = f"{os.getpid() % 100000}"
    mb_ns, sw_ns = f"wphw-t{tag}-mb", f"wphw-t{tag}-msw"
    mb_if, sw_if = f"wpt{tag}m", f"wpt{tag}n"
    made: list[str] = []
    sock: socket.socket | None = None
    try:
        for ns in (mb_ns, sw_ns):
            sh("ip", "netns", "add", ns)
            made.append(ns)
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        sh("ip", "link", "add", mb_if, "netns", mb_ns, "type", "veth", "peer", "name", sw_if,
           "netns", sw_ns)  # fmt: skip
        sh("ip", "-n", sw_ns, "link", "set", sw_if, "up")
        ruleset = legacy_nft.attach(
            mb_ns,
            mb_if,
            {"rules": [{"dst": "10.9.0.0/16", "proto": "udp", "dst_port": 53, "action": "deny"}]},
        )
        assert "udp dport 53 counter drop" in ruleset
        pyroute2_netns.pushns(sw_ns)
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        finally:
            pyroute2_netns.popns()
        sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        sock.bind((sw_if, ETH_P_ALL))
        w = Wire(pe_ns=mb_ns, pe_if=mb_if, sw_ns=sw_ns, sw_if=sw_if, sock=sock)
        ok = bytes(
            Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") / Dot1Q(vlan=77)
            / IP(dst="10.9.1.1") / UDP(dport=54) / b"pass"
        )  # fmt: skip
        bad = bytes(
            Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") / Dot1Q(vlan=77)
            / IP(dst="10.9.1.1") / UDP(dport=53) / b"drop"
        )  # fmt: skip
        got = []
        deadline = time.monotonic() + 5  # the bridge port may take a moment to forward
        while not got and time.monotonic() < deadline:
            got = [f for f in w.exchange([ok], 1, timeout=0.3) if f == ok]
        assert got == [ok], "nothing came back from the hairpin bridge"
        back = w.exchange([bad, ok, bad], 1)
        assert back == [ok]
        hits = {c["comment"]: c["packets"] for c in legacy_nft.counters(mb_ns)}
        assert hits["dst=10.9.0.0/16 proto=udp dst_port=53 -> deny"] == 2
        assert hits["default"] >= 2
    finally:
        if sock is not None:
            sock.close()
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
