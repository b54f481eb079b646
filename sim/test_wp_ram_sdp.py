"""cocotb test of wp_ram_sdp (simple dual-port block RAM, registered read): random writes and
reads against a Python dict; a read of the address written in the same cycle returns the old
word (NO_RW_CHECK = 0), one cycle later with OUT_REG = 1; with NO_RW_CHECK = 1 such a read stops the simulation (the promise the
FIFOs and rings that set it make is checked in every simulation that runs them)."""

from __future__ import annotations

import random
from typing import Any

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from sim.common import run_cocotb

ADDR_WIDTH = 4
WIDTH = 40


async def start(dut: Any) -> None:
    cocotb.start_soon(Clock(dut.clk, 5, unit="ns").start())
    dut.wr_en.value = 0
    dut.rd_en.value = 0
    dut.wr_addr.value = 0
    dut.rd_addr.value = 0
    dut.wr_data.value = 0
    await FallingEdge(dut.clk)


@cocotb.test()
async def test_random(dut: Any) -> None:
    """2,000 cycles of random writes and reads; a read returns the word held before the edge
    (old word on a collision), and rd_data holds while rd_en is low; with OUT_REG = 1 rd_data
    is that word one cycle later."""
    await start(dut)
    no_rw_check = int(dut.NO_RW_CHECK.value)
    out_reg = int(dut.OUT_REG.value)
    shown: int | None = None  # the read register's word of the cycle before (OUT_REG)
    rng = random.Random(7)
    mem: dict[int, int] = {}
    expect: int | None = None
    collisions = 0
    for cycle in range(2000):
        we, re = rng.random() < 0.6, rng.random() < 0.6
        wa, ra = rng.randrange(1 << ADDR_WIDTH), rng.randrange(1 << ADDR_WIDTH)
        if we and re and wa == ra:
            if no_rw_check:
                ra = (wa + 1) % (1 << ADDR_WIDTH)
            else:
                collisions += 1
        wd = rng.getrandbits(WIDTH)
        dut.wr_en.value, dut.wr_addr.value, dut.wr_data.value = int(we), wa, wd
        dut.rd_en.value, dut.rd_addr.value = int(re), ra
        read_ok = re and ra in mem
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        if out_reg:
            shown = expect
        if re:
            expect = mem.get(ra) if read_ok else None
        if not out_reg:
            shown = expect
        if shown is not None:
            got = int(dut.rd_data.value)
            assert got == shown, f"cycle {cycle}: read {got:#x}, expected {shown:#x}"
        if we:
            mem[wa] = wd
    assert no_rw_check or collisions > 20, f"only {collisions} collisions exercised"


@cocotb.test()
async def test_collision(dut: Any) -> None:
    """Write and read address 3 in one cycle: the read returns the old word (NO_RW_CHECK = 0)."""
    await start(dut)
    dut.wr_en.value, dut.wr_addr.value, dut.wr_data.value = 1, 3, 0x11
    await FallingEdge(dut.clk)
    dut.wr_data.value = 0x22
    dut.rd_en.value, dut.rd_addr.value = 1, 3
    await FallingEdge(dut.clk)
    dut.wr_en.value = 0
    dut.rd_en.value = 0
    assert int(dut.rd_data.value) == 0x11, "a collision must read the old word"
    dut.rd_en.value = 1
    await FallingEdge(dut.clk)
    assert int(dut.rd_data.value) == 0x22


@pytest.mark.parametrize(("no_rw_check", "out_reg"), [(0, 0), (1, 0), (1, 1)])
def test_wp_ram_sdp(no_rw_check: int, out_reg: int) -> None:
    run_cocotb(
        toplevel="wp_ram_sdp",
        module="sim.test_wp_ram_sdp",
        testcase="test_random",
        parameters={
            "WIDTH": WIDTH,
            "ADDR_WIDTH": ADDR_WIDTH,
            "NO_RW_CHECK": no_rw_check,
            "OUT_REG": out_reg,
        },
    )


def test_wp_ram_sdp_collision_old_word() -> None:
    run_cocotb(
        toplevel="wp_ram_sdp",
        module="sim.test_wp_ram_sdp",
        testcase="test_collision",
        parameters={"WIDTH": WIDTH, "ADDR_WIDTH": ADDR_WIDTH, "NO_RW_CHECK": 0},
    )


def test_wp_ram_sdp_collision_stops_no_rw_check() -> None:
    """The same collision with NO_RW_CHECK = 1 ends the simulation with the module's error."""
    with pytest.raises((AssertionError, SystemExit)):
        run_cocotb(
            toplevel="wp_ram_sdp",
            module="sim.test_wp_ram_sdp",
            testcase="test_collision",
            parameters={"WIDTH": WIDTH, "ADDR_WIDTH": ADDR_WIDTH, "NO_RW_CHECK": 1},
        )
