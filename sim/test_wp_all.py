"""All five PEs behind one waypoint: randomized run with service chains through every PE.

DUT: ``hdl/wrap/wp_cosim_top.v`` — ``wp_waypoint`` with wp_fw (PE 0) and wp_nat (PE 1) inside,
and wp_chacha20 encrypt (PE 2), wp_ids (PE 3) and wp_chacha20 decrypt (PE 4) on its external PE
ports. Everything is configured through the typed drivers (``wphw.netfpga``).

The testbench plays the switch: a frame leaving on tuser ``dst_port`` :data:`LOOP` is the
switch's "next hop is this waypoint again" and goes back into ``s_axis`` (NSH SI already
decremented by the PE, so it hits the next row), which makes chains through several PEs:

* SPI 20: encrypt → decrypt → fw → nat → ids (decrypt(encrypt(x)) must be x, checked per frame)
* SPI 21: ids → nat → encrypt (leaves encrypted, exactly as :mod:`wphw.services.esp` encrypts it)
* SPI 22: decrypt (frames the model encrypted, some with a foreign key id or cut short) → fw
* single hops (SPI 23, 24, 0xABCDEF/SI 0), rows that miss, plain frames (default port)

Every frame is checked byte for byte, with its tuser, against the reference models at every
hop: :func:`~sim.common.waypoint_model`, :func:`~sim.common.fw_model`,
:func:`~sim.common.nat_model`, the ChaCha20 model of ``sim/test_wp_chacha20.py`` (``wphw.services.esp``
+ ``cryptography``) and the IDS model of ``sim/test_wp_ids.py``. The model of a hop is applied
when the frame enters ``s_axis``; each PE keeps the order of its frames, so outputs are matched
against the head of each PE's queue (paths interleave freely). No output for
:data:`PROGRESS_US` while frames are outstanding is a lock-up; after each phase the sink must be
empty and every counter (waypoint rows, misses, drops; fw rule hits; nat hits; ids signature
hits; chacha done/bypass/reject and SEQ) must equal the model's.

``test_wp_all`` (CI, Icarus): the directed frames and 200 random frames of 60..2000 B
(``WP_FRAMES``, ``WP_MAX_SIZE``). ``test_wp_all_long`` (``-m slow``): ``WP_LONG_FRAMES``
(default 100,000) frames of 60..9000 B (plus over-MTU ones), meant for ``SIM=verilator``:
``SIM=verilator env -u PYTHONPATH .venv/bin/pytest -m slow sim/test_wp_all.py``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cocotb
import pytest

from sim.common import (
    CLK_PERIOD_NS,
    FrameMix,
    dec_si,
    frame_diff,
    fw_model,
    ipv4_frame,
    nat_model,
    pad_to,
    parse,
    random_frame,
    require_slow,
    run_cocotb,
    tuser,
    waypoint_model,
)
from sim.test_wp_chacha20 import PeModel
from sim.test_wp_ids import MARK_DSCP, SIGS, IdsModel
from wphw.netfpga import regmap
from wphw.netfpga.drivers import FwRule, NatMapping, WaypointEntry
from wphw.services import esp

REPO = Path(__file__).resolve().parents[1]
TOP = REPO / "hdl" / "wrap" / "wp_cosim_top.v"

PE_FW, PE_NAT, PE_ENC, PE_IDS, PE_DEC = 0, 1, 2, 3, 4
PE_NAMES = {PE_FW: "fw", PE_NAT: "nat", PE_ENC: "encrypt", PE_IDS: "ids", PE_DEC: "decrypt"}
IDS_FRAME_DEPTH = 256  # beats: frames over 8192 B reaching the IDS are dropped as OVERSIZE
PARAMS = {
    "NUM_ENTRIES": 16,
    "FW_RULES": 8,
    "NAT_MAPPINGS": 4,
    "IDS_SIGS": 4,
    "IDS_FRAME_DEPTH": IDS_FRAME_DEPTH,
}

LOOP = 0x80  # tuser dst_port: the switch sends the frame back to this waypoint (next hop)
DEFAULT_PORT = 0x40
MTU = 9000 + esp.HEADER_LEN  # a 9000-byte frame still fits once encrypted
MAX_HOPS = 8
PROGRESS_US = 400  # no output for this long while frames are outstanding = lock-up
WINDOW = 24  # new frames in flight (queued or inside the DUT)
PHASE_FRAMES = 10_000  # counters are checked after every phase

KEY = bytes(range(0x40, 0x60))
KEY_ID = 0x5EC0_0001
FOREIGN_KEY_ID = 0x5EC0_0002

E = WaypointEntry
ENTRIES = [
    # chain A (SPI 20): encrypt -> decrypt -> fw -> nat -> ids -> port 0x02
    E(spi=20, si=255, pe=PE_ENC, port=LOOP),
    E(spi=20, si=254, pe=PE_DEC, port=LOOP),
    E(spi=20, si=253, pe=PE_FW, port=LOOP),
    E(spi=20, si=252, pe=PE_NAT, port=LOOP),
    E(spi=20, si=251, pe=PE_IDS, port=0x02),
    # chain B (SPI 21): ids -> nat -> encrypt -> port 0x04 (leaves encrypted)
    E(spi=21, si=255, pe=PE_IDS, port=LOOP),
    E(spi=21, si=254, pe=PE_NAT, port=LOOP),
    E(spi=21, si=253, pe=PE_ENC, port=0x04),
    # chain C (SPI 22): decrypt -> fw -> port 0x08
    E(spi=22, si=255, pe=PE_DEC, port=LOOP),
    E(spi=22, si=254, pe=PE_FW, port=0x08),
    # single hops
    E(spi=23, si=255, pe=PE_FW, port=0x10),
    E(spi=23, si=1, pe=PE_NAT, port=0x10),
    E(spi=24, si=9, pe=PE_ENC, port=0x20),
    E(spi=0xABCDEF, si=0, pe=PE_IDS, port=0x20),
]
CHAIN_A, CHAIN_C = (20, 255), (22, 255)
SPIS = [
    *[CHAIN_A] * 4,
    *[(21, 255)] * 3,
    *[CHAIN_C] * 3,
    (23, 255),
    (23, 1),
    (24, 9),
    (0xABCDEF, 0),
    (20, 253),  # joins chain A at fw
    (12, 1),  # no row: miss -> default port
    (21, 0),  # no row
]

N = ipaddress.IPv4Network
A = ipaddress.IPv4Address
RULES = [
    FwRule(permit=False, src=N("10.0.0.2/32"), proto=17, dport=(53, 53)),
    FwRule(permit=True, src=N("10.0.0.0/24"), dst=N("10.0.1.0/24"), proto=6, dport=(80, 443)),
    FwRule(permit=False, dst=N("172.16.0.0/12"), proto=6),
    FwRule(permit=True, proto=17, sport=(1000, 2000)),
    FwRule(permit=False, src=N("192.168.0.0/16"), proto=1),
]
FW_DEFAULT_PERMIT = True
FW_NONIP_PERMIT = True
MAPPINGS = [
    NatMapping(dnat=False, match_addr=A("10.0.0.1"), new_addr=A("100.64.0.1")),
    NatMapping(
        dnat=True, match_addr=A("172.16.0.9"), new_addr=A("10.0.2.2"), match_port=80, new_port=8080
    ),
    NatMapping(dnat=True, match_addr=A("10.0.1.1"), new_addr=A("10.0.1.100")),
]


# --- model of the whole waypoint ------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Meta:
    """Where a frame is on its way: for messages and the encrypt/decrypt round-trip check."""

    ident: int
    kind: str
    hops: int = 0
    path: list[str] = field(default_factory=list)
    before_encrypt: bytes | None = None  # chain A: the frame that entered the encrypt hop
    encrypted: bool = False  # ... and the encrypt PE encrypted it (not passed it through)


@dataclass(slots=True)
class Expected:
    frame: bytes
    user: int
    meta: Meta


@dataclass(slots=True, kw_only=True)
class FwCount:
    permit: int = 0
    deny: int = 0
    default: int = 0
    nonip: int = 0
    hits: list[int] = field(default_factory=lambda: [0] * PARAMS["FW_RULES"])


@dataclass(slots=True, kw_only=True)
class NatCount:
    xlate: int = 0
    passed: int = 0
    hits: list[int] = field(default_factory=lambda: [0] * PARAMS["NAT_MAPPINGS"])


@dataclass(slots=True, kw_only=True)
class WpCount:
    nonnsh: int = 0
    miss: int = 0
    drop: int = 0
    pkts: list[int] = field(default_factory=lambda: [0] * PARAMS["NUM_ENTRIES"])
    nbytes: list[int] = field(default_factory=lambda: [0] * PARAMS["NUM_ENTRIES"])


@dataclass(slots=True, kw_only=True)
class Stats:
    new: int = 0
    injected: int = 0
    delivered: int = 0
    looped: int = 0
    dropped_wp: int = 0
    dropped_pe: int = 0
    roundtrips: int = 0  # chain A frames encrypted by PE 2 and decrypted back by PE 4
    leave_encrypted: int = 0  # frames that left encrypted on a chain's last hop
    kinds: dict[str, int] = field(default_factory=dict)
    ports: dict[int, int] = field(default_factory=dict)
    max_hops: int = 0


class WaypointModel:
    """All five PE models plus the waypoint's dispatch, with every counter."""

    def __init__(self) -> None:
        self.enc = PeModel(decrypt=False, key=KEY, key_id=KEY_ID)
        self.dec = PeModel(decrypt=True, key=KEY, key_id=KEY_ID)
        self.ids = IdsModel(sigs=SIGS[: PARAMS["IDS_SIGS"]], max_bytes=32 * IDS_FRAME_DEPTH)
        self.fw = FwCount()
        self.nat = NatCount()
        self.wp = WpCount()

    def pe(self, pe: int, d: bytes, plen: int) -> tuple[bytes, int] | None:
        """(output frame, output pkt_len) of PE ``pe``, or None if it drops the frame."""
        if pe == PE_FW:
            dec = fw_model(RULES, FW_DEFAULT_PERMIT, FW_NONIP_PERMIT, d)
            if dec.nonip:
                self.fw.nonip += 1
            elif dec.rule is None:
                self.fw.default += 1
            else:
                self.fw.hits[dec.rule] += 1
            if not dec.permit:
                self.fw.deny += 1
                return None
            self.fw.permit += 1
            return dec_si(d), plen
        if pe == PE_NAT:
            out, hit = nat_model(MAPPINGS, d)
            if hit is None:
                self.nat.passed += 1
            else:
                self.nat.xlate += 1
                self.nat.hits[hit] += 1
            return dec_si(out), plen
        if pe == PE_IDS:
            ids_out = self.ids(d)
            return None if ids_out is None else (ids_out, plen)
        return (self.enc if pe == PE_ENC else self.dec)(d, plen)

    def dispatch(self, d: bytes, plen: int) -> tuple[int | None, int, tuple[bytes, int] | None]:
        """(PE or None for the default port, output dst_port, PE output or None if dropped)."""
        dec = waypoint_model(ENTRIES, DEFAULT_PORT, MTU, d, plen)
        if dec.entry is not None:
            self.wp.pkts[dec.entry] += 1
            self.wp.nbytes[dec.entry] += plen
        else:
            setattr(self.wp, dec.counter, getattr(self.wp, dec.counter) + 1)
        if dec.drop:
            return None, 0, None
        if dec.pe is None:
            return None, dec.port, (d, plen)
        return dec.pe, dec.port, self.pe(dec.pe, d, plen)


