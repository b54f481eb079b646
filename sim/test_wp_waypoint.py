"""cocotb tests of wp_waypoint: dispatch by (SPI, SI) to fw, nat and an external PE port.

The external PE (index 2) is modelled in Python on the m_axis_pe / s_axis_pe ports (it
decrements SI, as every PE does) — the interface the chacha20 / ids PEs plug into.
Expected outputs come from waypoint_model / fw_model / nat_model in sim/common.py.
"""

from __future__ import annotations

import ipaddress
import os
import random
from collections import deque

import cocotb
import pytest
from cocotb.triggers import with_timeout

from sim.common import (
    TB,
    FrameMix,
    check_byte_writes,
    dec_si,
    fw_model,
    ipv4_frame,
    long_stalls,
    nat_model,
    pad_to,
    random_frame,
    require_slow,
    run_cocotb,
    tuser,
    waypoint_model,
    write_read_back,
)
from wphw.netfpga.drivers import (
    FirewallDriver,
    FwRule,
    NatDriver,
    NatMapping,
    WaypointDriver,
    WaypointEntry,
)

ENTRIES = [
    WaypointEntry(spi=10, si=255, pe=0, port=0x02),
    WaypointEntry(spi=10, si=254, pe=1, port=0x04),
    WaypointEntry(spi=10, si=253, pe=2, port=0x08),
    WaypointEntry(spi=11, si=255, pe=1, port=0x10),
    WaypointEntry(spi=0xABCDEF, si=0, pe=2, port=0x20),
]
DEFAULT_PORT = 0x40
MTU = 4000
RULES = [
    FwRule(permit=False, src=ipaddress.IPv4Network("10.0.0.2/32")),
    FwRule(permit=True, proto=17),
]
FW_DEFAULT = True
MAPPINGS = [
    NatMapping(
        dnat=False,
        match_addr=ipaddress.IPv4Address("10.0.0.1"),
        new_addr=ipaddress.IPv4Address("100.64.0.1"),
    )
]
TRAFFIC = [(0.0, 0.0), (0.3, 0.4)]
SPIS = [(10, 255), (10, 254), (10, 253), (11, 255), (0xABCDEF, 0), (12, 1)]


class WaypointTB(TB):
    def __init__(self, dut: object, seed: int) -> None:
        super().__init__(dut, seed=seed)
        from cocotbext.axi import AxiStreamBus, AxiStreamSink, AxiStreamSource

        for name in ("awready", "wready", "bvalid", "bresp", "arready", "rvalid", "rdata", "rresp"):
            getattr(dut, f"m_axil_pe_{name}").value = 0
        self.pe_sink = AxiStreamSink(
            AxiStreamBus.from_prefix(dut, "m_axis_pe"), dut.clk, dut.rst, reset_active_level=True
        )
        self.pe_source = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "s_axis_pe"), dut.clk, dut.rst, reset_active_level=True
        )
        self.pe_sink.log.setLevel("WARNING")
        self.pe_source.log.setLevel("WARNING")
        cocotb.start_soon(self.external_pe())

    async def external_pe(self) -> None:
        """PE 2 stand-in: returns every frame with SI decremented (the PE rule)."""
        from cocotbext.axi import AxiStreamFrame

        while True:
            frame = await self.pe_sink.recv()
            user = frame.tuser[0] if isinstance(frame.tuser, list) else frame.tuser
            await self.pe_source.send(AxiStreamFrame(dec_si(bytes(frame.tdata)), tuser=user))

    def set_traffic(self, p_idle: float, p_backpressure: float) -> None:
        super().set_traffic(p_idle, p_backpressure)
        from sim.common import random_pause

        if p_backpressure > 0:
            self.pe_sink.set_pause_generator(random_pause(self.rng, p_backpressure))
        else:
            self.pe_sink.clear_pause_generator()


async def setup(dut: object, seed: int) -> tuple[WaypointTB, WaypointDriver]:
    tb = WaypointTB(dut, seed)
    await tb.reset()
    wp = await WaypointDriver.attach(tb.bus)
    fw = await FirewallDriver.attach(tb.bus)
    nat = await NatDriver.attach(tb.bus)
    await wp.set_entries(ENTRIES)
    await wp.set_default_port(DEFAULT_PORT)
    await wp.set_mtu(MTU)
    await fw.set_rules(RULES, default_permit=FW_DEFAULT)
    await nat.set_mappings(MAPPINGS)
    return tb, wp


