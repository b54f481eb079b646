"""cocotb side of the co-simulated hardware waypoint (``python -m wphw.netfpga.cosim``).

Runs inside the simulator with ``hdl/wrap/wp_cosim_top.v`` (``hdl/wp_waypoint.v`` plus its PEs) as
the top level. Configuration comes from the JSON file named by ``WPHW_COSIM_CONFIG`` (written
by :mod:`wphw.netfpga.cosim`): the interface, the register writes of the waypoint (from the
plan), the SUME port bit the interface stands for, the state file and the stop file.

1. Reset, then replay the register writes over AXI-Lite through the typed drivers
   (:func:`wphw.netfpga.plan.apply_register_writes`: ID/VERSION checked on attach).
2. Open a non-blocking ``AF_PACKET`` socket on the interface. While frames are in flight the
   ingress loop drains the socket every ``poll_cycles`` clock cycles and queues each frame on
   ``s_axis`` (tuser: pkt_len, src_port = the port bit); the egress coroutine sends every
   ``m_axis`` frame whose tuser dst_port has the port bit back out of the interface (others are
   counted as dropped, e.g. table misses on DEFAULT_PORT 0). When nothing has moved for
   ``drain_cycles`` (600), the loop blocks in ``select`` for up to ``idle_wait_s`` of wall time
   instead of simulating idle cycles, so an idle co-simulation costs no CPU.
3. The state file (JSON: ready, rx, tx, dropped, by_reason, simulated cycles, rates, and the
   RTL's own counters at the end) is rewritten every ``state_interval_s``; the launcher serves
   it as ``/health`` and ``/counters``. The RTL counters are re-read every ``rtl_interval_s``
   (5 s) while idle. The run ends when the stop file appears or the launcher dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import time
from pathlib import Path
from typing import Any

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from wphw.entries import RegisterWrite
from wphw.netfpga.cocotb_tb import TB, tuser
from wphw.netfpga.drivers import WaypointDriver
from wphw.netfpga.plan import apply_register_writes

CONFIG_ENV = "WPHW_COSIM_CONFIG"
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
RECV_BUF = 65600


async def start(dut: Any) -> TB:
    """A :class:`wphw.netfpga.cocotb_tb.TB` held in reset from time 0, then reset and ready."""
    dut.rst.value = 1  # the sink must not sample X outputs before the first reset
    tb = TB(dut)
    await RisingEdge(dut.clk)
    await tb.reset()
    return tb


class Bridge:
    """Frames between an interface and the DUT's AXI-Stream ports; counters."""

    def __init__(self, tb: TB, cfg: dict[str, Any]) -> None:
        self.tb = tb
        self.cfg = cfg
        self.iface = str(cfg["iface"])
        self.port = int(cfg["port"])
        self.mtu = int(cfg.get("mtu", 9600))
        self.poll_cycles = int(cfg.get("poll_cycles", 100))
        self.drain_cycles = int(cfg.get("drain_cycles", 600))
        self.idle_wait_s = float(cfg.get("idle_wait_s", 0.05))
        self.state_file = Path(cfg["state_file"])
        self.stop_file = Path(cfg["stop_file"])
        self.parent = int(cfg.get("parent_pid", os.getppid()))
        self.rx = self.tx = self.out = 0
        self.by_reason: dict[str, int] = {}
        self.cycles = 0
        self.busy_wall = 0.0  # wall seconds spent simulating
        self.quiet = self.drain_cycles  # cycles since anything moved (start idle)
        self.started = time.time()
        self.ready = False
        self.rtl: dict[str, Any] = {}
        self.rows: list[int] = []
        self.last_rtl = time.time()
        self.rtl_interval_s = float(cfg.get("rtl_interval_s", 5.0))
        self.sock = self._open()

    def _open(self) -> socket.socket:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        with contextlib.suppress(OSError):  # Linux >= 4.20: do not see our own sends
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind((self.iface, ETH_P_ALL))
        sock.setblocking(False)
        return sock

    def drop(self, reason: str) -> None:
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    def state(self, *, final: bool = False) -> dict[str, Any]:
        wall = time.time() - self.started
        return {
            "ok": True,
            "ready": self.ready,
            "final": final,
            "name": self.cfg.get("name", self.iface),
            "service": "waypoint-rtl",
            "iface": self.iface,
            "pid": os.getpid(),
            "uptime_s": round(wall, 3),
            "rx": self.rx,
            "tx": self.tx,
            "dropped": sum(self.by_reason.values()),
            "by_reason": dict(self.by_reason),
            "sim": {
                "cycles": self.cycles,
                "sim_wall_s": round(self.busy_wall, 3),
                "cycles_per_s": round(self.cycles / self.busy_wall, 1) if self.busy_wall else 0.0,
                "clock_mhz": 200,
            },
            "rtl": self.rtl,
        }

    def write_state(self, *, final: bool = False) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(final=final)))
        tmp.replace(self.state_file)

    def stopping(self) -> bool:
        return self.stop_file.exists() or os.getppid() != self.parent

    def receive(self) -> int:
        """Queue every frame waiting on the socket; returns how many."""
        n = 0
        while True:
            try:
                data, addr = self.sock.recvfrom(RECV_BUF)
            except (BlockingIOError, InterruptedError):
                return n
            if addr[2] == socket.PACKET_OUTGOING:
                continue  # kernels without PACKET_IGNORE_OUTGOING
            self.rx += 1
            n += 1
            if len(data) > self.mtu:
                self.drop("too_big")
                continue
            self.tb.source.send_nowait(_frame(data, tuser(len(data), self.port, 0)))

    async def egress(self) -> None:
        while True:
            frame = await self.tb.sink.recv()
            self.out += 1
            self.quiet = 0
            user = frame.tuser[0] if isinstance(frame.tuser, list) else frame.tuser
            dst = (int(user or 0) >> 24) & 0xFF
            if not dst & self.port:
                self.drop("no_port" if dst == 0 else "other_port")
                continue
            try:
                self.sock.send(bytes(frame.tdata))
                self.tx += 1
            except OSError as exc:
                self.drop(f"tx_error_{exc.errno}")

    def rows_due(self) -> bool:
        """Time to refresh the RTL counters (only while idle: reading them costs cycles)."""
        return time.time() - self.last_rtl >= self.rtl_interval_s

    def in_flight(self) -> bool:
        src = self.tb.source
        return not src.empty() or not src.idle() or self.quiet < self.drain_cycles

    async def run(self) -> None:
        cocotb.start_soon(self.egress())
        last_state = 0.0
        while not self.stopping():
            got = self.receive()
            if got:
                self.quiet = 0
            if self.in_flight():
                t0 = time.monotonic()
                await ClockCycles(self.tb.dut.clk, self.poll_cycles)
                self.busy_wall += time.monotonic() - t0
                self.cycles += self.poll_cycles
                self.quiet += self.poll_cycles
            else:
                # nothing in the RTL: wait for the wire in wall time, not in simulated cycles
                select.select([self.sock], [], [], self.idle_wait_s)
                if self.rows_due():
                    self.rtl = await rtl_counters(self.tb, self.rows)
                    self.last_rtl = time.time()
            now = time.time()
            if now - last_state >= float(self.cfg.get("state_interval_s", 0.5)):
                self.write_state()
                last_state = now