# --- frames ---------------------------------------------------------------------------------------


def fill_payload(rng: random.Random, d: bytes) -> bytes:
    """Random payload (and sometimes IDS signatures, whole or cut) instead of zero padding;
    mostly with the IPv4 total length grown over it, sometimes left as padding."""
    p = parse(d)
    if not p.ipv4 or d[p.l3] & 0xF != 5:
        return d
    total = int.from_bytes(d[p.l3 + 2 : p.l3 + 4], "big")
    start = p.l3 + total
    if start >= len(d):
        return d
    b = bytearray(d[:start] + rng.randbytes(len(d) - start))
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        pat = rng.choice(SIGS).pattern
        if rng.random() < 0.25:
            pat = pat[: rng.randint(1, len(pat) - 1)]  # a partial signature: no match
        if len(b) - start >= len(pat):
            at = rng.randint(start, len(b) - len(pat))
            b[at : at + len(pat)] = pat
    if rng.random() < 0.85:  # payload inside the datagram; else padding after it
        b[p.l3 + 2 : p.l3 + 4] = (len(b) - p.l3).to_bytes(2, "big")
        b[p.l3 + 10 : p.l3 + 12] = b"\0\0"
        s = sum(int.from_bytes(b[p.l3 + i : p.l3 + i + 2], "big") for i in range(0, 20, 2))
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        b[p.l3 + 10 : p.l3 + 12] = (~s & 0xFFFF).to_bytes(2, "big")
    return bytes(b)