def expected_output(pe: int | None, d: bytes) -> bytes | None:
    if pe is None:
        return d
    if pe == 0:
        return dec_si(d) if fw_model(RULES, FW_DEFAULT, True, d).permit else None
    if pe == 1:
        return dec_si(nat_model(MAPPINGS, d)[0])
    return dec_si(d)


async def run_frames(tb: WaypointTB, wp: WaypointDriver, frames: list[tuple[bytes, int]]) -> None:
    await wp.clear_counters()
    queues: dict[int | None, deque[tuple[bytes, int]]] = {}
    counts = {"nonnsh": 0, "miss": 0, "drop": 0}
    pkts = [0] * wp.caps
    nbytes = [0] * wp.caps
    total = 0
    for d, plen in frames:
        dec = waypoint_model(ENTRIES, DEFAULT_PORT, MTU, d, plen)
        if dec.entry is not None:
            pkts[dec.entry] += 1
            nbytes[dec.entry] += len(d)
        else:
            counts[dec.counter] += 1
        if dec.drop:
            continue
        out = expected_output(dec.pe, d)
        if out is not None:
            queues.setdefault(dec.pe, deque()).append((out, tuser(plen, 0x01, dec.port)))
            total += 1
    for d, plen in frames:
        await tb.send(d, src_port=0x01, pkt_len=plen)
    for i in range(total):
        # 100 us (20,000 cycles) per frame: the largest frame here is 282 beats; a frame
        # the RTL lost fails in seconds of wall time, not after 4 ms of simulated time
        got, user = await with_timeout(tb.recv(), 100_000, "ns")
        path = next((k for k, q in queues.items() if q and q[0] == (got, user)), "none")
        assert path != "none", (
            f"output {i} ({len(got)} B, tuser {user:#x}) is not the next frame of any path; "
            f"heads: {[(k, len(q[0][0]), hex(q[0][1])) for k, q in queues.items() if q]}"
        )
        queues[path].popleft()  # type: ignore[index]
    await tb.cycles(200)
    assert tb.sink.empty(), "extra output frames"
    cnt = await wp.counters()
    assert (cnt.nonnsh_pkts, cnt.miss_pkts, cnt.drop_pkts) == (
        counts["nonnsh"],
        counts["miss"],
        counts["drop"],
    )
    assert list(cnt.entry_pkts) == pkts
    assert list(cnt.entry_bytes) == nbytes


def directed_frames() -> list[tuple[bytes, int]]:
    f = [ipv4_frame(nsh=s, proto=p) for s in SPIS for p in ("udp", "tcp")]
    f += [
        ipv4_frame(src="10.0.0.2", nsh=(10, 255)),  # fw deny
        ipv4_frame(src="10.0.0.1", nsh=(10, 254)),  # nat hit
        pad_to(ipv4_frame(nsh=(10, 253), mdtype=1), 2000),  # ext PE, MD1
        ipv4_frame(),  # plain → default port
        b"\x01" * 5,  # runt → non-NSH
        ipv4_frame(nsh=(10, 255))[:20],  # NSH cut before the SP header → miss
    ]
    bad = bytearray(ipv4_frame(nsh=(10, 255)))
    bad[16] = (bad[16] & 0xF0) | 3  # MD type 3 → miss
    f.append(bytes(bad))
    frames = [(d, len(d)) for d in f]
    big = pad_to(ipv4_frame(nsh=(10, 255)), MTU + 1)
    frames.append((big, len(big)))  # over MTU → drop
    return frames


@cocotb.test()
async def test_directed(dut: object) -> None:
    """Each entry and PE, default port, miss, bad NSH, runt, over-MTU drop."""
    tb, wp = await setup(dut, 1)
    for p_idle, p_bp in TRAFFIC:
        tb.set_traffic(p_idle, p_bp)
        await run_frames(tb, wp, directed_frames())


