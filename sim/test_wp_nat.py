"""cocotb tests of wp_nat (static NAT PE) against the Python reference model in sim/common.py.

The model (incremental RFC 1624 update) is itself checked against scapy's full checksum
recomputation in ``test_nat_model_matches_scapy``.
"""

from __future__ import annotations

import os
import random
from ipaddress import IPv4Address as A

import cocotb
import pytest
from cocotb.triggers import with_timeout

from sim.common import (
    TB,
    FrameMix,
    dec_si,
    frame_diff,
    ipv4_frame,
    nat_model,
    pad_to,
    parse,
    random_frame,
    require_slow,
    run_cocotb,
    write_read_back,
)
from wphw.netfpga.drivers import NatDriver, NatMapping

MAPPINGS = [
    NatMapping(dnat=False, match_addr=A("10.0.0.1"), new_addr=A("100.64.0.1")),
    NatMapping(
        dnat=True, match_addr=A("172.16.0.9"), match_port=80, new_addr=A("10.0.2.2"), new_port=8080
    ),
    NatMapping(
        dnat=False,
        match_addr=A("10.0.0.2"),
        match_port=1234,
        new_addr=A("100.64.0.2"),
        new_port=40000,
    ),
    NatMapping(dnat=True, match_addr=A("10.0.1.1"), new_addr=A("10.0.9.9")),
    NatMapping(dnat=False, match_addr=A("192.168.1.7"), match_port=53, new_addr=A("1.2.3.4")),
]
TRAFFIC = [(0.0, 0.0), (0.3, 0.4)]
MIX = dict(
    srcs=("10.0.0.1", "10.0.0.2", "192.168.1.7", "10.9.9.9"),
    dsts=("10.0.1.1", "172.16.0.9", "10.0.2.2"),
    ports=(53, 80, 1234, 8080, 0xFFFF),
)


async def setup(dut: object, seed: int) -> tuple[TB, NatDriver]:
    tb = TB(dut, seed=seed)
    await tb.reset()
    drv = await NatDriver.attach(tb.bus, base=0)
    assert drv.caps == int(os.environ.get("WP_NUM_MAPPINGS", "8"))
    await drv.set_mappings(MAPPINGS)
    return tb, drv


async def run_frames(tb: TB, drv: NatDriver, frames: list[bytes]) -> None:
    await drv.clear_counters()
    expected = []
    xlate = passed = 0
    hits = [0] * drv.caps
    for d in frames:
        out, idx = nat_model(MAPPINGS, d)
        expected.append(dec_si(out))
        if idx is None:
            passed += 1
        else:
            xlate += 1
            hits[idx] += 1
    for d in frames:
        await tb.send(d, src_port=0x10)
    for i, exp in enumerate(expected):
        # 100 us (20,000 cycles) per frame, as in test_wp_waypoint: a frame the RTL lost
        # fails in seconds of wall time, not after 2 ms of simulated time
        got, user = await with_timeout(tb.recv(), 100_000, "ns")
        assert got == exp, frame_diff(i, got, exp)
        assert user == (len(exp) | 0x10 << 16), f"frame {i}: tuser {user:#x}"
    await tb.cycles(100)
    assert tb.sink.empty(), "extra output frames"
    cnt = await drv.counters()
    assert (cnt.xlate_pkts, cnt.pass_pkts) == (xlate, passed)
    assert list(cnt.map_hits) == hits


def udp_csum_ffff_frame(nsh: tuple[int, int] | None) -> bytes:
    """A UDP frame SNAT 0 rewrites whose new checksum sums to zero, so it goes out as 0xFFFF
    (RFC 768: a computed 0 is sent as all ones; the incremental update gives 0x0000 there,
    which wp_nat's E5 zero test turns into 0xFFFF). The payload's first word w moves the
    checksum one for one: w is searched near the output checksum of w = 0. The oracle for the
    expected output is scapy: it recomputes the rewritten frame's UDP checksum as 0xFFFF."""
    from scapy.contrib.nsh import NSH  # noqa: F401 (binds the NSH EtherType for dissection)
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    def build(w: int) -> tuple[bytes, bytes]:
        d = ipv4_frame(src="10.0.0.1", proto="udp", nsh=nsh, payload=w.to_bytes(2, "big") + b"pad!")
        out, idx = nat_model(MAPPINGS, d)
        assert idx == 0, "the frame must hit SNAT mapping 0"
        return d, out

    n0 = int(Ether(build(0)[1])[UDP].chksum)
    for w in ((n0 + k) % 0x10000 for k in range(-2, 3)):
        d, out = build(w)
        ip = IP(bytes(Ether(out)[IP]))
        if ip[UDP].chksum == 0xFFFF:
            ip[UDP].chksum = None
            assert IP(bytes(ip))[UDP].chksum == 0xFFFF, "scapy disagrees with nat_model"
            return d
    raise AssertionError(f"no payload word near {n0:#06x} gives a 0xFFFF checksum")


