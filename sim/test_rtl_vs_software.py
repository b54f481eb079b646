"""The RTL PE and the software PE produce the same bytes for the same frames (issue 13).

One set of service parameters in the policy format (docs/pes.md) configures both: the FPGA
block through the plan's register path (``wphw.services.parse`` → ``wphw.netfpga.plan`` →
the block's driver → AXI4-Lite) and the software PE (``wphw.pe.services.make_service``, what a
lab's PE process runs). The same NSH + IPv4 frames go through both; the software PE's output
(the processed datagram, SI − 1, the frame's tail unchanged — what ``wphw.pe.runtime`` sends)
must equal the RTL's output byte for byte, and a frame the one drops the other drops.
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import pytest
from cocotb.triggers import with_timeout

from sim.common import TB, frame_diff, ipv4_frame, pad_to, parse, run_cocotb
from wphw.pe.services import Drop, make_service

FW = {
    "rules": [
        {"src": "10.0.0.2/32", "proto": "udp", "dst_port": 53, "action": "deny"},
        {"dst": "10.0.1.0/24", "proto": "tcp", "dst_port": "80-443", "action": "permit"},
        {"dst": "172.16.0.0/12", "action": "deny"},
        {"proto": "udp", "src_port": "1000-2000", "action": "permit"},
    ],
    "default": "permit",
}
NAT = {
    "mappings": [
        {"inside": "10.0.0.1", "outside": "100.64.0.1"},
        {"inside": "10.0.1.1", "outside": "198.51.100.7"},
    ]
}
IDS = {
    "signatures": [
        {"pattern": "EVIL!", "action": "mark"},
        {"hex": "deadbeef", "action": "drop"},
        {"pattern": "note", "action": "pass"},
    ],
    "mark_dscp": 46,
}

SRCS = ("10.0.0.1", "10.0.0.2", "10.0.1.1", "192.168.9.9")
DSTS = ("10.0.1.1", "100.64.0.1", "198.51.100.7", "172.16.3.4", "10.0.2.2")
PAYLOADS = (b"", b"hello", b"xxEVIL!xx", b"\xde\xad\xbe\xef" * 3, b"a note", b"y" * 700)


def frames(seed: int, n: int) -> list[bytes]:
    """NSH (MD type 2) + IPv4 frames as a switch sends them to a PE, some padded."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        proto = rng.choice(("udp", "tcp", "icmp"))
        d = ipv4_frame(
            src=rng.choice(SRCS),
            dst=rng.choice(DSTS),
            proto=proto,
            sport=rng.choice((53, 1500, 40000)),
            dport=rng.choice((53, 80, 443, 8080)),
            payload=rng.choice(PAYLOADS),
            nsh=(rng.randrange(1, 1 << 24), rng.randrange(1, 256)),
            frag=rng.choice((0, 0, 0, 20)),
            udp_csum_zero=proto == "udp" and rng.random() < 0.2,
            ihl_options=b"\x01" * 4 if rng.random() < 0.15 else b"",  # NOPs: ports move
        )
        out.append(pad_to(d, 60) if rng.random() < 0.5 else d)
    return out


def software(service: str, params: dict[str, Any], d: bytes) -> bytes | None:
    """What the software PE sends back for frame ``d`` (None: dropped)."""
    p = parse(d)
    total = int.from_bytes(d[p.l3 + 2 : p.l3 + 4], "big")
    out = make_service(service, params, pe="sw").process(d[p.l3 : p.l3 + total])
    if isinstance(out, Drop):
        return None
    return d[:21] + bytes([p.si - 1]) + d[22 : p.l3] + out + d[p.l3 + total :]


async def configure(tb: TB, service: str, params: dict[str, Any]) -> None:
    from wphw.netfpga.drivers import FirewallDriver, NatDriver
    from wphw.netfpga.ids import IdsDriver
    from wphw.netfpga.plan import ids_signatures, nat_mappings
    from wphw.services import FwParams, parse_as

    if service == "fw":
        fw = parse_as(FwParams, "fw", params, "fw")
        drv = await FirewallDriver.attach(tb.bus, base=0)
        await drv.set_rules(fw.rules, default_permit=fw.default_permit)
    elif service == "nat":
        nat = await NatDriver.attach(tb.bus, base=0)
        await nat.set_mappings(nat_mappings(params, "nat"))
    else:
        sigs, dscp = ids_signatures(params, "ids")
        ids = await IdsDriver.attach(tb.bus, base=0)
        await ids.configure(dec_si=True)
        await ids.set_signatures(sigs)
        await ids.set_mark_dscp(dscp)


async def compare(dut: Any, service: str, params: dict[str, Any]) -> None:
    tb = TB(dut, seed=5)
    await tb.reset()
    await configure(tb, service, params)
    tb.set_traffic(0.2, 0.3)
    sent = frames(seed=11, n=150)
    expected = [e for e in (software(service, params, d) for d in sent) if e is not None]
    assert 10 < len(expected) < len(sent) or service == "nat", "the mix must pass and drop"
    for d in sent:
        await tb.send(d)
    for i, exp in enumerate(expected):
        got, _ = await with_timeout(tb.recv(), 2_000_000, "ns")
        assert got == exp, frame_diff(i, got, exp)
    await tb.cycles(200)
    assert tb.sink.empty(), "the RTL passed a frame the software PE dropped"


@cocotb.test()
async def test_fw(dut: Any) -> None:
    await compare(dut, "fw", FW)


@cocotb.test()
async def test_nat(dut: Any) -> None:
    await compare(dut, "nat", NAT)


@cocotb.test()
async def test_ids(dut: Any) -> None:
    await compare(dut, "ids", IDS)


@pytest.mark.parametrize("service", ["fw", "nat", "ids"])
def test_rtl_matches_software_pe(service: str) -> None:
    top = {"fw": "wp_fw", "nat": "wp_nat", "ids": "wp_ids"}[service]
    run_cocotb(
        toplevel=top, module="sim.test_rtl_vs_software", testcase=f"test_{service}", tag="_vs_sw"
    )
