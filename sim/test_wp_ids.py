"""cocotb tests of hdl/wp_ids.v (signature IDS PE) against a Python model.

The model (:func:`ids_model`) finds each signature with ``bytes.find`` in the L4 payload that
:func:`payload_span` cuts out of the frame using the shared parser :func:`common.parse`; the
SI rule is :func:`common.dec_si`. Registers are set through :class:`wphw.netfpga.ids.IdsDriver`.
``test_rate`` asserts line rate and logs ``RATE {json}`` lines (:func:`common.save_rate_rows`).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any

import cocotb
import pytest

from wphw.netfpga.ids import IdsAction, Signature
from wphw.services.ipv4 import checksum_update

try:  # cocotb side: PYTHONPATH holds the repo, test module imported as sim.test_wp_ids
    from sim import common
except ImportError:  # pragma: no cover
    import common  # type: ignore[no-redef]

MARK_DSCP = 46

SIGS = (
    Signature(pattern=bytes.fromhex("deadbeefcafef00d0123456789abcdef"), action=IdsAction.DROP),
    Signature(pattern=b"EVIL!", action=IdsAction.MARK),
    Signature(pattern=b"\x01\x02\x03\x04\x05\x06\x07\x08\x09", action=IdsAction.PASS),
    Signature(pattern=b"\xfe\xfd\xfc", action=IdsAction.MARK),
)


# --- reference model ------------------------------------------------------------------------------


def payload_span(d: bytes) -> tuple[int, int] | None:
    """[start, end) of the bytes the IDS scans: the L4 payload of the inner IPv4 packet."""
    p = common.parse(d)
    if not p.ipv4:
        return None
    ihl = d[p.l3] & 0xF
    start = p.l4
    if ihl == 5 and p.first_frag:
        if p.proto == 6:
            doff = d[p.l4 + 12] >> 4 if len(d) > p.l4 + 12 else 0
            start = p.l4 + 4 * max(doff, 5)
        elif p.proto == 17:
            start = p.l4 + 8
    total_len = int.from_bytes(d[p.l3 + 2 : p.l3 + 4], "big")
    return start, min(len(d), p.l3 + total_len)


@dataclass(slots=True, kw_only=True)
class IdsModel:
    sigs: tuple[Signature, ...]
    max_bytes: int
    dscp: int = MARK_DSCP
    dec_si: bool = True
    pkts: int = 0
    match_pkts: int = 0
    mark_pkts: int = 0
    drop_pkts: int = 0
    oversize_pkts: int = 0
    hits: list[int] = field(default_factory=list)

    def __call__(self, d: bytes) -> bytes | None:
        """Output frame, or None when the PE drops it."""
        if not self.hits:
            self.hits = [0] * len(self.sigs)
        self.pkts += 1
        if len(d) > self.max_bytes:
            self.oversize_pkts += 1
            return None
        span = payload_span(d)
        payload = d[span[0] : span[1]] if span else b""
        hit = [s.pattern in payload for s in self.sigs]
        action = max(
            (s.action for s, h in zip(self.sigs, hit, strict=True) if h), default=IdsAction.PASS
        )
        for i, h in enumerate(hit):
            self.hits[i] += h
        self.match_pkts += any(hit)
        if action is IdsAction.DROP:
            self.drop_pkts += 1
            return None
        out = d
        if action is IdsAction.MARK:
            self.mark_pkts += 1
            l3 = common.parse(d).l3
            b = bytearray(d)
            old = int.from_bytes(b[l3 : l3 + 2], "big")
            b[l3 + 1] = (self.dscp << 2) | (b[l3 + 1] & 3)
            new = int.from_bytes(b[l3 : l3 + 2], "big")
            hc = int.from_bytes(b[l3 + 10 : l3 + 12], "big")
            b[l3 + 10 : l3 + 12] = checksum_update(hc, [old], [new]).to_bytes(2, "big")
            out = bytes(b)
        return common.dec_si(out) if self.dec_si else out


def ids_frames(rng: random.Random, n: int, *, malformed: bool, max_bytes: int) -> list[bytes]:
    """Frames with signatures (whole, partial, at beat boundaries, in headers or padding)."""
    out = []
    for _ in range(n):
        size = rng.choice([0, 5, 20, 31, 32, 33, 47, 64, 100, rng.randint(0, 1400)])
        payload = bytearray(rng.getrandbits(8) for _ in range(size))
        for _ in range(rng.choice([0, 0, 1, 2])):
            pat = rng.choice(SIGS).pattern
            if rng.random() < 0.3:
                pat = pat[: rng.randint(1, len(pat) - 1)]  # partial: must not match
            if len(payload) >= len(pat):
                at = rng.randint(0, len(payload) - len(pat))
                payload[at : at + len(pat)] = pat
        kind = rng.choice(["plain", "nsh", "nsh", "md1", "tcp", "pad_sig", "frag", "options"])
        nsh = None if kind in ("plain", "tcp") else (rng.randint(1, 99), rng.randint(0, 255))
        f = common.ipv4_frame(
            proto="tcp" if kind == "tcp" else rng.choice(["udp", "udp", "icmp"]),
            payload=bytes(payload),
            nsh=nsh,
            mdtype=1 if kind == "md1" else 2,
            frag=5 if kind == "frag" else 0,
            ihl_options=b"\x01\x01\x01\x00" if kind == "options" else b"",
        )
        if kind == "pad_sig":  # a signature in the Ethernet padding: outside the IPv4 packet
            f = f + SIGS[1].pattern + bytes(max(0, 60 - len(f) - 5))
        if malformed and rng.random() < 0.25:
            which = rng.choice(["runt", "trunc", "bad_nsh", "nonip", "oversize", "lenbig"])
            if which == "runt":
                f = f[: rng.randint(1, 40)]
            elif which == "trunc":
                f = f[: rng.randint(14, min(len(f), 80))]
            elif which == "bad_nsh":
                b = bytearray(f)
                b[rng.choice([14, 16, 17])] ^= 0x41
                f = bytes(b)
            elif which == "nonip":
                f = bytes.fromhex("0200000000020200000000010806") + bytes(payload) + bytes(30)
            elif which == "oversize":
                f = f + SIGS[1].pattern + bytes(max_bytes - len(f) + rng.randint(0, 100))
            else:
                b = bytearray(f)
                b[16:18] = (len(f) + 500).to_bytes(2, "big")
                f = bytes(b)
        out.append(f)
    return out


# --- cocotb side ----------------------------------------------------------------------------------


def max_bytes() -> int:
    return 32 * int(os.environ.get("WPHW_IDS_FRAME_DEPTH", "512"))


async def setup(dut: Any, *, p_idle: float, p_bp: float, seed: int = 1) -> Any:
    from wphw.netfpga.ids import IdsDriver

    tb = common.TB(dut, seed=seed)
    tb.set_traffic(p_idle, p_bp)
    await tb.reset()
    drv = await IdsDriver.attach(tb.bus, base=0)
    await drv.set_signatures(SIGS[: drv.caps])
    await drv.set_mark_dscp(MARK_DSCP)
    await drv.configure(dec_si=True)
    return tb, drv


async def run_frames(tb: Any, model: IdsModel, frames: list[bytes]) -> None:
    expected = []
    for f in frames:
        out = model(f)
        if out is not None:
            expected.append((out, f))

    async def sender() -> None:
        for f in frames:
            await tb.send(f)

    task = cocotb.start_soon(sender())
    for i, (exp, src) in enumerate(expected):
        got, user = await tb.recv()
        assert got == exp, f"output {i}: in {src.hex()}\n got {got.hex()}\n exp {exp.hex()}"
        assert user & 0xFFFF == len(src)
    await task
    await tb.source.wait()  # every queued frame has left the source
    await tb.cycles(50)
    assert tb.sink.empty(), "unexpected extra output frame"


async def check_counters(drv: Any, model: IdsModel) -> None:
    cnt = await drv.counters()
    got = (cnt.pkts, cnt.match_pkts, cnt.mark_pkts, cnt.drop_pkts, cnt.oversize_pkts)
    exp = (model.pkts, model.match_pkts, model.mark_pkts, model.drop_pkts, model.oversize_pkts)
    assert got == exp, f"counters {got} != model {exp}"
    assert list(cnt.sig_hits[: len(model.hits)]) == model.hits


@cocotb.test()
@cocotb.parametrize(traffic=[(0.0, 0.0), (0.3, 0.3)])
async def test_match(dut: Any, traffic: tuple[float, float]) -> None:
    """Signatures anywhere in the payload, across beats; pass/mark/drop; counters exact."""
    tb, drv = await setup(dut, p_idle=traffic[0], p_bp=traffic[1])
    model = IdsModel(sigs=SIGS[: drv.caps], max_bytes=max_bytes())
    frames = ids_frames(random.Random(21), 150, malformed=False, max_bytes=max_bytes())
    # a signature straddling each byte position of a beat boundary
    for shift in range(0, 17):
        pay = bytearray(120)
        at = 32 * 3 - 42 - shift  # payload offset of frame byte 96 - shift (UDP, plain)
        pay[at : at + 16] = SIGS[0].pattern
        frames.append(common.ipv4_frame(payload=bytes(pay)))
    await run_frames(tb, model, frames)
    await check_counters(drv, model)
    assert model.drop_pkts > 17 and model.mark_pkts > 5


@cocotb.test()
@cocotb.parametrize(traffic=[(0.0, 0.0), (0.3, 0.3)])
async def test_malformed(dut: Any, traffic: tuple[float, float]) -> None:
    """Runts, truncated headers, bad NSH, non-IP, oversize frames among good ones."""
    tb, drv = await setup(dut, p_idle=traffic[0], p_bp=traffic[1])
    model = IdsModel(sigs=SIGS[: drv.caps], max_bytes=max_bytes())
    frames = ids_frames(random.Random(22), 150, malformed=True, max_bytes=max_bytes())
    await run_frames(tb, model, frames)
    await check_counters(drv, model)
    await drv.clear_counters()
    assert (await drv.counters()).pkts == 0


@cocotb.test()
@cocotb.parametrize(traffic=[(0.0, 0.0), (0.3, 0.3)])
async def test_update_live(dut: Any, traffic: tuple[float, float]) -> None:
    """A new signature set written while frames stream in: every frame is matched wholly by the
    old set or wholly by the new one, old before new, and frames sent after the driver's
    ``set_signatures`` returned see the new set. (Mark only, so no frame is dropped and output
    i belongs to input i.)"""
    tb, drv = await setup(dut, p_idle=traffic[0], p_bp=traffic[1], seed=7)
    old = (
        Signature(pattern=b"EVIL!", action=IdsAction.MARK),
        Signature(pattern=bytes(range(100, 116)), action=IdsAction.MARK),
    )
    new = (
        Signature(pattern=b"GOOD!", action=IdsAction.MARK),
        Signature(pattern=bytes(range(101, 117)), action=IdsAction.MARK),
    )
    await drv.set_signatures(old)
    m_old = IdsModel(sigs=old, max_bytes=max_bytes())
    m_new = IdsModel(sigs=new, max_bytes=max_bytes())
    rng = random.Random(31)
    frames = []
    for i in range(240):
        pay = bytearray(rng.getrandbits(8) for _ in range(rng.choice([20, 40, 90, 200])))
        pat = (b"EVIL!", b"GOOD!", bytes(range(100, 117)), b"EVIL!GOOD!")[i % 4]
        at = rng.randint(0, len(pay) - len(pat))
        pay[at : at + len(pat)] = pat
        frames.append(common.ipv4_frame(payload=bytes(pay), nsh=(5, 200)))
    first_after = 160  # frames from here on are queued only after set_signatures returned
    updated = cocotb.triggers.Event()

    async def sender() -> None:
        for i, f in enumerate(frames):
            if i == first_after:
                await updated.wait()
            await tb.send(f)

    task = cocotb.start_soon(sender())
    labels = []
    for i, f in enumerate(frames):
        got, _user = await tb.recv()
        a, n = m_old(f), m_new(f)
        assert got in (a, n), f"frame {i}: matched by neither set: {got.hex()}"
        labels.append("=" if a == n else ("old" if got == a else "new"))
        if i == 40:
            await drv.set_signatures(new)
            assert not (await drv.read("STATUS")) & 1
            updated.set()
    await task
    changed = [lab for lab in labels if lab != "="]
    switch = changed.index("new")
    assert "old" not in changed[switch:], f"old set after new: {labels}"
    assert switch >= 10, "the update took effect before frame 40 was out"
    assert all(lab != "old" for lab in labels[first_after:]), "old set after set_signatures"
    await tb.cycles(50)
    assert tb.sink.empty(), "unexpected extra output frame"
    assert (await drv.counters()).pkts == len(frames)


@cocotb.test()
async def test_registers(dut: Any) -> None:
    """ID, CAPS, signature read-back, driver validation."""
    from wphw.errors import RegisterError
    from wphw.netfpga import regmap

    tb, drv = await setup(dut, p_idle=0.0, p_bp=0.0)
    assert await tb.bus.read32(0) == regmap.WP_IDS.id
    assert drv.caps >= 1
    assert await drv.read("SIG_CTRL", 0) == len(SIGS[0].pattern) | (int(SIGS[0].action) << 8)
    assert await drv.read("SIG_DATA0", 0) == int.from_bytes(SIGS[0].pattern[:4], "little")
    with pytest.raises(RegisterError, match="MARK_DSCP"):
        await drv.set_mark_dscp(64)
    with pytest.raises(RegisterError, match="signatures"):
        await drv.set_signatures([SIGS[0]] * (drv.caps + 1))


@cocotb.test()
async def test_rate(dut: Any) -> None:
    """One beat per cycle in and out for back-to-back frames of each size; latency (logged)."""
    tb, _drv = await setup(dut, p_idle=0.0, p_bp=0.0)
    hs = common.Handshakes(dut)
    results = []
    for size in (60, 64, 65, 128, 129, 256, 1024, 1514, 9000):
        if size > max_bytes():
            continue
        frame = common.pad_to(common.ipv4_frame(nsh=(1, 255), payload=bytes(size)), size)[:size]
        n = max(4, 6000 // size)
        row = await common.measure_rate(tb, hs, frame, frames=n, module="wp_ids")
        results.append(row)
        assert row["in_beats"] == row["out_beats"] == n * common.beats(size), row
    hs.task.cancel()
    common.save_rate_rows(results)
    for row in results:
        assert row["in_beats_per_cycle"] >= 0.99, f"below line rate: {row}"
        assert row["out_beats_per_cycle"] >= 0.99, f"below line rate: {row}"


@cocotb.test()
async def test_byte_strobes(dut: Any) -> None:
    """AXI4-Lite byte writes (WSTRB) change only their byte lanes: signature data, SIG_CTRL
    (LEN in byte 0, ACTION in byte 1), MARK_DSCP."""
    from wphw.netfpga import regmap

    tb, _drv = await setup(dut, p_idle=0.0, p_bp=0.0, seed=5)
    blk = regmap.WP_IDS
    data1 = blk.reg("SIG_DATA1").addr(1)
    ctrl0 = blk.reg("SIG_CTRL").addr(0)
    dscp = blk.reg("MARK_DSCP").addr()
    other = await tb.bus.read32(blk.reg("SIG_DATA1").addr(0))
    for addr, start, mask in ((data1, 0x11223344, 0xFFFFFFFF), (dscp, 0x2A, 0x3F)):
        value = bytearray(start.to_bytes(4, "little"))
        await tb.bus.write32(addr, start)
        for off, data in ((0, b"\xa0"), (1, b"\xb1"), (3, b"\xc3"), (2, b"\xd2\xe3")):
            await tb.axil.write(addr + off, data)
            value[off : off + len(data)] = data
            got = await tb.bus.read32(addr)
            exp = int.from_bytes(value, "little") & mask
            assert got == exp, f"{addr:#x} after {data.hex()} at byte {off}: {got:#x} != {exp:#x}"
    # SIG_CTRL: writing byte 1 (ACTION) keeps byte 0 (LEN), and the other way round
    await tb.bus.write32(ctrl0, (1 << 8) | 5)
    await tb.axil.write(ctrl0 + 1, b"\x02")
    assert await tb.bus.read32(ctrl0) == (2 << 8) | 5
    await tb.axil.write(ctrl0, b"\x07")
    assert await tb.bus.read32(ctrl0) == (2 << 8) | 7
    assert await tb.bus.read32(blk.reg("SIG_DATA1").addr(0)) == other, "another element changed"


# --- pytest side ----------------------------------------------------------------------------------


def test_model_payload_span() -> None:
    """The model's payload rule on hand-checked frames."""
    f = common.ipv4_frame(proto="udp", payload=b"EVIL!")
    assert payload_span(f) == (42, 47)
    f = common.ipv4_frame(proto="tcp", payload=b"xy", nsh=(1, 2))
    assert payload_span(f) == (22 + 40, 22 + 42)
    f = common.ipv4_frame(proto="udp", payload=b"xy", nsh=(1, 2), mdtype=1)
    assert payload_span(f) == (38 + 28, 38 + 30)
    assert payload_span(bytes(10)) is None
    m = IdsModel(sigs=SIGS, max_bytes=2048)
    assert m(common.ipv4_frame(payload=b"..EVIL!..")) is not None and m.mark_pkts == 1
    assert m(common.ipv4_frame(payload=b"EVIL")) is not None and m.mark_pkts == 1
    assert m(common.ipv4_frame(payload=SIGS[0].pattern)) is None and m.drop_pkts == 1