def make_frame(rng: random.Random, mix: FrameMix) -> tuple[bytes, str]:
    """A frame of :func:`~sim.common.random_frame`'s mix (60..9000 B, plain and NSH, runts,
    truncated headers, bad NSH, non-IP, over the MTU) with random payloads; frames for chain C
    mostly arrive encrypted (our key id, a foreign one, or cut short after encryption)."""
    d, _plen, kind = random_frame(rng, mix)
    if kind in ("plain", "nsh", "nsh_md1"):
        d = fill_payload(rng, d)
    p = parse(d)
    if p.nsh_valid and (p.spi, p.si) == CHAIN_C and rng.random() < 0.8:
        key_id = KEY_ID if rng.random() < 0.9 else FOREIGN_KEY_ID
        res = esp.encrypt_frame(d, key=KEY, key_id=key_id, seq=rng.getrandbits(64))
        d = res.frame
        kind += "+enc" if res.status is esp.Status.DONE else ""
        if rng.random() < 0.05:
            d = d[: rng.randint(14, len(d))]
            kind += "+cut"
    return d, kind


def directed_frames() -> list[tuple[bytes, str]]:
    """One frame per chain and interesting case (hand-picked addresses and ports)."""
    enc22 = esp.encrypt(ipv4_frame(nsh=CHAIN_C, proto="tcp"), key=KEY, key_id=KEY_ID, seq=7)
    foreign = esp.encrypt(ipv4_frame(nsh=CHAIN_C), key=KEY, key_id=FOREIGN_KEY_ID, seq=8)
    out = [
        (ipv4_frame(nsh=CHAIN_A, payload=b"hello EVIL! world"), "A mark"),
        (pad_to(ipv4_frame(nsh=CHAIN_A, proto="tcp", src="10.0.0.1"), 1500), "A snat"),
        (ipv4_frame(nsh=CHAIN_A, src="10.0.0.2", dport=53), "A fw deny"),
        (ipv4_frame(nsh=CHAIN_A, payload=SIGS[0].pattern), "A ids drop"),
        (pad_to(ipv4_frame(nsh=CHAIN_A), 8300), "A ids oversize"),
        (ipv4_frame(nsh=(21, 255), dst="172.16.0.9", dport=80, proto="tcp"), "B dnat"),
        (pad_to(ipv4_frame(nsh=(21, 255)), 9000), "B 9000"),
        (enc22, "C decrypt"),
        (foreign, "C reject"),
        (ipv4_frame(nsh=CHAIN_C), "C bypass"),
        (ipv4_frame(nsh=(23, 1), src="10.0.0.1"), "nat hop"),
        (ipv4_frame(nsh=(0xABCDEF, 0), payload=b"\xfe\xfd\xfc"), "ids SI 0"),
        (ipv4_frame(nsh=(12, 1)), "miss"),
        (ipv4_frame(), "plain"),
        (b"\x55" * 20, "runt"),
        (pad_to(ipv4_frame(nsh=CHAIN_A), MTU + 1), "over MTU"),
        (pad_to(ipv4_frame(nsh=(24, 9)), MTU), "enc at MTU"),
    ]
    return out


