"""cocotb test of wp_keep_count (the byte count of a beat with a contiguous tkeep): every
contiguous tkeep of 0..KEEP_WIDTH bytes gives its number of ones (Python's bit count: an oracle
that shares nothing with the RTL's thermometer decode), for the widths the blocks use."""

from __future__ import annotations

from typing import Any

import cocotb
import pytest
from cocotb.triggers import Timer

from sim.common import run_cocotb


@cocotb.test()
async def test_every_length(dut: Any) -> None:
    width = len(dut.keep)
    for n in range(width + 1):
        keep = (1 << n) - 1
        dut.keep.value = keep
        await Timer(1, unit="ns")
        got = int(dut.count.value)
        assert got == keep.bit_count() == n, f"KEEP_WIDTH {width}, {n} bytes: count {got}"


@pytest.mark.parametrize("width", [2, 8, 32, 64])
def test_wp_keep_count(width: int) -> None:
    run_cocotb(
        toplevel="wp_keep_count",
        module="sim.test_wp_keep_count",
        parameters={"KEEP_WIDTH": width},
    )