def directed_frames() -> list[bytes]:
    f = [udp_csum_ffff_frame(None), udp_csum_ffff_frame((3, 9))]
    for nsh in (None, (3, 9)):
        f += [
            ipv4_frame(src="10.0.0.1", proto="udp", nsh=nsh),  # SNAT 0
            ipv4_frame(src="10.0.0.1", proto="tcp", nsh=nsh, payload=b"x" * 100),
            ipv4_frame(src="10.0.0.1", proto="icmp", nsh=nsh),
            ipv4_frame(src="10.0.0.1", proto="udp", nsh=nsh, udp_csum_zero=True),  # stays 0
            ipv4_frame(dst="172.16.0.9", proto="tcp", dport=80, nsh=nsh),  # DNAT+port 1
            ipv4_frame(dst="172.16.0.9", proto="tcp", dport=81, nsh=nsh),  # no port match
            ipv4_frame(src="10.0.0.2", proto="udp", sport=1234, nsh=nsh, mdtype=1),  # 2, MD1
            ipv4_frame(src="10.0.0.5", dst="10.0.1.1", proto="udp", nsh=nsh),  # 3
            ipv4_frame(src="10.0.0.1", proto="udp", frag=20, nsh=nsh),  # fragment: IP only
            ipv4_frame(src="10.0.0.1", proto="tcp", nsh=nsh, ihl_options=b"\x01" * 40),
            pad_to(ipv4_frame(src="10.9.9.9", proto="udp", nsh=nsh), 3000),  # pass
            ipv4_frame(src="10.0.0.1", proto="tcp", nsh=nsh)[:50],  # truncated TCP header
        ]
    f += [b"\x00" * 10, pad_to(bytes.fromhex("0200000000020200000000010806"), 60)]
    return f


@cocotb.test()
async def test_directed(dut: object) -> None:
    """SNAT/DNAT, port mappings, UDP zero checksum, ICMP, fragments, options, MD1, runts."""
    tb, drv = await setup(dut, 1)
    for p_idle, p_bp in TRAFFIC:
        tb.set_traffic(p_idle, p_bp)
        await run_frames(tb, drv, directed_frames())


