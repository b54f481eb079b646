"""cocotb tests of wp_fw (firewall PE) against the Python reference model in sim/common.py."""

from __future__ import annotations

import ipaddress
import os
import random
from collections.abc import Iterator

import cocotb
import pytest
from cocotb.triggers import with_timeout

from sim.common import (
    TB,
    FrameMix,
    dec_si,
    frame_diff,
    fw_model,
    ipv4_frame,
    pad_to,
    random_frame,
    require_slow,
    run_cocotb,
    write_read_back,
)
from wphw.netfpga.drivers import FirewallDriver, FwRule

N = ipaddress.IPv4Network

RULES = [
    FwRule(permit=False, src=N("10.0.0.2/32"), proto=17, dport=(53, 53)),
    FwRule(permit=True, src=N("10.0.0.0/24"), dst=N("10.0.1.0/24"), proto=6, dport=(80, 443)),
    FwRule(permit=False, dst=N("172.16.0.0/12")),
    FwRule(permit=True, proto=17, sport=(1000, 2000)),
    FwRule(permit=True, src=N("192.168.0.0/16"), proto=1),
]
DEFAULT_PERMIT = False
NONIP_PERMIT = True
TRAFFIC = [(0.0, 0.0), (0.3, 0.4)]  # (p idle on source, p back-pressure on sink)


async def setup(dut: object, seed: int) -> tuple[TB, FirewallDriver]:
    tb = TB(dut, seed=seed)
    await tb.reset()
    drv = await FirewallDriver.attach(tb.bus, base=0)
    assert drv.caps == int(os.environ.get("WP_NUM_RULES", "8"))
    await drv.set_rules(RULES, default_permit=DEFAULT_PERMIT, nonip_permit=NONIP_PERMIT)
    return tb, drv


async def run_frames(
    tb: TB, drv: FirewallDriver, frames: list[bytes], default_permit: bool = DEFAULT_PERMIT
) -> None:
    """Send frames, check every output against the model, then check every counter."""
    await drv.set_rules(RULES, default_permit=default_permit, nonip_permit=NONIP_PERMIT)
    await drv.clear_counters()
    expected: list[bytes] = []
    permit = deny = default = nonip = 0
    hits = [0] * drv.caps
    for d in frames:
        dec = fw_model(RULES, default_permit, NONIP_PERMIT, d)
        if dec.permit:
            expected.append(dec_si(d))
            permit += 1
        else:
            deny += 1
        if dec.nonip:
            nonip += 1
        elif dec.rule is None:
            default += 1
        else:
            hits[dec.rule] += 1
    for d in frames:
        await tb.send(d, src_port=0x04)
    for i, exp in enumerate(expected):
        got, user = await with_timeout(tb.recv(), 2_000_000, "ns")
        assert got == exp, frame_diff(i, got, exp)
        assert user == (len(exp) | 0x04 << 16), f"frame {i}: tuser {user:#x}"
    await tb.cycles(200)
    assert tb.sink.empty(), "extra output frames"
    cnt = await drv.counters()
    assert (cnt.permit_pkts, cnt.deny_pkts, cnt.default_pkts, cnt.nonip_pkts) == (
        permit,
        deny,
        default,
        nonip,
    )
    assert list(cnt.rule_hits) == hits


def directed_frames() -> list[bytes]:
    f = []
    for nsh in (None, (7, 200), (7, 0)):
        f += [
            ipv4_frame(src="10.0.0.2", proto="udp", dport=53, nsh=nsh),  # rule 0 deny
            ipv4_frame(src="10.0.0.9", dst="10.0.1.5", proto="tcp", dport=443, nsh=nsh),  # 1
            ipv4_frame(src="10.0.0.9", dst="10.0.1.5", proto="tcp", dport=444, nsh=nsh),  # def
            ipv4_frame(dst="172.20.1.1", proto="tcp", nsh=nsh),  # rule 2 deny
            ipv4_frame(proto="udp", sport=1500, dport=9, nsh=nsh),  # rule 3
            ipv4_frame(src="192.168.3.3", proto="icmp", nsh=nsh),  # rule 4
            pad_to(ipv4_frame(proto="udp", sport=1999, nsh=nsh, mdtype=1), 1500),  # 3, MD1
            ipv4_frame(proto="udp", sport=1500, nsh=nsh, frag=10),  # fragment: ports 0 -> def
            ipv4_frame(proto="udp", sport=1500, nsh=nsh, ihl_options=b"\x01" * 40),  # IHL 15
        ]
    arp = pad_to(bytes.fromhex("0200000000020200000000010806"), 60)
    f += [arp, b"\x01" * 13, ipv4_frame(proto="tcp")[:40], ipv4_frame(proto="udp")[:36]]
    bad = bytearray(ipv4_frame(proto="udp", sport=1500, nsh=(7, 9)))
    bad[14] |= 0x40  # NSH version 1: not IPv4, SI untouched
    f.append(bytes(bad))
    return f


@cocotb.test()
async def test_directed(dut: object) -> None:
    """Every rule, default and non-IP path, plain / NSH MD2 / MD1, SI 0, fragments, runts."""
    tb, drv = await setup(dut, 1)
    for p_idle, p_bp in TRAFFIC:
        tb.set_traffic(p_idle, p_bp)
        await run_frames(tb, drv, directed_frames())


