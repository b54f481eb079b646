"""cocotb tests of wp_axis_arb (the frame-based round-robin merge at the end of wp_waypoint).

The inputs are driven cycle by cycle from Python (one frame queue per input, AXI-Stream rules:
tvalid and the beat held until the handshake); the checks come from the merge's specification,
not from the RTL:

* every frame arrives once, unchanged, frames of one input in their order, and the beats of a
  frame back to back on the output (a grant holds from a frame's first beat to its last);
* round robin: while an input waits with a frame, no other input starts more than one frame;
* rate: with every input backlogged, or with one input backlogged, and the sink always ready,
  one beat per cycle on the output from its first beat to its last, no idle cycle between
  frames; with every input backlogged the frames come in turn 1, 2, ..., S_COUNT-1, 0, 1, ...
  (input 0 counts as the last served after reset);
* latency of a lone frame at an idle arbiter: on the input the grant is parked on, and on
  another input (one cycle more);
* random idle cycles on the sources and back-pressure on the sink, with the output's AXI-Stream
  rules (tvalid and the beat held while stalled).
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from sim.common import CLK_PERIOD_NS, run_cocotb


@dataclass(frozen=True, slots=True)
class Beat:
    data: int
    keep: int
    user: int
    last: bool


@dataclass(slots=True)
class Harness:
    """Drives the S_COUNT inputs and the output ready; records every handshake."""

    dut: Any
    n: int
    dw: int
    uw: int
    rng: random.Random
    idle: float = 0.0  # chance a source pauses (tvalid low) after a handshake
    stall: float = 0.0  # chance the sink's tready is low in a cycle
    queues: list[deque[list[Beat]]] = field(default_factory=list)
    cycle: int = 0
    out: list[tuple[int, Beat]] = field(default_factory=list)  # (cycle, beat)
    starts: list[tuple[int, int]] = field(default_factory=list)  # (cycle, input) frame starts
    waiting: dict[int, int] = field(default_factory=dict)  # input -> cycle its frame is offered
    since: dict[int, dict[int, int]] = field(default_factory=dict)  # waiter -> input -> starts
    in_cycles: list[int] = field(default_factory=list)  # cycles with an input handshake

    def __post_init__(self) -> None:
        self.queues = [deque() for _ in range(self.n)]

    def frame(self, src: int, num: int, beats: int) -> list[Beat]:
        kw = self.dw // 8
        out = []
        for b in range(beats):
            last = b == beats - 1
            keep = (1 << self.rng.randint(1, kw)) - 1 if last else (1 << kw) - 1
            data = self.rng.getrandbits(self.dw - 32) << 32 | src << 24 | num << 8 | b
            out.append(Beat(data, keep, self.rng.getrandbits(self.uw), last))
        return out

    async def run(self, cycles_max: int) -> None:
        """Drive until every queue is empty and the output has drained."""
        dut, n, dw, uw = self.dut, self.n, self.dw, self.uw
        kw = dw // 8
        beat_idx = [0] * n
        valid = [False] * n
        paused = [0] * n
        out_valid_prev = False
        out_word_prev: tuple[int, int, int, int] | None = None
        ready_prev = False
        for _ in range(cycles_max):
            # drive this cycle's inputs
            tdata = tkeep = tuser = tlast = tvalid = 0
            for i in range(n):
                if not valid[i] and self.queues[i] and paused[i] == 0:
                    valid[i] = True
                    if beat_idx[i] == 0:
                        self.waiting[i] = self.cycle
                        self.since[i] = {}
                if valid[i]:
                    b = self.queues[i][0][beat_idx[i]]
                    tdata |= b.data << (i * dw)
                    tkeep |= b.keep << (i * kw)
                    tuser |= b.user << (i * uw)
                    tlast |= b.last << i
                    tvalid |= 1 << i
            dut.s_axis_tdata.value = tdata
            dut.s_axis_tkeep.value = tkeep
            dut.s_axis_tuser.value = tuser
            dut.s_axis_tlast.value = tlast
            dut.s_axis_tvalid.value = tvalid
            ready = self.rng.random() >= self.stall
            dut.m_axis_tready.value = ready
            await RisingEdge(dut.clk)
            self.cycle += 1
            # the handshakes of the cycle that just ended
            rdy = int(dut.s_axis_tready.value)
            assert bin(rdy).count("1") <= 1, f"cycle {self.cycle}: tready {rdy:b}"
            for i in range(n):
                paused[i] = max(0, paused[i] - 1)
                if not (valid[i] and rdy >> i & 1):
                    continue
                self.in_cycles.append(self.cycle)
                if beat_idx[i] == 0:
                    self.starts.append((self.cycle, i))
                    self.waiting.pop(i, None)
                    for w, counts in self.since.items():
                        if w != i and w in self.waiting:
                            counts[i] = counts.get(i, 0) + 1
                            assert counts[i] <= 1, (
                                f"cycle {self.cycle}: input {i} starts a second frame while"
                                f" input {w} waits (since cycle {self.waiting[w]})"
                            )
                b = self.queues[i][0][beat_idx[i]]
                beat_idx[i] += 1
                valid[i] = False
                if b.last:
                    self.queues[i].popleft()
                    beat_idx[i] = 0
                if self.rng.random() < self.idle:
                    paused[i] = self.rng.randint(1, 4)
            mv = str(dut.m_axis_tvalid.value) == "1"
            word = (
                (
                    int(dut.m_axis_tdata.value),
                    int(dut.m_axis_tkeep.value),
                    int(dut.m_axis_tuser.value),
                    int(dut.m_axis_tlast.value),
                )
                if mv
                else None
            )
            if out_valid_prev and not ready_prev:
                assert mv, f"cycle {self.cycle}: m_axis_tvalid dropped before its handshake"
                assert word == out_word_prev, f"cycle {self.cycle}: beat changed while stalled"
            if mv and ready:
                assert word is not None
                self.out.append((self.cycle, Beat(word[0], word[1], word[2], bool(word[3]))))
            out_valid_prev, out_word_prev, ready_prev = mv, word, ready
            if not any(self.queues) and len(self.out) == len(self.in_cycles):
                return  # every beat taken in has left
        raise AssertionError(f"not drained after {cycles_max} cycles")

    def check_frames(self, sent: list[list[list[Beat]]]) -> list[int]:
        """Every frame once, unchanged, in order per input, beats back to back; returns the
        input of each output frame in output order."""
        order: list[int] = []
        nxt = [0] * self.n
        k = 0
        beats = [b for _, b in self.out]
        while k < len(beats):
            src = beats[k].data >> 24 & 0xFF
            assert src < self.n, f"output beat {k}: unknown source {src}"
            exp = sent[src][nxt[src]]
            got = beats[k : k + len(exp)]
            assert got == exp, f"output frame {len(order)} (input {src}, frame {nxt[src]}) differs"
            nxt[src] += 1
            order.append(src)
            k += len(exp)
        assert nxt == [len(s) for s in sent], f"frames out {nxt}, sent {[len(s) for s in sent]}"
        return order


async def start(dut: Any, seed: int, *, clock: bool = True, **kw: float) -> Harness:
    """A harness on ``dut`` after a reset (and the clock started, unless ``clock`` is False)."""
    n = len(dut.s_axis_tvalid)
    h = Harness(
        dut=dut,
        n=n,
        dw=len(dut.m_axis_tdata),
        uw=len(dut.m_axis_tuser),
        rng=random.Random(seed),
        **kw,
    )
    if clock:
        cocotb.start_soon(Clock(dut.clk, CLK_PERIOD_NS, unit="ns").start())
    dut.s_axis_tvalid.value = 0
    dut.m_axis_tready.value = 1
    dut.rst.value = 1
    for _ in range(4):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    return h


def fill(h: Harness, inputs: list[int], frames: int, lengths: list[int]) -> list[list[list[Beat]]]:
    sent: list[list[list[Beat]]] = [[] for _ in range(h.n)]
    for i in inputs:
        for f in range(frames):
            fr = h.frame(i, f, lengths[(f + i) % len(lengths)])
            sent[i].append(fr)
            h.queues[i].append(fr)
    return sent


def gapless(cycles: list[int], what: str) -> None:
    gaps = [(a, b) for a, b in itertools.pairwise(cycles) if b != a + 1]
    assert not gaps, f"{what}: idle cycles between {gaps[:5]} ({len(cycles)} beats)"


@cocotb.test()
async def test_rate_all_inputs(dut: Any) -> None:
    """Every input backlogged (1-, 2- and 3-beat frames): one beat per cycle, frames in turn."""
    h = await start(dut, seed=1)
    sent = fill(h, list(range(h.n)), 12, [1, 2, 3, 1, 5])
    await h.run(5000)
    order = h.check_frames(sent)
    gapless([c for c, _ in h.out], "output")
    gapless(h.in_cycles, "inputs")
    assert order == [(k + 1) % h.n for k in range(len(order))], order


@cocotb.test()
async def test_rate_one_input(dut: Any) -> None:
    """One input backlogged (the last one, not where the grant parks after reset): one beat
    per cycle, 1-beat frames included."""
    h = await start(dut, seed=2)
    sent = fill(h, [h.n - 1], 40, [1, 1, 2, 4, 1, 3])
    await h.run(5000)
    h.check_frames(sent)
    gapless([c for c, _ in h.out], "output")
    gapless(h.in_cycles, "input")


@cocotb.test()
async def test_lone_frame_latency(dut: Any) -> None:
    """A lone frame at an idle arbiter: on the parked input (input 1 after reset; the input of
    the last frame later) its first beat is taken in the cycle it is offered and leaves one
    cycle later; on any other input, each one cycle later."""
    h = await start(dut, seed=3)
    parked = 1 % h.n
    cases = [(parked, 0, 1), (parked, 0, 1)]  # (input, cycles offered -> taken, taken -> out)
    if h.n > 1:
        other = 0
        cases += [(other, 1, 1), (other, 0, 1), (parked, 1, 1)]
    for src, wait, lat in cases:
        for _ in range(3):
            await RisingEdge(dut.clk)
        h.out.clear()
        h.in_cycles.clear()
        h.queues[src].append(h.frame(src, 0, 2))
        t0 = h.cycle + 1  # the cycle in which the source offers the beat
        await h.run(100)
        taken, first_out = h.in_cycles[0], h.out[0][0]
        dut._log.info("input %d: taken after %d, out %d later", src, taken - t0, first_out - taken)
        assert (taken - t0, first_out - taken) == (wait, lat), (src, taken - t0, first_out - taken)


@cocotb.test()
async def test_random(dut: Any) -> None:
    """Random frame lengths, idle cycles on the sources, back-pressure on the sink."""
    for seed in range(4):
        h = await start(dut, seed=10 + seed, clock=seed == 0, idle=0.3, stall=0.3)
        inputs = [i for i in range(h.n) if h.rng.random() < 0.8] or [0]
        sent = fill(h, inputs, 15, [h.rng.randint(1, 6) for _ in range(7)])
        await h.run(20000)
        h.check_frames(sent)


@pytest.mark.parametrize("inputs", [1, 2, 6])
def test_wp_axis_arb(inputs: int) -> None:
    run_cocotb(
        toplevel="wp_axis_arb",
        module="sim.test_wp_axis_arb",
        parameters={"S_COUNT": inputs, "DATA_WIDTH": 64, "USER_WIDTH": 8},
    )