@cocotb.test()
async def test_random(dut: object) -> None:
    """Random mixed NSH / plain / malformed frames of 60..9000 bytes over every path."""
    tb, wp = await setup(dut, 2)
    count = int(os.environ.get("WP_FRAMES", "200"))
    rng = random.Random(int(os.environ.get("WP_SEED", "7")))
    mix = FrameMix(spis=SPIS, mtu=MTU, max_size=9000)
    for p_idle, p_bp in TRAFFIC:
        tb.set_traffic(p_idle, p_bp)
        frames = [random_frame(rng, mix)[:2] for _ in range(count // len(TRAFFIC))]
        await run_frames(tb, wp, frames)
    dut._log.info("frame kinds: %s", mix.kinds)


@cocotb.test()
async def test_long_stall(dut: object) -> None:
    """Back-to-back frames into a sink and an external PE stalled for 64 cycles at a time: the
    PEs' FIFOs, the bypass slice and the dispatch FIFO fill (its credit count stops the input
    before the FIFO overflows; random back-pressure reaches that bound only by chance)."""
    tb, wp = await setup(dut, 3)
    tb.source.clear_pause_generator()
    tb.sink.set_pause_generator(long_stalls())
    tb.pe_sink.set_pause_generator(long_stalls())
    rng = random.Random(11)
    mix = FrameMix(spis=SPIS, mtu=MTU, max_size=600)
    frames = [random_frame(rng, mix)[:2] for _ in range(120)]
    plain = ipv4_frame()
    frames += [(plain, len(plain))] * 40  # bypass, 2 beats each
    await run_frames(tb, wp, frames)


@cocotb.test()
async def test_registers(dut: object) -> None:
    """Every entry register of every entry reads back what was written (masked to its width),
    the fixed registers read their values, holes and addresses past the entries read 0, and byte
    writes (WSTRB) change only their lanes: the read port's four registered levels (one-hot
    selects, per entry / per group of counters, per group, the OR of the groups) and the write
    merge through them. Counters (LO then HI) are read by run_frames in the other tests."""
    from wphw.netfpga import regmap

    blk = regmap.WP_WAYPOINT
    tb = WaypointTB(dut, seed=4)
    await tb.reset()
    wp = await WaypointDriver.attach(tb.bus)
    names = ["ENTRY_KEY", "ENTRY_PE", "ENTRY_PORT", "ENTRY_CTRL"]
    want = await write_read_back(tb, blk, names, wp.caps, random.Random(12))
    await wp.set_default_port(0xA5)
    await wp.set_mtu(0x1234)
    fixed = {"ID": blk.id, "VERSION": blk.version, "CAPS": wp.caps}
    fixed |= {"DEFAULT_PORT": 0xA5, "MTU": 0x1234, "NUM_PES": regmap.PE_EXT_FIRST + 1}  # EXT_PES 1
    for name, value in fixed.items():
        got = await tb.bus.read32(blk.reg(name).addr())
        assert got == value, f"{name}: read {got:#x}, expected {value:#x}"
    # CTRL (command bits), holes, the word after the last entry and after the last counters
    ent_end = blk.reg("ENTRY_KEY").addr(0) + wp.caps * blk.reg("ENTRY_KEY").stride
    cnt_end = blk.reg("ENTRY_PKTS").addr(0) + wp.caps * blk.reg("ENTRY_PKTS").stride
    for addr in (0x00C, 0x01C, 0x038, 0x0FC, ent_end, ent_end + 4, cnt_end, cnt_end + 12):
        assert await tb.bus.read32(addr) == 0, f"{addr:#x} reads non-zero"
    # byte writes: the key of the last entry
    await check_byte_writes(
        tb, blk.reg("ENTRY_KEY").addr(wp.caps - 1), want[("ENTRY_KEY", wp.caps - 1)]
    )


@pytest.mark.parametrize("entries", [6])
def test_wp_waypoint(entries: int) -> None:
    run_cocotb(
        toplevel="wp_waypoint",
        module="sim.test_wp_waypoint",
        parameters={"NUM_ENTRIES": entries, "EXT_PES": 1, "FW_RULES": 4, "NAT_MAPPINGS": 2},
        extra_env={"WP_FRAMES": "240"},
    )


@pytest.mark.slow
def test_wp_waypoint_long(request: pytest.FixtureRequest) -> None:
    require_slow(request.config)
    run_cocotb(
        toplevel="wp_waypoint",
        module="sim.test_wp_waypoint",
        testcase="test_random",
        parameters={"NUM_ENTRIES": 8, "EXT_PES": 1, "FW_RULES": 4, "NAT_MAPPINGS": 2},
        extra_env={"WP_FRAMES": os.environ.get("WP_LONG_FRAMES", "100000")},
        tag="_long",
    )