@cocotb.test()
async def test_random(dut: object) -> None:
    """Random mixed NSH / plain / malformed frames of 60..9000 bytes."""
    tb, drv = await setup(dut, 2)
    count = int(os.environ.get("WP_FRAMES", "200"))
    rng = random.Random(int(os.environ.get("WP_SEED", "5")))
    mix = FrameMix(spis=[(7, 255), (7, 1), (8, 0)], mtu=9000, max_size=9000)
    for p_idle, p_bp in TRAFFIC:
        tb.set_traffic(p_idle, p_bp)
        for default_permit in (True, False):
            frames = [random_frame(rng, mix)[0] for _ in range(count // len(TRAFFIC) // 2)]
            await run_frames(tb, drv, frames, default_permit)
    dut._log.info("frame kinds: %s", mix.kinds)


def long_stalls() -> Iterator[int]:
    """Sink pause pattern: 64 cycles stalled, then 8 ready, repeated (cocotbext-axi pause)."""
    while True:
        yield from [1] * 64
        yield from [0] * 8


@cocotb.test()
async def test_long_stall(dut: object) -> None:
    """Back-to-back frames into a sink stalled for 64 cycles at a time: every FIFO and
    wp_pe_out's output FIFO fill (its credit count stops the join before the FIFO overflows;
    random back-pressure reaches that bound only by chance, in long runs of stalls)."""
    tb, drv = await setup(dut, 3)
    tb.source.clear_pause_generator()
    tb.sink.set_pause_generator(long_stalls())
    rng = random.Random(9)
    mix = FrameMix(spis=[(7, 255), (7, 1)], mtu=1500, max_size=1500)
    frames = [random_frame(rng, mix)[0] for _ in range(60)]
    frames += [ipv4_frame(proto="udp", sport=1500, dport=9, nsh=(7, 200))] * 40  # 2 beats each
    await run_frames(tb, drv, frames)


@pytest.mark.parametrize("num_rules", [8, 16])
def test_wp_fw(num_rules: int) -> None:
    run_cocotb(
        toplevel="wp_fw",
        module="sim.test_wp_fw",
        parameters={"NUM_RULES": num_rules},
        extra_env={
            "WP_NUM_RULES": str(num_rules),
            "WP_FRAMES": "120" if num_rules == 16 else "240",
        },
    )


@pytest.mark.slow
def test_wp_fw_long(request: pytest.FixtureRequest) -> None:
    require_slow(request.config)
    run_cocotb(
        toplevel="wp_fw",
        module="sim.test_wp_fw",
        testcase="test_random",
        parameters={"NUM_RULES": 8},
        extra_env={"WP_NUM_RULES": "8", "WP_FRAMES": os.environ.get("WP_LONG_FRAMES", "20000")},
        tag="_long",
    )


@cocotb.test()
async def test_empty_table(dut: object) -> None:
    """No valid rule from reset on: every IPv4 frame takes the default action (permit here)."""
    tb = TB(dut, seed=3)
    await tb.reset()
    drv = await FirewallDriver.attach(tb.bus, base=0)
    await drv.set_rules([], default_permit=True)
    frames = [pad_to(ipv4_frame(proto="udp", nsh=(1, 5)), 60) for _ in range(40)]
    for d in frames:
        await tb.send(d)
    for i, d in enumerate(frames):
        got, _ = await with_timeout(tb.recv(), 100_000, "ns")
        assert got == dec_si(d), frame_diff(i, got, dec_si(d))
    cnt = await drv.counters()
    assert (cnt.permit_pkts, cnt.default_pkts) == (40, 40)


@cocotb.test()
async def test_registers(dut: object) -> None:
    """Every rule register of every rule reads back what was written (masked to its width),
    the fixed registers read their values, addresses past the rules and holes read 0, and byte
    writes (WSTRB) change only their lanes: the read port's two registered mux levels (the
    rule's fields by its index, then the field) and the write merge through them."""
    from wphw.netfpga import regmap

    blk = regmap.WP_FW
    tb = TB(dut, seed=5)
    await tb.reset()
    drv = await FirewallDriver.attach(tb.bus, base=0)
    names = ["RULE_CTRL", "RULE_SRC_ADDR", "RULE_SRC_PLEN", "RULE_DST_ADDR", "RULE_DST_PLEN"]
    names += ["RULE_PROTO", "RULE_SPORT", "RULE_DPORT"]
    want = await write_read_back(tb, blk, names, drv.caps, random.Random(11))
    await tb.bus.write32(blk.reg("DEFAULT_ACTION").addr(), 1)
    await tb.bus.write32(blk.reg("NONIP_ACTION").addr(), 0)
    assert await tb.bus.read32(blk.reg("CAPS").addr()) == drv.caps
    assert await tb.bus.read32(blk.reg("DEFAULT_ACTION").addr()) == 1
    assert await tb.bus.read32(blk.reg("NONIP_ACTION").addr()) == 0
    # the word after the last rule, a hole between registers, the HI word of a counter
    rule_end = blk.reg("RULE_CTRL").addr(0) + drv.caps * blk.reg("RULE_CTRL").stride
    for addr in (rule_end, rule_end + 4, 0x018, 0x01C, 0x040):
        assert await tb.bus.read32(addr) == 0, f"{addr:#x} reads non-zero"
    # byte writes: a 32-bit rule field of the last rule
    addr = blk.reg("RULE_SPORT").addr(drv.caps - 1)
    value = bytearray(want[("RULE_SPORT", drv.caps - 1)].to_bytes(4, "little"))
    for off, data in ((0, b"\xa0"), (3, b"\xc3"), (1, b"\xb1\xd2")):
        await tb.axil.write(addr + off, data)
        value[off : off + len(data)] = data
        assert await tb.bus.read32(addr) == int.from_bytes(value, "little"), f"byte {off}"