# --- testbench ------------------------------------------------------------------------------------


class BeatSink:
    """``m_axis`` receiver reading ``tdata``/``tkeep``/``tuser`` once per beat.

    cocotbext-axi's ``AxiStreamSink`` reads every signal once per byte lane (96 handle reads
    per 256-bit beat), which was two thirds of the wall time of this run. Same sampling as
    there: signals are read after each rising edge, ``tready`` is set for the next cycle (low
    with probability ``p_backpressure``). Start it after reset: it does not accept X.
    """

    def __init__(self, dut: Any, rng: random.Random, prefix: str = "m_axis") -> None:
        from cocotb.triggers import Event

        self.clk = dut.clk
        self.tdata = getattr(dut, f"{prefix}_tdata")
        self.tkeep = getattr(dut, f"{prefix}_tkeep")
        self.tuser = getattr(dut, f"{prefix}_tuser")
        self.tlast = getattr(dut, f"{prefix}_tlast")
        self.tvalid = getattr(dut, f"{prefix}_tvalid")
        self.tready = getattr(dut, f"{prefix}_tready")
        self.width = len(self.tkeep)
        self.rng = rng
        self.p_backpressure = 0.0
        self.frames: deque[tuple[bytes, int]] = deque()
        self.event = Event()
        self.task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        from cocotb.triggers import RisingEdge

        edge = RisingEdge(self.clk)
        full = (1 << self.width) - 1
        data = bytearray()
        user = -1
        ready = True
        self.tready.value = 1
        while True:
            await edge
            if ready and self.tvalid.value:
                keep = int(self.tkeep.value)
                word = int(self.tdata.value).to_bytes(self.width, "little")
                if keep == full:
                    data += word
                else:
                    data += bytes(b for i, b in enumerate(word) if keep >> i & 1)
                if user < 0:
                    user = int(self.tuser.value)
                if self.tlast.value:
                    self.frames.append((bytes(data), user))
                    self.event.set()
                    data = bytearray()
                    user = -1
            want = self.p_backpressure == 0 or self.rng.random() >= self.p_backpressure
            if want != ready:
                self.tready.value = int(want)
                ready = want

    async def recv(self) -> tuple[bytes, int]:
        """Next output frame and its first beat's tuser."""
        while not self.frames:
            self.event.clear()
            await self.event.wait()
        return self.frames.popleft()


