"""cocotb test of wp_hdr_parse (the PEs' shared header parser) on its own, against sim/common.py's
``parse``: every place the inner IPv4 header can start (plain, and NSH of every length and MD
type, valid or not), every IHL, and every frame length around the checks' thresholds, with
idle cycles between beats and between frames, the bus holding random data in them. The PE tests
reach the parser only through the frames their random mix builds (NSH length 2 or 6, IHL 5);
this one walks the edges."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from sim.common import ETH_IPV4, ETH_NSH, parse, run_cocotb

BEAT = 32  # bytes per beat (DATA_WIDTH 256)
WIN = 128  # bytes the parse window holds (WIN_BEATS 4)


def frame(
    rng: random.Random,
    *,
    nsh: tuple[int, int, int, int] | None,
    version: int,
    ihl: int,
    proto: int,
    frag: int,
) -> bytes:
    """Ethernet [+ NSH (ver, length, md, next)] + an IPv4 header of ``ihl`` words + 40 bytes."""
    eth = bytes.fromhex("020000000002020000000001")
    if nsh is None:
        head = eth + ETH_IPV4.to_bytes(2, "big")
    else:
        ver, length, md, nxt = nsh
        base = bytes([ver << 6, length & 0x3F, md & 0xF, nxt])
        sp = rng.getrandbits(24).to_bytes(3, "big") + bytes([rng.randint(0, 255)])
        meta = bytes(rng.getrandbits(8) for _ in range(4 * max(length - 2, 0)))
        head = eth + ETH_NSH.to_bytes(2, "big") + base + sp + meta
    ip = bytearray(rng.getrandbits(8) for _ in range(max(ihl, 5) * 4))
    ip[0] = (version << 4) | ihl
    ip[6] = (ip[6] & 0xE0) | (frag >> 8)
    ip[7] = frag & 0xFF
    ip[9] = proto
    return head + bytes(ip) + bytes(rng.getrandbits(8) for _ in range(40))


def frames(rng: random.Random) -> Iterator[bytes]:
    nshs: list[tuple[int, int, int, int] | None] = [None]
    nshs += [(0, length, 2, 1) for length in range(0, 9)]  # q = 0..6 valid, 7 and 8 too long
    nshs += [(0, 6, 1, 1), (0, 4, 1, 1), (1, 2, 2, 1), (0, 2, 3, 1), (0, 2, 2, 3)]
    for nsh in nshs:
        for ihl in range(16):
            for proto in (6, 17, 1):
                version = 4 if rng.random() < 0.9 else 6
                frag = 0 if rng.random() < 0.8 else rng.randint(1, 0x1FFF)
                d = frame(rng, nsh=nsh, version=version, ihl=ihl, proto=proto, frag=frag)
                p = parse(d)
                l4 = p.l3 + 4 * ihl
                # every length around the thresholds: l3 + 20, l4, l4 + 4, + 8, + 18
                cuts = {p.l3 + 19, p.l3 + 20, l4 - 1, l4, l4 + 3, l4 + 4, l4 + 7, l4 + 8}
                cuts |= {l4 + 17, l4 + 18, rng.randint(1, len(d)), len(d)}
                for n in sorted(c for c in cuts if 1 <= c <= len(d)):
                    yield d[:n]
    for _ in range(100):  # runts and random bytes
        yield bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))


def expected(d: bytes) -> dict[str, int]:
    """The parser's outputs for ``d`` by the reference model (fields that the RTL leaves
    meaningless when the model says so are left out)."""
    p = parse(d)
    n = len(d)
    exp: dict[str, int] = {
        "len": min(n, WIN),
        "nsh": int(p.nsh),
        "nsh_valid": int(p.nsh_valid),
        "ipv4": int(p.ipv4),
        "ports": int(p.ports),
        "sport": p.sport,
        "dport": p.dport,
    }
    if p.nsh and n >= 22:
        exp |= {"spi": p.spi, "si": p.si}
    if p.ipv4:
        tcp, udp = p.proto == 6, p.proto == 17
        csum_ok = p.first_frag and ((tcp and n >= p.l4 + 18) or (udp and n >= p.l4 + 8))
        exp |= {
            "l3": p.l3,
            "l4": p.l4,
            "proto": p.proto,
            "src": p.src,
            "dst": p.dst,
            "first_frag": int(p.first_frag),
            "ip_csum": int.from_bytes(d[p.l3 + 10 : p.l3 + 12], "big"),
            "l4_csum_ok": int(csum_ok),
        }
        if csum_ok:
            off = p.l4 + (16 if tcp else 6)
            exp["l4_csum"] = int.from_bytes(d[off : off + 2], "big")
    return exp


async def monitor(dut: Any, out: list[dict[str, int]]) -> None:
    names = ["len", "nsh", "nsh_valid", "spi", "si", "ipv4", "l3", "l4", "proto", "src", "dst"]
    names += ["ip_csum", "first_frag", "ports", "sport", "dport", "l4_csum_ok", "l4_csum"]
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if dut.hdr_valid.value:
            out.append({k: int(getattr(dut, f"hdr_{k}").value) for k in names})


async def idle(dut: Any, rng: random.Random) -> None:
    """One cycle without a beat, the bus holding random data (a parser register that loads
    on anything but s_beat and is read later would show it)."""
    dut.s_beat.value = 0
    dut.s_tdata.value = rng.getrandbits(8 * BEAT)
    dut.s_tkeep.value = rng.getrandbits(BEAT)
    dut.s_tlast.value = rng.getrandbits(1)
    await RisingEdge(dut.clk)


@cocotb.test()
async def parse_edges(dut: Any) -> None:
    from cocotb.clock import Clock

    rng = random.Random(15)
    cocotb.start_soon(Clock(dut.clk, 5, unit="ns").start())
    dut.rst.value = 1
    dut.s_beat.value = 0
    dut.s_tlast.value = 0
    dut.s_tdata.value = 0
    dut.s_tkeep.value = 0
    for _ in range(4):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    got: list[dict[str, int]] = []
    cocotb.start_soon(monitor(dut, got))
    sent = list(frames(rng))
    for d in sent:
        for i in range(0, len(d), BEAT):
            chunk = d[i : i + BEAT]
            while rng.random() < 0.25:  # idle cycles between beats, with junk on the bus
                await idle(dut, rng)
            dut.s_tdata.value = int.from_bytes(chunk.ljust(BEAT, b"\0"), "little")
            dut.s_tkeep.value = (1 << len(chunk)) - 1
            dut.s_tlast.value = int(i + BEAT >= len(d))
            dut.s_beat.value = 1
            await RisingEdge(dut.clk)
        dut.s_beat.value = 0
        while rng.random() < 0.25:  # and between frames
            await idle(dut, rng)
    for _ in range(16):
        await RisingEdge(dut.clk)
    assert len(got) == len(sent), f"{len(got)} header results for {len(sent)} frames"
    for i, (d, g) in enumerate(zip(sent, got, strict=True)):
        exp = expected(d)
        bad = {k: (g[k], v) for k, v in exp.items() if g[k] != v}
        assert not bad, f"frame {i} ({len(d)} B, {d[:48].hex()}): (rtl, model) {bad}"
    dut._log.info("%d frames parsed as the model says", len(sent))


def test_wp_hdr_parse() -> None:
    run_cocotb(toplevel="wp_hdr_parse", module="sim.test_wp_hdr_parse")