def _frame(data: bytes, user: int) -> Any:
    from cocotbext.axi import AxiStreamFrame

    return AxiStreamFrame(data, tuser=user)


def valid_rows(writes: list[RegisterWrite]) -> list[int]:
    """Dispatch rows the writes leave valid (last ENTRY_CTRL write per row is 1)."""
    ctrl: dict[int, int] = {}
    for w in writes:
        if w.block == "wp_waypoint" and w.register == "ENTRY_CTRL":
            ctrl[w.index] = w.value
    return sorted(i for i, v in ctrl.items() if v & 1)


async def rtl_counters(tb: TB, rows: list[int]) -> dict[str, Any]:
    """The waypoint's own counters: global ones and those of the valid rows (few reads, so a
    stop is quick at a few hundred simulated cycles per second)."""
    wp = await WaypointDriver.attach(tb.bus)
    entries = []
    for i in rows:
        key = await wp.read("ENTRY_KEY", i)
        entries.append(
            {
                "row": i,
                "spi": key >> 8,
                "si": key & 0xFF,
                "pe": await wp.read("ENTRY_PE", i),
                "pkts": await wp.read("ENTRY_PKTS", i),
                "bytes": await wp.read("ENTRY_BYTES", i),
            }
        )
    return {
        "nonnsh_pkts": await wp.read("NONNSH_PKTS"),
        "miss_pkts": await wp.read("MISS_PKTS"),
        "drop_pkts": await wp.read("DROP_PKTS"),
        "entries": entries,
    }


@cocotb.test()
async def bridge(dut: Any) -> None:
    cfg = json.loads(Path(os.environ[CONFIG_ENV]).read_text())
    tb = await start(dut)
    writes = [RegisterWrite(**w) for w in cfg.get("writes", [])]
    t0 = time.time()
    await apply_register_writes(writes, lambda wp: tb.bus)
    tb.log.info("%d register writes applied in %.1f s", len(writes), time.time() - t0)
    br = Bridge(tb, cfg)
    br.rows = valid_rows(writes)
    br.rtl = await rtl_counters(tb, br.rows)
    br.ready = True
    br.write_state()
    try:
        await br.run()
    finally:
        br.rtl = await rtl_counters(tb, br.rows)
        br.write_state(final=True)
        br.sock.close()