class BeatSource:
    """``s_axis`` driver building each beat with one ``int.from_bytes`` (cocotbext-axi's
    ``AxiStreamSource`` packs byte by byte) and writing only the signals that change.

    ``tuser`` is the frame's on every beat; ``tvalid`` drops for an idle cycle with
    probability ``p_idle`` between beats (never while a beat waits for ``tready``).
    """

    def __init__(self, dut: Any, rng: random.Random, prefix: str = "s_axis") -> None:
        from cocotb.triggers import Event

        self.clk = dut.clk
        self.tdata = getattr(dut, f"{prefix}_tdata")
        self.tkeep = getattr(dut, f"{prefix}_tkeep")
        self.tuser = getattr(dut, f"{prefix}_tuser")
        self.tlast = getattr(dut, f"{prefix}_tlast")
        self.tvalid = getattr(dut, f"{prefix}_tvalid")
        self.tready = getattr(dut, f"{prefix}_tready")
        self.width = len(self.tkeep)
        self.rng = rng
        self.p_idle = 0.0
        self.frames: deque[tuple[bytes, int]] = deque()
        self.event = Event()
        for sig in (self.tdata, self.tkeep, self.tuser, self.tlast, self.tvalid):
            sig.value = 0
        self.task = cocotb.start_soon(self._run())

    def send_nowait(self, data: bytes, user: int) -> None:
        assert data, "an AXI-Stream frame has at least one byte"
        self.frames.append((data, user))
        self.event.set()

    def count(self) -> int:
        """Frames not yet started."""
        return len(self.frames)

    async def _run(self) -> None:
        from cocotb.triggers import RisingEdge

        edge = RisingEdge(self.clk)
        w = self.width
        data = b""
        pos = 0
        user = keep = last = -1
        valid = False
        while True:
            await edge
            if valid and not self.tready.value:
                continue  # the beat on the bus waits for tready
            if pos >= len(data):
                if not self.frames:
                    if valid:
                        self.tvalid.value = 0
                        valid = False
                    self.event.clear()
                    await self.event.wait()
                    continue  # the first beat goes out on the next edge
                data, u = self.frames.popleft()
                pos = 0
                if u != user:
                    self.tuser.value = user = u
            if self.p_idle and self.rng.random() < self.p_idle:
                if valid:
                    self.tvalid.value = 0
                    valid = False
                continue
            chunk = data[pos : pos + w]
            pos += w
            self.tdata.value = int.from_bytes(chunk, "little")
            k = (1 << len(chunk)) - 1
            if k != keep:
                self.tkeep.value = keep = k
            t = int(pos >= len(data))
            if t != last:
                self.tlast.value = last = t
            if not valid:
                self.tvalid.value = 1
                valid = True


