"""cocotb tests of wp_fw (firewall PE) against the Python reference model in sim/common.py."""

from __future__ import annotations

import ipaddress
import os
import random

import cocotb
import pytest
from cocotb.triggers import with_timeout

from sim.common import (
    TB,
    FrameMix,
    check_byte_writes,
    dec_si,
    frame_diff,
    fw_model,
    ipv4_frame,
    long_stalls,
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
    tb: TB,
    drv: FirewallDriver,
    frames: list[bytes],
    default_permit: bool = DEFAULT_PERMIT,
    rules: list[FwRule] = RULES,
) -> None:
    """Send frames, check every output against the model, then check every counter."""
    await drv.set_rules(rules, default_permit=default_permit, nonip_permit=NONIP_PERMIT)
    await drv.clear_counters()
    expected: list[bytes] = []
    permit = deny = default = nonip = 0
    hits = [0] * drv.caps
    for d in frames:
        dec = fw_model(rules, default_permit, NONIP_PERMIT, d)
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
        # 100 us (20,000 cycles) per frame, as in test_wp_waypoint: a frame the RTL lost
        # fails in seconds of wall time, not after 2 ms of simulated time
        got, user = await with_timeout(tb.recv(), 100_000, "ns")
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


# port ranges whose bounds share the port's high byte, cross a byte, or sit at 0 / 0xFFFF, and
# prefixes ending inside a byte, at a byte boundary, /0 and /32: the match compares each byte
# (E1) and combines them (E2)
BOUND_RANGES = [(0x1234, 0x12F0), (0x00FF, 0x0100), (0x0100, 0x01FF), (0, 0), (0xFF00, 0xFFFF)]
BOUND_NETS = ["10.0.0.0/9", "10.1.2.0/24", "10.1.2.3/32", "10.1.2.128/25"]


def bound_rules() -> list[FwRule]:
    """Rule i (i < 5): dst 10.9.i.0/24 and dport range i; rule 5: dst 10.8.0.0/16 and sport
    0x00FF..0x0100; rule 6: src one of BOUND_NETS, dst 10.7.0.0/16; rule 7: dst 10.6.1.0/31.
    Each rule's frames have its own destination, so a frame that misses its rule takes the
    default action (or, for rules 0..5, rule 6 when its source matches there: not used)."""
    rules = [
        FwRule(permit=i % 2 == 0, dst=N(f"10.9.{i}.0/24"), proto=17, dport=r)
        for i, r in enumerate(BOUND_RANGES)
    ]
    rules.append(FwRule(permit=True, dst=N("10.8.0.0/16"), sport=(0x00FF, 0x0100)))
    rules.append(FwRule(permit=False, src=N(BOUND_NETS[0]), dst=N("10.7.0.0/16")))
    rules.append(FwRule(permit=True, dst=N("10.6.1.0/31"), proto=6))
    return rules


def near(lo: int, hi: int) -> list[int]:
    """Ports around a range's bounds (and the other byte's neighbours), inside 0..0xFFFF."""
    ports = {lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, lo ^ 0x100, hi ^ 0x100, lo ^ 1, hi ^ 0x80}
    return sorted(p for p in ports if 0 <= p <= 0xFFFF)


def bound_frames() -> list[bytes]:
    src = "172.31.0.1"  # in no BOUND_NETS prefix
    f = []
    for i, (lo, hi) in enumerate(BOUND_RANGES):
        f += [ipv4_frame(src=src, dst=f"10.9.{i}.5", proto="udp", dport=p) for p in near(lo, hi)]
    f += [ipv4_frame(src=src, dst="10.8.3.3", proto="tcp", sport=p) for p in near(0xFF, 0x100)]
    for a in ("10.127.255.255", "10.128.0.0", "10.0.0.0", "9.255.255.255", "11.0.0.0"):
        f.append(ipv4_frame(src=a, dst="10.7.1.1", proto="tcp"))
    for a in ("10.6.1.0", "10.6.1.1", "10.6.1.2", "10.6.0.1", "10.7.1.1", "138.6.1.0"):
        f.append(ipv4_frame(src=src, dst=a, proto="tcp"))
    return f


@cocotb.test()
async def test_bounds(dut: object) -> None:
    """Port ranges and prefixes at and next to their bounds (per-byte compares combined)."""
    tb, drv = await setup(dut, 4)
    rules = bound_rules()[: drv.caps]
    await run_frames(tb, drv, bound_frames(), default_permit=False, rules=rules)
    await run_frames(tb, drv, bound_frames(), default_permit=True, rules=rules)
    for net in BOUND_NETS[1:]:
        rules[6] = FwRule(permit=False, src=N(net), dst=N("10.7.0.0/16"))
        base = net.rsplit("/", 1)[0].rsplit(".", 1)[0]
        frames = [
            ipv4_frame(src=f"{base}.{b}", dst="10.7.1.1", proto="udp")
            for b in (0, 1, 2, 3, 4, 127, 128, 129, 255)
        ]
        frames.append(ipv4_frame(src="10.1.3.3", dst="10.7.1.1", proto="udp"))
        await run_frames(tb, drv, frames, default_permit=True, rules=rules)


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
    await check_byte_writes(
        tb, blk.reg("RULE_SPORT").addr(drv.caps - 1), want[("RULE_SPORT", drv.caps - 1)]
    )
