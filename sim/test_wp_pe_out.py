"""cocotb test of wp_pe_out (the PEs' output stage) on its own: random frames with random
actions (drop, and NUM_PATCH patches of any offset 0..255 and length 0..7, overlapping or not),
each pushed after its frame's first beat, against a byte loop in Python, under random idle cycles
on every input and back-pressure on the output. wp_fw and wp_nat use only a few patch shapes (lengths 1, 2 and 4 at header offsets,
never overlapping); this test reaches the rest: lengths past 4 (value bytes past the 4th are 0),
patches across a beat boundary or past byte 255 (not patched), a later patch over an earlier
one (the later wins), and frames shorter than a patch."""

from __future__ import annotations

import os
import random
from collections import deque
from typing import Any

import cocotb
import pytest
from cocotb.triggers import FallingEdge, RisingEdge, with_timeout

from sim.common import TB, frame_diff, run_cocotb

PATCH_W = 43  # `WP_PATCH_WIDTH: {offset[7:0], len[2:0], value[31:0]}


def apply(d: bytes, patches: list[tuple[int, int, int]]) -> bytes:
    """Bytes offset..offset+len-1 become the len low bytes of value, big-endian (bytes past the
    4th of the value are 0), in patch order (a later patch overwrites an earlier one); only the
    first 256 bytes of a frame are patched."""
    out = bytearray(d)
    for off, n, val in patches:
        for i in range(n):
            pos, k = off + i, n - 1 - i
            if pos < min(256, len(out)):
                out[pos] = (val >> (8 * k)) & 0xFF if k < 4 else 0
    return bytes(out)


def random_patch(rng: random.Random, size: int) -> tuple[int, int, int]:
    kind = rng.random()
    if kind < 0.15:
        return (rng.randrange(256), 0, rng.getrandbits(32))  # unused
    if kind < 0.35:  # around a beat boundary
        off = (32 * rng.randrange(8) + rng.randrange(-7, 2)) % 256
    elif kind < 0.45:  # near the end of the 256 patchable bytes
        off = rng.randrange(248, 256)
    else:
        off = rng.randrange(min(256, size + 8))
    return (off, rng.randrange(1, 8), rng.getrandbits(32))


@cocotb.test()
async def test_random(dut: Any) -> None:
    num_patch = len(dut.act_patch) // PATCH_W
    rng = random.Random(int(os.environ.get("WP_SEED", "5")))
    tb = TB(dut, seed=rng.randrange(1 << 30), axil=False)
    dut.act_valid.value = 0
    dut.act_word.value = 0
    dut.act_patch.value = 0
    await tb.reset()
    n_frames = int(os.environ.get("WP_FRAMES", "300"))
    actions: deque[tuple[bool, list[tuple[int, int, int]]]] = deque()
    expected: list[bytes] = []
    frames: list[bytes] = []
    for _ in range(n_frames):
        size = rng.choice([rng.randrange(1, 70), rng.randrange(1, 300), rng.randrange(240, 300)])
        d = bytes(rng.getrandbits(8) for _ in range(size))
        patches = [random_patch(rng, size) for _ in range(num_patch)]
        if rng.random() < 0.1:  # the same place twice: the later patch wins
            patches[-1] = (patches[0][0], rng.randrange(1, 8), rng.getrandbits(32))
        drop = rng.random() < 0.1
        actions.append((drop, patches))
        frames.append(d)
        if not drop:
            expected.append(apply(d, patches))

    words: deque[int] = deque()
    for drop, patches in actions:
        word = int(drop) << (num_patch * PATCH_W)
        for p, (off, n, val) in enumerate(patches):
            word |= ((off << 35) | (n << 32) | val) << (p * PATCH_W)
        words.append(word)

    async def drive_actions() -> None:
        """The PE's side: frame i's action word pushed in order, no earlier than the cycle after
        frame i's first beat went in (as a PE decides it from the parsed header), after random
        delays."""
        started = 0
        first = True
        while True:
            await FallingEdge(dut.clk)
            if dut.s_axis_tvalid.value and dut.s_axis_tready.value:
                if first:
                    started += 1
                first = bool(dut.s_axis_tlast.value)
            await RisingEdge(dut.clk)
            if words and started > n_frames - len(words) and rng.random() < 0.5:
                dut.act_word.value = words.popleft()
                dut.act_valid.value = 1
            else:
                dut.act_valid.value = 0

    cocotb.start_soon(drive_actions())
    traffic = [(0.0, 0.0), (0.3, 0.4), (0.0, 0.9)]  # (p idle on source, p back-pressure)
    for t, (p_idle, p_bp) in enumerate(traffic):
        tb.set_traffic(p_idle, p_bp)
        for d in frames[t * len(frames) // 3 : (t + 1) * len(frames) // 3]:
            await tb.send(d)
        await tb.source.wait()
    for i, exp in enumerate(expected):
        got, _ = await with_timeout(tb.recv(), 1_000_000, "ns")
        assert got == exp, frame_diff(i, got, exp)
    await tb.cycles(50)
    assert tb.sink.empty(), "more frames out than expected"
    assert not words, f"{len(words)} actions not pushed"
    assert not dut.act_fifo_inst.m_valid.value, "an action left in the action FIFO"


@pytest.mark.parametrize("num_patch", [1, 5])
def test_wp_pe_out(num_patch: int) -> None:
    run_cocotb(
        toplevel="wp_pe_out",
        module="sim.test_wp_pe_out",
        parameters={"NUM_PATCH": num_patch},
        extra_env={"WP_FRAMES": "300"},
    )