class AllTB:
    """Clock, reset, ``s_axis`` source, :class:`BeatSink`, AXI-Lite drivers, the model and
    the switch loop."""

    def __init__(self, dut: Any, seed: int) -> None:
        from cocotb.clock import Clock
        from cocotbext.axi import AxiLiteBus, AxiLiteMaster

        from wphw.netfpga.bus import CocotbAxiLiteBus

        self.dut = dut
        self.log = dut._log
        self.rng = random.Random(seed)
        dut.rst.value = 1  # held from time 0: the PEs' outputs are X until the first reset
        dut.m_axis_tready.value = 0
        cocotb.start_soon(Clock(dut.clk, CLK_PERIOD_NS, unit="ns").start())
        self.source = BeatSource(dut, self.rng)
        self.axil = AxiLiteMaster(
            AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst, reset_active_level=True
        )
        self.axil.write_if.log.setLevel("WARNING")
        self.axil.read_if.log.setLevel("WARNING")
        self.bus = CocotbAxiLiteBus(self.axil)
        self.sink: BeatSink | None = None
        self.model = WaypointModel()
        self.queues: dict[int | None, deque[Expected]] = {pe: deque() for pe in (None, *PE_NAMES)}
        self.outstanding = 0  # expected outputs not yet seen
        self.stats = Stats()
        self.drivers: dict[str, Any] = {}

    async def cycles(self, n: int) -> None:
        from cocotb.triggers import ClockCycles

        await ClockCycles(self.dut.clk, n)

    def set_traffic(self, p_idle: float, p_backpressure: float) -> None:
        """Random idle cycles on ``s_axis`` and random back-pressure on ``m_axis``."""
        self.source.p_idle = p_idle
        assert self.sink is not None
        self.sink.p_backpressure = p_backpressure

    async def configure(self) -> None:
        from cocotb.triggers import RisingEdge

        from wphw.netfpga.chacha20 import ChaCha20Driver
        from wphw.netfpga.drivers import FirewallDriver, NatDriver, WaypointDriver
        from wphw.netfpga.ids import IdsDriver

        def base(pe: int) -> int:
            return regmap.BLOCK_SIZE * (pe + 1)

        await RisingEdge(self.dut.clk)
        await self.cycles(4)
        self.dut.rst.value = 0
        await self.cycles(4)
        self.sink = BeatSink(self.dut, self.rng)
        wp = await WaypointDriver.attach(self.bus)
        assert await wp.read("NUM_PES") == len(PE_NAMES)
        fw = await FirewallDriver.attach(self.bus)
        nat = await NatDriver.attach(self.bus)
        enc = await ChaCha20Driver.attach(self.bus, base=base(PE_ENC), name="encrypt")
        dec = await ChaCha20Driver.attach(self.bus, base=base(PE_DEC), name="decrypt")
        ids = await IdsDriver.attach(self.bus, base=base(PE_IDS))
        await wp.set_entries(ENTRIES)
        await wp.set_default_port(DEFAULT_PORT)
        await wp.set_mtu(MTU)
        await fw.set_rules(RULES, default_permit=FW_DEFAULT_PERMIT, nonip_permit=FW_NONIP_PERMIT)
        await nat.set_mappings(MAPPINGS)
        for drv, decrypt in ((enc, False), (dec, True)):
            await drv.set_key(KEY, key_id=KEY_ID, seq=0)
            await drv.configure(enable=True, decrypt=decrypt, dec_si=True)
        await ids.set_signatures(SIGS[: ids.caps])
        await ids.set_mark_dscp(MARK_DSCP)
        await ids.configure(dec_si=True)
        self.drivers = {"wp": wp, "fw": fw, "nat": nat, "enc": enc, "dec": dec, "ids": ids}

    def inject(self, d: bytes, meta: Meta, src_port: int = 0x01) -> None:
        """Queue ``d`` on s_axis and what must come out of it (model applied now: each PE
        sees its frames in s_axis order)."""
        plen = len(d)
        self.stats.injected += 1
        done_before = self.model.enc.done
        pe, port, out = self.model.dispatch(d, plen)
        if out is None:
            if port == 0 and pe is None:
                self.stats.dropped_wp += 1
            else:
                self.stats.dropped_pe += 1
        else:
            meta.path.append("default" if pe is None else PE_NAMES[pe])
            if pe == PE_ENC and port == LOOP:
                meta.before_encrypt = d
                meta.encrypted = self.model.enc.done > done_before
            self.queues[pe].append(Expected(out[0], tuser(out[1], src_port, port), meta))
            self.outstanding += 1
        self.source.send_nowait(d, tuser(plen, src_port, 0))

    def match(self, got: bytes, user: int) -> tuple[int | None, Expected]:
        for pe, q in self.queues.items():
            if q and q[0].frame == got and q[0].user == user:
                return pe, q.popleft()
        heads = []
        for pe, q in self.queues.items():
            if q:
                h = q[0]
                where = "default" if pe is None else PE_NAMES[pe]
                heads.append(
                    f"  {where}: frame {h.meta.ident} ({h.meta.kind}, path {h.meta.path}) "
                    f"tuser {h.user:#x}: {frame_diff(h.meta.ident, got, h.frame)}"
                )
        raise AssertionError(
            f"output ({len(got)} B, tuser {user:#x}) is not the next frame of any PE:\n"
            + "\n".join(heads)
        )

    def on_output(self, got: bytes, user: int) -> None:
        pe, exp = self.match(got, user)
        self.outstanding -= 1
        meta = exp.meta
        meta.hops += 1
        port = (user >> 24) & 0xFF
        if pe == PE_DEC and meta.before_encrypt is not None:
            # decrypt(encrypt(x)) == x on the RTL itself: only NSH SI moved on by two hops
            x = meta.before_encrypt
            assert len(got) == len(x) and got[:21] == x[:21] and got[22:] == x[22:], (
                f"frame {meta.ident}: decrypt(encrypt(x)) != x\n"
                f"  x   {x[:80].hex()}\n  got {got[:80].hex()}"
            )
            self.stats.roundtrips += meta.encrypted
            meta.before_encrypt = None
        if port == LOOP:
            assert meta.hops < MAX_HOPS, f"frame {meta.ident} looped {meta.hops} times"
            self.stats.looped += 1
            self.inject(got, meta, src_port=(user >> 16) & 0xFF)
            return
        self.stats.delivered += 1
        self.stats.ports[port] = self.stats.ports.get(port, 0) + 1
        self.stats.max_hops = max(self.stats.max_hops, meta.hops)
        if pe == PE_ENC and parse(got).ipv4 and parse(got).proto == esp.WP_ESP_PROTO:
            self.stats.leave_encrypted += 1

    async def run(self, frames: list[tuple[bytes, str]] | None, count: int, seed: int) -> None:
        """Send ``frames`` (or ``count`` random ones), loop and check every output, then
        check that nothing else comes out and every counter."""
        from cocotb.triggers import ClockCycles, SimTimeoutError, with_timeout

        rng = random.Random(seed)
        max_size = int(os.environ.get("WP_MAX_SIZE", "9000"))
        mix = FrameMix(spis=SPIS, mtu=MTU, max_size=max_size, p_malformed=0.2)
        total = len(frames) if frames is not None else count
        t0 = time.monotonic()

        async def feeder() -> None:
            for i in range(total):
                while self.outstanding >= WINDOW or self.source.count() >= WINDOW:
                    await ClockCycles(self.dut.clk, 4)
                d, kind = frames[i] if frames is not None else make_frame(rng, mix)
                self.stats.new += 1
                self.stats.kinds[kind] = self.stats.kinds.get(kind, 0) + 1
                self.inject(d, Meta(ident=self.stats.new, kind=kind))

        sink = self.sink
        assert sink is not None, "configure() first"
        feed = cocotb.start_soon(feeder())
        last_log = time.monotonic()
        idle = 0  # cycles with nothing outstanding (the feeder waits for s_axis)
        idle_max = PROGRESS_US * 1000 // CLK_PERIOD_NS
        while not feed.done() or self.outstanding:
            if not self.outstanding:
                sent = self.stats.injected
                await ClockCycles(self.dut.clk, 4)
                idle = 0 if self.stats.injected != sent else idle + 4
                assert idle < idle_max, (
                    f"lock-up: s_axis took no frame for {PROGRESS_US} us "
                    f"({self.source.count()} queued, every one dropped so far)"
                )
                continue
            try:
                got, user = await with_timeout(sink.recv(), PROGRESS_US, "us")
            except SimTimeoutError:
                raise AssertionError(
                    f"lock-up: no output for {PROGRESS_US} us with {self.outstanding} frames "
                    f"outstanding ({ {str(k): len(q) for k, q in self.queues.items()} }, "
                    f"{self.source.count()} still queued on s_axis)"
                ) from None
            self.on_output(got, user)
            if time.monotonic() - last_log > 60:
                last_log = time.monotonic()
                self.log.info(
                    "progress: %d new frames sent, %d delivered, %d looped, %.0f s",
                    self.stats.new,
                    self.stats.delivered,
                    self.stats.looped,
                    last_log - t0,
                )
        await feed
        await self.cycles(2000)
        assert not sink.frames, f"{len(sink.frames)} unexpected extra output frame(s)"
        await self.check_counters()

    async def check_counters(self) -> None:
        d, m = self.drivers, self.model
        got_wp = await d["wp"].counters()
        assert (got_wp.nonnsh_pkts, got_wp.miss_pkts, got_wp.drop_pkts) == (
            m.wp.nonnsh,
            m.wp.miss,
            m.wp.drop,
        ), f"waypoint counters {got_wp} != model {m.wp}"
        assert list(got_wp.entry_pkts) == m.wp.pkts, f"{got_wp.entry_pkts} != {m.wp.pkts}"
        assert list(got_wp.entry_bytes) == m.wp.nbytes, f"{got_wp.entry_bytes} != {m.wp.nbytes}"
        fw = await d["fw"].counters()
        assert (fw.permit_pkts, fw.deny_pkts, fw.default_pkts, fw.nonip_pkts) == (
            m.fw.permit,
            m.fw.deny,
            m.fw.default,
            m.fw.nonip,
        ), f"fw counters {fw} != model {m.fw}"
        assert list(fw.rule_hits) == m.fw.hits, f"fw {fw.rule_hits} != {m.fw.hits}"
        nat = await d["nat"].counters()
        assert (nat.xlate_pkts, nat.pass_pkts, list(nat.map_hits)) == (
            m.nat.xlate,
            m.nat.passed,
            m.nat.hits,
        ), f"nat counters {nat} != model {m.nat}"
        for name, pm in (("enc", m.enc), ("dec", m.dec)):
            cc = await d[name].counters()
            assert (cc.done_pkts, cc.bypass_pkts, cc.reject_pkts) == (
                pm.done,
                pm.bypass,
                pm.reject,
            ), f"{name} counters {cc} != model done {pm.done} bypass {pm.bypass} rej {pm.reject}"
        assert await d["enc"].seq() == m.enc.seq
        ids = await d["ids"].counters()
        exp_ids = (m.ids.pkts, m.ids.match_pkts, m.ids.mark_pkts, m.ids.drop_pkts)
        got_ids = (ids.pkts, ids.match_pkts, ids.mark_pkts, ids.drop_pkts)
        assert got_ids == exp_ids, f"ids counters {got_ids} != model {exp_ids}"
        assert ids.oversize_pkts == m.ids.oversize_pkts
        assert list(ids.sig_hits[: len(m.ids.hits)]) == m.ids.hits

    def summary(self) -> dict[str, Any]:
        m = self.model
        return {
            "frames": self.stats.new,
            "waypoint_passes": self.stats.injected,
            "delivered": self.stats.delivered,
            "looped": self.stats.looped,
            "dropped_by_waypoint": self.stats.dropped_wp,
            "dropped_by_pe": self.stats.dropped_pe,
            "roundtrips_enc_dec": self.stats.roundtrips,
            "left_encrypted": self.stats.leave_encrypted,
            "max_hops": self.stats.max_hops,
            "kinds": dict(sorted(self.stats.kinds.items())),
            "out_ports": {hex(k): v for k, v in sorted(self.stats.ports.items())},
            "wp": {"nonnsh": m.wp.nonnsh, "miss": m.wp.miss, "drop": m.wp.drop},
            "wp_entry_pkts": m.wp.pkts[: len(ENTRIES)],
            "fw": {"permit": m.fw.permit, "deny": m.fw.deny, "hits": m.fw.hits},
            "nat": {"xlate": m.nat.xlate, "pass": m.nat.passed, "hits": m.nat.hits},
            "encrypt": {"done": m.enc.done, "bypass": m.enc.bypass},
            "decrypt": {"done": m.dec.done, "bypass": m.dec.bypass, "reject": m.dec.reject},
            "ids": {
                "pkts": m.ids.pkts,
                "match": m.ids.match_pkts,
                "mark": m.ids.mark_pkts,
                "drop": m.ids.drop_pkts,
                "oversize": m.ids.oversize_pkts,
            },
        }


