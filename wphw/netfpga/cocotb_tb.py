"""The cocotb testbench pieces the package itself runs (the co-simulated FPGA waypoint, the
demo's RTL check) and the sim/ testbenches share: the HDL file list, the clocked AXI4-Stream /
AXI4-Lite harness, the NetFPGA tuser layout. Needs the ``cosim`` extra (cocotb, cocotbext-axi)
for :class:`TB`; nothing else of wphw imports this module."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wphw.resources import HDL_FILELIST

CLK_PERIOD_NS = 5  # 200 MHz
# TB.recv's default wait: 200,000 cycles (a 9,000-byte frame under back-pressure, or a
# store-and-forward PE's largest frame, needs a few thousand)
RECV_TIMEOUT_US = 1000.0


def read_filelist(path: Path = HDL_FILELIST) -> tuple[list[Path], list[Path]]:
    """(sources, include dirs) named by ``hdl/wphw.f`` (the package's copy by default)."""
    sources: list[Path] = []
    incdirs: list[Path] = []
    for raw_line in path.read_text().splitlines():
        line = raw_line.split("#", 1)[0].split("//", 1)[0].strip()
        if not line:
            continue
        if line.startswith("+incdir+"):
            incdirs.append(path.parent / line[len("+incdir+") :])
        else:
            sources.append(path.parent / line)
    return sources, incdirs


def random_pause(rng: random.Random, p_idle: float) -> Iterator[int]:
    """Infinite 0/1 pause generator: 1 with probability ``p_idle`` (cocotbext-axi pause)."""
    while True:
        yield 1 if rng.random() < p_idle else 0


class TB:
    """Clock, reset, stream source/sink and AXI-Lite for a PE-like DUT.

    The DUT has ``clk``, ``rst``, ``s_axis_*``, ``m_axis_*`` and ``s_axil_*`` ports.
    """

    def __init__(self, dut: Any, *, seed: int = 1, axil: bool = True) -> None:
        import cocotb
        from cocotb.clock import Clock
        from cocotbext.axi import (
            AxiLiteBus,
            AxiLiteMaster,
            AxiStreamBus,
            AxiStreamSink,
            AxiStreamSource,
        )

        from wphw.netfpga.bus import CocotbAxiLiteBus

        self.dut = dut
        self.rng = random.Random(seed)
        self.log = dut._log
        cocotb.start_soon(Clock(dut.clk, CLK_PERIOD_NS, unit="ns").start())  # type: ignore[arg-type]
        self.source = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst, reset_active_level=True
        )
        self.sink = AxiStreamSink(
            AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst, reset_active_level=True
        )
        self.source.log.setLevel("WARNING")
        self.sink.log.setLevel("WARNING")
        if axil:
            self.axil = AxiLiteMaster(
                AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst, reset_active_level=True
            )
            self.axil.write_if.log.setLevel("WARNING")
            self.axil.read_if.log.setLevel("WARNING")
            self.bus = CocotbAxiLiteBus(self.axil)

    def set_traffic(self, p_idle: float, p_backpressure: float) -> None:
        """Random idle cycles on the source and random back-pressure on the sink."""
        if p_idle > 0:
            self.source.set_pause_generator(random_pause(self.rng, p_idle))
        else:
            self.source.clear_pause_generator()
        if p_backpressure > 0:
            self.sink.set_pause_generator(random_pause(self.rng, p_backpressure))
        else:
            self.sink.clear_pause_generator()

    async def cycles(self, n: int) -> None:
        from cocotb.triggers import RisingEdge

        for _ in range(n):
            await RisingEdge(self.dut.clk)

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await self.cycles(4)
        self.dut.rst.value = 0
        await self.cycles(4)

    async def send(
        self, data: bytes, *, src_port: int = 0x01, dst_port: int = 0, pkt_len: int | None = None
    ) -> None:
        from cocotbext.axi import AxiStreamFrame

        frame = AxiStreamFrame(
            data, tuser=tuser(len(data) if pkt_len is None else pkt_len, src_port, dst_port)
        )
        await self.source.send(frame)

    async def recv(self, timeout_us: float = RECV_TIMEOUT_US) -> tuple[bytes, int]:
        """Next output frame and its first beat's tuser.

        Raises :class:`TimeoutError` when none completes within ``timeout_us`` of simulated
        time: a DUT that loses or holds a frame fails the test instead of hanging it.
        """
        from cocotb.triggers import SimTimeoutError, with_timeout

        try:
            frame = await with_timeout(self.sink.recv(), timeout_us, "us")
        except SimTimeoutError:
            raise TimeoutError(
                f"no output frame within {timeout_us} us of simulated time"
            ) from None
        user = frame.tuser[0] if isinstance(frame.tuser, list) else frame.tuser
        return bytes(frame.tdata), int(user or 0)


def tuser(pkt_len: int, src_port: int = 0, dst_port: int = 0) -> int:
    """NetFPGA SUME tuser: pkt_len[15:0], src_port[23:16], dst_port[31:24]."""
    return (pkt_len & 0xFFFF) | ((src_port & 0xFF) << 16) | ((dst_port & 0xFF) << 24)