@pytest.mark.parametrize(
    "params",
    [
        {"NUM_SIGS": 4, "FRAME_DEPTH": 512, "DEC_SI": 1},
        {"NUM_SIGS": 2, "FRAME_DEPTH": 64, "DEC_SI": 1},
    ],
    ids=["default", "small"],
)
def test_wp_ids(params: dict[str, int]) -> None:
    run(params, test_filter=None if params["FRAME_DEPTH"] == 512 else "test_malformed")


def run(params: dict[str, int], test_filter: str | None = None) -> None:
    from cocotb_tools.runner import get_results, get_runner

    sim = os.environ.get("SIM", "icarus")
    reason = common.simulator_available(sim)
    if reason:
        pytest.skip(reason)
    sources, incdirs = common.read_filelist()
    assert any(s.name.startswith("wp_ids") for s in sources), "hdl/wphw.f lists no wp_ids"
    # the whole list: the PE instantiates shared modules (wp_nsh_dec, wp_ipv4_dec); the
    # simulator elaborates only what wp_ids uses
    name = "_".join(f"{k}{v}" for k, v in sorted(params.items()))
    build_dir = common.REPO / "sim" / "sim_build" / f"wp_ids_{sim}_{name}"
    runner = get_runner(sim)
    runner.build(
        sources=sources,
        includes=incdirs,
        hdl_toplevel="wp_ids",
        parameters=params,
        build_dir=build_dir,
        build_args=["-Wno-fatal"] if sim == "verilator" else [],
        timescale=("1ns", "1ps"),
        always=True,
    )
    results = runner.test(
        test_module="sim.test_wp_ids",
        hdl_toplevel="wp_ids",
        test_filter=test_filter,
        parameters=params,
        build_dir=build_dir,
        test_dir=build_dir,
        extra_env={"WPHW_IDS_FRAME_DEPTH": str(params["FRAME_DEPTH"])},
    )
    _total, failed = get_results(results)
    assert failed == 0, f"{failed} cocotb test(s) failed (wp_ids {params})"