TRAFFIC = [(0.0, 0.0), (0.3, 0.4), (0.1, 0.2)]  # (p idle on s_axis, p back-pressure on m_axis)


@cocotb.test()
async def test_all(dut: Any) -> None:
    """Directed frames (one per chain and special case), then ``WP_FRAMES`` random frames in
    phases of varying idle/back-pressure, counters checked after each phase."""
    tb = AllTB(dut, seed=int(os.environ.get("WP_SEED", "11")))
    await tb.configure()
    t0 = time.monotonic()
    tb.set_traffic(0.3, 0.4)
    await tb.run(directed_frames(), 0, 0)
    s = tb.summary()
    tb.log.info("directed: %s", json.dumps(s))
    assert s["roundtrips_enc_dec"] == 5 and s["decrypt"]["reject"] == 1, s
    assert (s["ids"]["oversize"], s["ids"]["mark"], s["ids"]["drop"]) == (2, 2, 1), s
    assert s["wp"]["drop"] == 1 and s["left_encrypted"] == 2 and s["fw"]["deny"] == 1, s

    count = int(os.environ.get("WP_FRAMES", "200"))
    seed = int(os.environ.get("WP_SEED", "11"))
    phases = max(2, -(-count // PHASE_FRAMES))
    done = 0
    for phase in range(phases):
        n = (count - done) // (phases - phase)
        tb.set_traffic(*TRAFFIC[phase % len(TRAFFIC)])
        await tb.run(None, n, seed + phase)
        done += n
        tb.log.info(
            "phase %d/%d (idle %.1f, back-pressure %.1f): %d random frames, all outputs and "
            "counters exact, %.0f s",
            phase + 1,
            phases,
            *TRAFFIC[phase % len(TRAFFIC)],
            done,
            time.monotonic() - t0,
        )
    s = tb.summary()
    s["wall_s"] = round(time.monotonic() - t0, 1)
    tb.log.info("SUMMARY %s", json.dumps(s))
    # the run must have exercised every PE and path it claims to
    assert s["frames"] == count + len(directed_frames())
    assert s["roundtrips_enc_dec"] > 5 and s["left_encrypted"] > 2 and s["looped"], s
    assert s["decrypt"]["done"] and s["nat"]["xlate"] and s["ids"]["pkts"] > 3, s
    if count >= 2000:
        assert s["decrypt"]["reject"] > 1 and s["ids"]["drop"] > 1 and s["ids"]["mark"] > 2, s
        assert s["ids"]["oversize"] > 2 and s["wp"]["drop"] > 1 and s["fw"]["deny"] > 1, s


# --- pytest side ----------------------------------------------------------------------------------


def test_wp_all() -> None:
    """The CI version: directed frames (60..9216 B) and 200 random ones of 60..2000 B (about
    4 minutes on Icarus, whose time goes into the two unrolled ChaCha20 cores)."""
    run_cocotb(
        toplevel="wp_cosim_top",
        module="sim.test_wp_all",
        parameters=PARAMS,
        extra_env={
            "WP_FRAMES": os.environ.get("WP_FRAMES", "200"),
            "WP_MAX_SIZE": os.environ.get("WP_MAX_SIZE", "2000"),
        },
        extra_sources=[TOP],
    )


@pytest.mark.slow
def test_wp_all_long(request: pytest.FixtureRequest) -> None:
    """``SIM=verilator pytest -m slow sim/test_wp_all.py`` (WP_LONG_FRAMES, default 100,000)."""
    require_slow(request.config)
    run_cocotb(
        toplevel="wp_cosim_top",
        module="sim.test_wp_all",
        parameters=PARAMS,
        extra_env={"WP_FRAMES": os.environ.get("WP_LONG_FRAMES", "100000")},
        extra_sources=[TOP],
        tag="_long",
    )