@cocotb.test()
async def test_random(dut: object) -> None:
    """Random mixed NSH / plain / malformed frames of 60..9000 bytes."""
    tb, drv = await setup(dut, 2)
    count = int(os.environ.get("WP_FRAMES", "200"))
    rng = random.Random(int(os.environ.get("WP_SEED", "6")))
    mix = FrameMix(spis=[(3, 255), (3, 0)], **MIX)  # type: ignore[arg-type]
    for p_idle, p_bp in TRAFFIC:
        tb.set_traffic(p_idle, p_bp)
        frames = [random_frame(rng, mix)[0] for _ in range(count // len(TRAFFIC))]
        await run_frames(tb, drv, frames)
    dut._log.info("frame kinds: %s", mix.kinds)


def test_nat_model_matches_scapy() -> None:
    """For well-formed frames the incremental model equals a full scapy recomputation."""
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether

    rng = random.Random(11)
    mix = FrameMix(p_malformed=0.0, **MIX)  # type: ignore[arg-type]
    checked = 0
    for _ in range(400):
        d, _, kind = random_frame(rng, mix)
        p = parse(d)
        out, idx = nat_model(MAPPINGS, d)
        if kind != "plain" or idx is None or not p.first_frag:
            continue
        pkt = Ether(out)
        ref = pkt.copy()
        del ref[IP].chksum
        if TCP in ref:
            del ref[TCP].chksum
        if UDP in ref and pkt[UDP].chksum != 0:
            del ref[UDP].chksum
        assert bytes(ref) == out, f"{pkt.summary()}"
        checked += 1
    assert checked > 20


@pytest.mark.parametrize("num_mappings", [8])
def test_wp_nat(num_mappings: int) -> None:
    run_cocotb(
        toplevel="wp_nat",
        module="sim.test_wp_nat",
        parameters={"NUM_MAPPINGS": num_mappings},
        extra_env={"WP_NUM_MAPPINGS": str(num_mappings), "WP_FRAMES": "240"},
    )


@pytest.mark.slow
def test_wp_nat_long(request: pytest.FixtureRequest) -> None:
    require_slow(request.config)
    run_cocotb(
        toplevel="wp_nat",
        module="sim.test_wp_nat",
        testcase="test_random",
        parameters={"NUM_MAPPINGS": 8},
        extra_env={"WP_NUM_MAPPINGS": "8", "WP_FRAMES": os.environ.get("WP_LONG_FRAMES", "20000")},
        tag="_long",
    )


@cocotb.test()
async def test_empty_table(dut: object) -> None:
    """No valid mapping from reset on: frames pass unchanged but for SI."""
    tb = TB(dut, seed=3)
    await tb.reset()
    drv = await NatDriver.attach(tb.bus, base=0)
    frames = [pad_to(ipv4_frame(src="10.0.0.1", nsh=(1, 5)), 60) for _ in range(40)]
    for d in frames:
        await tb.send(d)
    for i, d in enumerate(frames):
        got, _ = await with_timeout(tb.recv(), 100_000, "ns")
        assert got == dec_si(d), frame_diff(i, got, dec_si(d))
    assert (await drv.counters()).pass_pkts == 40


@cocotb.test()
async def test_byte_strobes(dut: object) -> None:
    """AXI4-Lite byte writes (WSTRB) change only their byte lanes (wp_axil_regs merges them)."""
    from wphw.netfpga import regmap

    tb = TB(dut, seed=4)
    await tb.reset()
    await NatDriver.attach(tb.bus, base=0)
    match = regmap.WP_NAT.reg("MAP_MATCH_ADDR")
    ports = regmap.WP_NAT.reg("MAP_PORTS")
    other = await tb.bus.read32(match.addr(1))  # (earlier tests in this run may have set it)
    for reg, index in ((match, 0), (ports, 1)):
        addr = reg.addr(index)
        value = bytearray((0x11223344 + index).to_bytes(4, "little"))
        await tb.bus.write32(addr, int.from_bytes(value, "little"))
        assert await tb.bus.read32(addr) == int.from_bytes(value, "little")
        # (byte offset, bytes): cocotbext-axi sets WSTRB to exactly these lanes
        for off, data in ((0, b"\xa0"), (1, b"\xb1"), (3, b"\xc3"), (2, b"\xd2\xe3"), (1, b"\xf1")):
            await tb.axil.write(addr + off, data)
            value[off : off + len(data)] = data
            got = await tb.bus.read32(addr)
            assert got == int.from_bytes(value, "little"), (
                f"{reg.name}[{index}] after writing {data.hex()} at byte {off}: "
                f"read {got:#010x}, expected {int.from_bytes(value, 'little'):#010x}"
            )
    # the other element and a full-word write are untouched by the byte writes
    assert await tb.bus.read32(match.addr(1)) == other
    await tb.bus.write32(match.addr(0), 0xDEADBEEF)
    assert await tb.bus.read32(match.addr(0)) == 0xDEADBEEF


@cocotb.test()
async def test_registers(dut: object) -> None:
    """Every mapping register of every mapping reads back what was written (masked to its
    width), ID / VERSION / CAPS read their values, the counters read 0 after a clear, and
    addresses past the mappings and holes read 0: the read port's four register stages (one-hot
    selects, per mapping / per group of hit counters, per group, the OR of the groups)."""
    from wphw.netfpga import regmap

    blk = regmap.WP_NAT
    tb = TB(dut, seed=6)
    await tb.reset()
    drv = await NatDriver.attach(tb.bus, base=0)
    names = ["MAP_CTRL", "MAP_MATCH_ADDR", "MAP_NEW_ADDR", "MAP_PORTS"]
    await write_read_back(tb, blk, names, drv.caps, random.Random(12))
    assert await tb.bus.read32(blk.reg("ID").addr()) == blk.id
    assert await tb.bus.read32(blk.reg("VERSION").addr()) == blk.version
    assert await tb.bus.read32(blk.reg("CAPS").addr()) == drv.caps
    await drv.clear_counters()
    for name in ("XLATE_PKTS", "PASS_PKTS"):
        for word in (0, 4):
            assert await tb.bus.read32(blk.reg(name).addr() + word) == 0, name
    # the word after the last mapping, a hole between registers, past the hit counters
    map_end = blk.reg("MAP_CTRL").addr(0) + drv.caps * blk.reg("MAP_CTRL").stride
    hits_end = blk.reg("MAP_HITS").addr(0) + drv.caps * blk.reg("MAP_HITS").stride
    for addr in (map_end, map_end + 4, 0x010, 0x018, 0x030, hits_end, hits_end + 4):
        assert await tb.bus.read32(addr) == 0, f"{addr:#x} reads non-zero"
