"""HDL resources and logic depth: yosys ``synth_xilinx -family xc7`` per module.

    .venv/bin/python bench/hdl_resources.py                  # every configuration
    .venv/bin/python bench/hdl_resources.py wp_fw wp_ids     # some
    .venv/bin/python bench/hdl_resources.py --rev <commit>   # RTL of a commit (default HEAD)
    .venv/bin/python bench/hdl_resources.py --depth-only     # re-analyse saved netlists
    .venv/bin/python bench/hdl_resources.py --docs-only      # re-render docs from the JSON

The RTL is taken from ``git archive <rev> hdl`` (not the working tree), so every number names
the commit it was measured on. For each configuration yosys maps the flattened design to
7-series cells (LUT / FF / LUTRAM / BRAM / DSP / CARRY4) and writes the netlist to
build/hdl_resources/<name>.json; ``logic_depth`` then walks that netlist and reports the
deepest register-to-register path in LUT levels (see its docstring). Results go to
bench/results/hdl_resources.json and the "HDL resources" section of docs/benchmarks.md.

These are yosys' generic mapping and a topological depth count: a guide to relative cost and
to where 200 MHz is at risk, not a Vivado post-route report and not timing closure.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RESULTS = REPO / "bench" / "results" / "hdl_resources.json"
NETLISTS = REPO / "build" / "hdl_resources"
SYNTH = "synth_xilinx -family xc7 -flatten -noiopad"


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """One synthesized configuration: a top module and the parameters it is built with."""

    top: str
    params: dict[str, int] = field(default_factory=dict)
    note: str = ""


# Order = order of the docs table. Parameters: what the waypoint and the SUME wrapper build
# (16 rules / mappings / entries); the IDS with its maximum of 16 signatures and the default
# 512-beat frame FIFO; ChaCha20 in both CONFIG.DECRYPT reset values (the direction is a
# run-time register bit, so both should map to the same hardware).
CONFIGS: dict[str, Config] = {
    "wp_hdr_parse": Config(top="wp_hdr_parse"),
    "wp_fw": Config(top="wp_fw", params={"NUM_RULES": 16}),
    "wp_nat": Config(top="wp_nat", params={"NUM_MAPPINGS": 16}),
    "wp_chacha20": Config(
        top="wp_chacha20",
        params={"DECRYPT": 0},
        note="DECRYPT only sets the reset value of the run-time CONFIG.DECRYPT bit: encrypt"
        " and decrypt are one circuit (the decrypt row, where measured, checks that).",
    ),
    "wp_chacha20 (decrypt)": Config(top="wp_chacha20", params={"DECRYPT": 1}),
    "wp_ids": Config(
        top="wp_ids",
        params={"NUM_SIGS": 16, "FRAME_DEPTH": 512},
        note="16 signatures is the most the register map holds. Block RAM since issue #15:"
        " the 32 per-lane match tables (512 × 256 bits each, 4 RAMB36) and the 512-beat frame"
        " FIFO (512 × 417 bits, 6 RAMB36); the LUT RAM left is the per-frame decision memory"
        " (512 × 32 bits, read combinationally). Before (a86f41c): one 8-bit comparator per"
        " signature byte per window position, 75,134 LUT, frame FIFO in 1,200 LUTRAM cells.",
    ),
    "wp_waypoint": Config(
        top="wp_waypoint",
        params={"NUM_ENTRIES": 16, "EXT_PES": 1, "FW_RULES": 16, "NAT_MAPPINGS": 16},
    ),
    "wp_waypoint (all five PEs)": Config(
        top="wp_cosim_top",
        params={
            "NUM_ENTRIES": 16,
            "FW_RULES": 16,
            "NAT_MAPPINGS": 16,
            "IDS_SIGS": 16,
            "IDS_FRAME_DEPTH": 512,
        },
        note="hdl/wrap/wp_cosim_top.v: wp_waypoint (fw and nat inside) with wp_chacha20"
        " encrypt, wp_ids and wp_chacha20 decrypt on its external PE ports (ChaCha20 buffers at"
        " the top's defaults: 128-beat data FIFO, 64-block keystream FIFO). Issue #15's fit"
        " target: at most 87k LUT (20 % of the SUME's xc7vx690t). Register slices on both"
        " directions of each external PE port (since 7666f9d to the PE, 64dfbbe back to the"
        " merge). At 64dfbbe its deepest path was the 6-input merge's grant (last_reg → the"
        " inputs' readies → their slices' skid registers, 6.45 ns); since 5327fa6 the grant is"
        " a register decided a cycle ahead and the merge ends in a register slice (its paths"
        " ≤ 3.1 ns here). At 5327fa6 the deepest path was a ChaCha20 core stage, 5.1 ns (two"
        " serial 32-bit adds: 4 LUT levels and 15 CARRY4); since 7948cd1 a core stage is one"
        " add (≤ 2.9 ns here), and since 9b82aa0 s_axis_tready is formed from registered FIFO"
        " counts (5.0 ns at 7948cd1, whose 128-beat FIFOs widened the counts). Deepest now:"
        " 4.5 ns, ChaCha20's checksum fold (b_ipi_reg → f_csum_reg), its data FIFO write, its"
        " AXI-Lite write merge, nat's output stage.",
    ),
    "wp_axis_arb": Config(top="wp_axis_arb", params={"S_COUNT": 2}),
    "wp_axis_arb (6 inputs)": Config(
        top="wp_axis_arb",
        params={"S_COUNT": 6},
        note="the waypoint's merge in the five-PE top (fw, nat, 3 external PEs, bypass). At"
        " 1f14037 (round-robin pick by a 32-bit `%`, six dividers at 6 inputs): 15,072 LUT."
        " At 25c24fa (combinational pick from last_reg into every input's ready and the data"
        " mux): 1,470 LUT, 7 FF, 6.15 ns. Since 5327fa6 the grant is a one-hot register (and"
        " its index for the data mux) decided a cycle ahead, and the output goes through a"
        " register slice (wp_axis_reg, 836 of the FF).",
    ),
    "wp_pe_out": Config(
        top="wp_pe_out",
        note="since 913467f with the PE's frame and action FIFOs inside (LUT RAM, 16 deep at"
        " the defaults, heads in 8 and 2 slices) and the take decided a cycle ahead;"
        " since bfd657f a credit-counted pipeline of plain registers (join with each"
        " patch's end offset + len - 1; per patch the touch flag, d < 0, d[4:0] and e clamped"
        " to 0..63 from compares with the beat index; the per-byte selects as AND/OR terms)"
        " into an output wp_fifo (LUT RAM; the SRLs are the pipeline's delay registers, which"
        " have no enable). Before: three register slices since 8a9da43 (two since 5152863),"
        " 3.9 ns from `beat_idx_reg` through the distance subtraction; one stage before"
        " 5152863: 9 LUT levels, ≈ 9.3 ns.",
    ),
    "wp_axis_reg": Config(top="wp_axis_reg", params={"WIDTH": 417}),
    "wp_axil_split": Config(top="wp_axil_split"),
    "wp_axil_regs": Config(top="wp_axil_regs"),
}

GROUPS = {
    "LUT": re.compile(r"^LUT[1-6]$"),
    "FF": re.compile(r"^FD[A-Z]*$"),
    "LUTRAM": re.compile(r"^RAM(32|64|128|256)[A-Z0-9]*$"),
    "SRL": re.compile(r"^SRL(16|C32)E$"),
    "BRAM": re.compile(r"^RAMB(18|36)E1$"),
    "DSP": re.compile(r"^DSP48E1$"),
    "CARRY4": re.compile(r"^CARRY4$"),
}


def export_hdl(rev: str, dest: Path) -> str:
    """Unpack ``hdl/`` of commit ``rev`` into ``dest``; return the full commit hash."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "hdl"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return commit


def synth(cfg: Config, hdl: Path, netlist: Path) -> dict[str, int]:
    """Run yosys on the file list under ``hdl``; write the mapped netlist; count cells."""
    from sim.common import read_filelist

    sources, incdirs = read_filelist(hdl / "wphw.f")
    if cfg.top == "wp_cosim_top":  # the simulation top of the five PEs is not in wphw.f
        sources.append(hdl / "wrap" / "wp_cosim_top.v")
    inc = " ".join(f"-I{d}" for d in incdirs)
    chparam = " ".join(f"-set {k} {v}" for k, v in cfg.params.items())
    script = [
        *(f"read_verilog -sv {inc} {s}" for s in sources if s.exists()),
        *([f"chparam {chparam} {cfg.top}"] if cfg.params else []),
        f"{SYNTH} -top {cfg.top}",
        "stat",
        f"write_json {netlist}",
    ]
    netlist.parent.mkdir(parents=True, exist_ok=True)
    return run_yosys(script)


def run_yosys(script: list[str]) -> dict[str, int]:
    """Run a yosys script (nice 10) that ends in ``stat``; count its cells by GROUPS."""
    log = subprocess.run(
        ["nice", "-n", "10", "yosys", "-q", "-p", "; ".join(script), "-l", "/dev/stdout"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    stat = log[log.rfind("Number of cells") :]
    counts = {g: 0 for g in GROUPS}
    for m in re.finditer(r"^\s+(\S+)\s+(\d+)\s*$", stat, re.M):
        cell, n = m.group(1), int(m.group(2))
        for g, rx in GROUPS.items():
            if rx.match(cell):
                counts[g] += n
    return counts


# ------------------------------------------------------------------------------------------
# Logic depth on the mapped netlist
# ------------------------------------------------------------------------------------------

# Rough 7-series (-2 speed grade) delays in ns, for ranking paths and a first 200 MHz check:
# one LUT level with a typical local net ≈ 0.55 (LUT ≈ 0.1 + net 0.3-0.5); MUXF7/F8 ≈ 0.3 (no
# net); a CARRY4 entered from S/DI ≈ 0.5, each further CARRY4 on the chain (CI→CO) ≈ 0.1;
# launch + capture of a flip-flop (clock-to-Q + setup + clock uncertainty) ≈ 0.6; block RAM
# clock-to-out ≈ 2.0 without the output register (0.7 with); SRL clock-to-out ≈ 1.2. Not from
# a timing model: order-of-magnitude values from the 7-series data sheet, good to ±30 %.
T_LUT = 0.55
T_MUXF = 0.3
T_CARRY_IN = 0.5
T_CARRY_CHAIN = 0.1
T_FF = 0.6
T_BRAM = 2.0
T_BRAM_REG = 0.7
T_SRL = 1.2
PERIOD_NS = 5.0  # 200 MHz

_LUTRAM_ADDR = re.compile(r"^(A\d*|ADDR[A-D]|DPRA\d*)$")
_FF = re.compile(r"^FD[CPRS]E(_1)?$")
_WIRE = {"BUFG", "IBUF", "OBUF", "BUFGCTRL", "INV"}  # INV: folded into the next LUT


@dataclass(slots=True)
class _Arr:
    """Arrival at one net bit: delay, the path's composition, its start and predecessor."""

    ns: float
    luts: int
    carry4: int
    muxf: int
    start: str  # "reg" or "port"
    prev: int | None  # previous net bit on the path


def _arcs(
    ctype: str, dirs: dict[str, str], params: dict[str, str]
) -> tuple[list[tuple[list[str], list[str], float, str]], list[str], float | None, list[str]]:
    """Timing view of one cell: (comb arcs, launching outputs, launch delay, capturing inputs).

    An arc is (input ports, output ports, delay, kind), kind one of "lut", "muxf", "carry"
    (into a CARRY4 from S/DI), "chain" (CI/CYINIT) or "" (no delay, not counted).
    """
    ins = [p for p, d in dirs.items() if d == "input"]
    outs = [p for p, d in dirs.items() if d == "output"]
    if re.match(r"^LUT[1-6]$", ctype):
        return [(ins, outs, T_LUT, "lut")], [], None, []
    if ctype in ("MUXF7", "MUXF8"):
        return [(ins, outs, T_MUXF, "muxf")], [], None, []
    if ctype == "CARRY4":
        entry = [p for p in ins if p not in ("CI", "CYINIT")]
        return (
            [(entry, outs, T_CARRY_IN, "carry"), (["CI", "CYINIT"], outs, T_CARRY_CHAIN, "chain")],
            [],
            None,
            [],
        )
    if ctype in _WIRE:
        return [(ins, outs, 0.0, "")], [], None, []
    if ctype in ("GND", "VCC"):
        return [], [], None, []
    if _FF.match(ctype):
        return [], outs, T_FF, [p for p in ins if p != "C"]
    if re.match(r"^RAMB(18|36)E1$", ctype):
        regd = any(str(params.get(k, "0")).strip("0") for k in ("DOA_REG", "DOB_REG"))
        launch = [p for p in outs if p.startswith("DO")]
        capture = [p for p in ins if not p.startswith("CLK")]
        return [], launch, T_BRAM_REG if regd else T_BRAM, capture
    if re.match(r"^RAM(32|64|128|256)[A-Z0-9]*$", ctype):
        size = int(re.match(r"^RAM(\d+)", ctype).group(1))  # type: ignore[union-attr]
        extra = {32: 0, 64: 0, 128: 1, 256: 2}[size] * T_MUXF
        addr = [p for p in ins if _LUTRAM_ADDR.match(p)]
        capture = [p for p in ins if p != "WCLK"]
        return [(addr, outs, T_LUT + extra, "lut")], [], None, capture
    if re.match(r"^SRL(16|C32)E$", ctype):
        addr = [p for p in ins if re.match(r"^A\d*$", p)]
        return [(addr, outs, T_LUT, "lut")], outs, T_SRL, ["D", "CE"]
    raise ValueError(f"logic_depth: no timing view for cell type {ctype}")


def logic_depth(netlist: Path) -> dict[str, object]:
    """Deepest paths of a flattened ``write_json`` netlist of yosys' xc7 cells.

    Start points: flip-flop / SRL / block RAM outputs ("reg") and input ports ("port"); end
    points: flip-flop, SRL, block RAM and LUTRAM write inputs, and output ports. Every path is
    weighed with the T_* delays above; reported are the worst register-to-register path (its
    estimated ns, LUT levels, CARRY4s and MUXFs, named by its start and end registers), the
    largest LUT-level count of any register-to-register path, the worst path from or to a
    port (combinational paths through the module's stream/register interface), and the eight
    capturing registers (all bits of a vector merged) with the slowest paths.
    """
    design = json.loads(netlist.read_text())
    (top,) = [
        m for m in design["modules"].values() if str(m["attributes"].get("top", "0")).strip("0")
    ]
    names: dict[int, str] = {}
    for name, net in sorted(
        top["netnames"].items(),
        key=lambda kv: (
            kv[1].get("hide_name", 0),
            kv[0] not in top["ports"],
            "_reg" not in kv[0],
            len(kv[0]),
            kv[0],
        ),
    ):
        for i, b in enumerate(net["bits"]):
            if isinstance(b, int) and b not in names:
                names[b] = name if len(net["bits"]) == 1 else f"{name}[{i}]"
    driver: dict[int, list[tuple[list[int], float, str]]] = {}  # bit -> arcs (ins, ns, kind)
    ctype: dict[int, str] = {}  # bit -> type of the cell driving it
    launch: dict[int, float] = {}
    capture: list[tuple[int, int, str]] = []  # (bit, bit naming the capturing cell, its pin)
    for b in (b for p in top["ports"].values() if p["direction"] == "input" for b in p["bits"]):
        if isinstance(b, int):
            launch[b] = 0.0
    port_in = set(launch)
    for cell in top["cells"].values():
        dirs = cell["port_directions"]
        bits = cell["connections"]
        arcs, louts, ldelay, cins = _arcs(cell["type"], dirs, cell["parameters"])

        def ints(ports: list[str], bits: dict[str, list[int | str]] = bits) -> list[int]:
            return [b for p in ports for b in bits.get(p, []) if isinstance(b, int)]

        for ips, ops, d, kind in arcs:
            for b in ints(ops):
                driver.setdefault(b, []).append((ints(ips), d, kind))
                ctype[b] = cell["type"]
        for b in ints(louts):
            launch[b] = ldelay or 0.0
        outs = ints(louts or [p for p, d in dirs.items() if d == "output"])
        for p in cins:
            for b in ints([p]):
                capture.append((b, outs[0] if outs else b, f"{cell['type']}.{p}"))
    arr: dict[int, _Arr | None] = {}
    lut_levels: dict[int, int] = {}
    none = -(10**6)

    def visit(root: int) -> None:
        stack = [root]
        busy: set[int] = set()
        while stack:
            b = stack[-1]
            if b in arr:
                stack.pop()
                continue
            if b in launch:
                start = "port" if b in port_in else "reg"
                arr[b] = _Arr(launch[b], 0, 0, 0, start, None)
                lut_levels[b] = 0 if start == "reg" else none
                stack.pop()
                continue
            if b not in driver:  # constant or undriven
                arr[b], lut_levels[b] = None, none
                stack.pop()
                continue
            todo = [i for ins, _, _ in driver[b] for i in ins if i not in arr and i not in busy]
            if todo and b not in busy:
                busy.add(b)
                stack.extend(todo)
                continue
            busy.discard(b)  # inputs done (or on a combinational loop: cut there)
            best: _Arr | None = None
            levels = none
            for ins, d, kind in driver[b]:
                for i in ins:
                    a = arr.get(i)
                    if a is not None and (best is None or a.ns + d > best.ns):
                        best = _Arr(
                            a.ns + d,
                            a.luts + (kind == "lut"),
                            a.carry4 + (kind in ("carry", "chain")),
                            a.muxf + (kind == "muxf"),
                            a.start,
                            i,
                        )
                    levels = max(levels, lut_levels.get(i, none) + (kind == "lut"))
            arr[b], lut_levels[b] = best, levels
            stack.pop()

    ends = [(b, reg, pin, False) for b, reg, pin in capture]
    ends += [
        (b, b, "port", True)
        for p in top["ports"].values()
        if p["direction"] == "output"
        for b in p["bits"]
        if isinstance(b, int)
    ]
    worst: dict[str, tuple[float, int, int, str]] = {}
    per_reg: dict[str, tuple[float, int]] = {}  # register (bits merged) -> worst ns, levels
    max_levels = 0
    for b, reg, pin, is_port in ends:
        visit(b)
        a = arr[b]
        if a is None:
            continue
        key = "reg" if a.start == "reg" and not is_port else "port"
        if key not in worst or a.ns > worst[key][0]:
            worst[key] = (a.ns, b, reg, pin)
        if not is_port:
            max_levels = max(max_levels, lut_levels[b])
        if key == "reg" and not names.get(reg, "$").startswith("$"):
            base = re.sub(r"(\[\d+\])+$", "", names.get(reg, str(reg)))
            if base not in per_reg or a.ns > per_reg[base][0]:
                per_reg[base] = (a.ns, a.luts)

    def describe(key: str) -> dict[str, object] | None:
        if key not in worst:
            return None
        ns, b, reg, pin = worst[key]
        a = arr[b]
        assert a is not None
        first, cells = b, []
        while (p := arr[first]) is not None and p.prev is not None:
            if ctype[first] not in _WIRE:
                cells.append(ctype[first])
            first = p.prev
        return {
            "ns": round(ns, 2),
            "lut_levels": a.luts,
            "carry4": a.carry4,
            "muxf": a.muxf,
            "from": names.get(first, str(first)),
            "to": names.get(reg, str(reg)),
            "to_pin": pin,
            "cells": " ".join(reversed(cells)),
        }

    return {
        "reg_to_reg": describe("reg"),
        "max_lut_levels_reg_to_reg": max_levels,
        "port_path": describe("port"),
        "worst_registers": [
            {"register": r, "ns": round(ns, 2), "lut_levels": n}
            for r, (ns, n) in sorted(per_reg.items(), key=lambda kv: -kv[1][0])[:8]
        ],
    }


# ------------------------------------------------------------------------------------------
# Driver and docs
# ------------------------------------------------------------------------------------------


def verdict(ns: float) -> str:
    """200 MHz outlook of an estimated register-to-register delay (see T_* above)."""
    if ns <= 0.8 * PERIOD_NS:
        return "likely"
    if ns <= PERIOD_NS:
        return "tight"
    return "doubtful"


def netlist_path(name: str) -> Path:
    return NETLISTS / (re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") + ".json")


def _commit_order(commit: str) -> int:
    """Position of ``commit`` in history (number of its ancestors)."""
    out = subprocess.run(
        ["git", "-C", str(REPO), "rev-list", "--count", commit],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout)


def _hdl_changed(old: str, new: str) -> list[str]:
    """Files under hdl/ that differ between two commits."""
    out = subprocess.run(
        ["git", "-C", str(REPO), "diff", "--name-only", old, new, "--", "hdl"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [Path(f).name for f in out.stdout.split()]


def render(data: dict[str, dict[str, object]]) -> str:
    """The "HDL resources" section of docs/benchmarks.md from the results JSON."""
    cols = list(GROUPS)
    order = list(CONFIGS)
    entries = sorted(data.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    missing = [n for n in CONFIGS if n not in data]
    newest = max((str(e["commit"]) for _, e in entries), key=_commit_order, default="")
    stale = []
    for name, e in entries:
        changed = _hdl_changed(str(e["commit"]), newest)
        if changed:
            stale.append(f"{name} ({str(e['commit'])[:7]}; since then: {', '.join(changed)})")
    rows = [
        "Measured by `bench/hdl_resources.py` (Debian yosys 0.23): per configuration,",
        f"`{SYNTH} -top <module>` on the `hdl/` of the commit in the",
        "last column (`git archive`, not the working tree), then a depth walk over the mapped",
        "netlist. yosys' generic 7-series mapping only: no Vivado, no placement, no timing",
        "closure. yosys s = wall time of the synthesis on the shared 2-core machine (nice 10).",
        *(["", "Not measured: " + ", ".join(missing) + "."] if missing else []),
        *(
            ["", f"Measured on older RTL than {newest[:7]}: " + "; ".join(stale) + "."]
            if stale
            else []
        ),
        "",
        "| module | parameters | " + " | ".join(cols) + " | yosys s | commit |",
        "| --- | --- | " + " | ".join("---:" for _ in cols) + " | ---: | --- |",
    ]
    for name, e in entries:
        params = ", ".join(f"{k}={v}" for k, v in dict(e["parameters"]).items()) or "—"  # type: ignore[call-overload]
        cells = dict(e["cells"])  # type: ignore[call-overload]
        rows.append(
            f"| {name} | {params} | "
            + " | ".join(str(cells.get(c, "—")) for c in cols)
            + f" | {e.get('seconds', '—')} | {str(e['commit'])[:7]} |"
        )
    notes = [f"* {n}: {CONFIGS[n].note}" for n, _ in entries if n in CONFIGS and CONFIGS[n].note]
    notes += [f"* {n}: {e['note']}" for n, e in entries if e.get("note")]
    rows += ["", *notes] if notes else []
    rows += [
        "",
        "### Logic depth and 200 MHz (estimate, not timing closure)",
        "",
        "The target is 200 MHz (5 ns), the NetFPGA SUME data path clock. Without Vivado there is",
        "no real timing; instead each mapped netlist is walked from every register output (and",
        "input port) to every register input (and output port), and each path is weighed with",
        "a rule of thumb for a 7-series -2 part: about 0.5-0.6 ns per LUT level including its",
        f"net ({T_LUT} used), {T_MUXF} per MUXF7/F8, {T_CARRY_IN} for entering a CARRY4 chain",
        f"plus {T_CARRY_CHAIN} per further CARRY4, {T_FF} for clock-to-Q + setup of the",
        f"flip-flops, {T_BRAM} for a block RAM read without output register. So roughly 6-8 LUT",
        "levels fit in 5 ns. Fan-out, placement and long routes are not modelled (a 256-bit",
        "mux select or a tready driving hundreds of clock enables can add 1-2 ns on its own);",
        f"yosys' ABC mapping is not Vivado's. Outlook: ≤ {0.8 * PERIOD_NS:.1f} ns likely,",
        f"≤ {PERIOD_NS:.1f} ns tight, above doubtful. (yosys' own `ltp -noff` is no help on this",
        "netlist: it does not recognise the mapped FDRE cells as flip-flops and walks through",
        "them; `sta` fails on the parameterised LUT cells.)",
        "",
        "| module | reg→reg: LUT levels | CARRY4 | MUXF | est. ns | 200 MHz | most LUT levels"
        " | deepest path (start → end register) | port path: LUT levels, est. ns |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | --- | --- |",
    ]
    flagged: list[str] = []
    deepest: tuple[float, str, dict[str, object]] | None = None
    for name, e in entries:
        depth = e.get("depth")
        if not isinstance(depth, dict) or not depth.get("reg_to_reg"):
            rows.append(f"| {name} | — | — | — | — | not analysed | — | — | — |")
            continue
        r = depth["reg_to_reg"]
        p = depth.get("port_path") or {}
        ns = float(r["ns"])
        if deepest is None or ns > deepest[0]:
            deepest = (ns, name, r)
        if verdict(ns) != "likely":
            flagged.append(f"{name} ({verdict(ns)}, ≈ {ns:.1f} ns)")
        port = f"{p['lut_levels']}, {p['ns']:.1f}" if p else "—"
        rows.append(
            f"| {name} | {r['lut_levels']} | {r['carry4']} | {r['muxf']} | {ns:.1f} | "
            f"{verdict(ns)} | {depth['max_lut_levels_reg_to_reg']} | "
            f"`{r['from']}` → `{r['to']}` | {port} |"
        )
    if deepest is not None:
        ns, name, r = deepest
        rows += [
            "",
            f"Deepest: {name}, `{r['from']}` → `{r['to']}`: {r['lut_levels']} LUT levels,"
            f" {r['carry4']} CARRY4, {r['muxf']} MUXF, ≈ {ns:.1f} ns.",
            "Flagged for 200 MHz: " + ("; ".join(flagged) if flagged else "none") + ".",
        ]
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    from bench.docs_section import replace_section

    parser = argparse.ArgumentParser(
        description="HDL resources and the xc7 depth walk (yosys synth_xilinx) per module",
        epilog=f"configurations: {' '.join(CONFIGS)}",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="configurations (default: all)")
    parser.add_argument("--rev", default="HEAD", help="synthesise the RTL of this commit")
    parser.add_argument("--docs-only", action="store_true", help="re-render docs from the JSON")
    parser.add_argument("--depth-only", action="store_true", help="re-analyse saved netlists")
    args = parser.parse_args(argv)
    docs_only, depth_only, rev = args.docs_only, args.depth_only, args.rev
    names = args.names or ([] if docs_only else list(CONFIGS))
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; known: {list(CONFIGS)}")
    if shutil.which("yosys") is None:
        sys.stderr.write("yosys not on PATH: apt-get install yosys\n")
        return 1
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data = {k: v for k, v in data.items() if k in CONFIGS and "commit" in v}
    with tempfile.TemporaryDirectory() as tmp:
        commit = "" if docs_only or depth_only else export_hdl(rev, Path(tmp))
        for name in names:
            cfg = CONFIGS[name]
            if depth_only:
                data[name]["depth"] = logic_depth(netlist_path(name))
            else:
                t0 = time.time()
                cells = synth(cfg, Path(tmp) / "hdl", netlist_path(name))
                data[name] = {
                    "top": cfg.top,
                    "parameters": cfg.params,
                    "commit": commit,
                    "synth": f"{SYNTH} -top {cfg.top}",
                    "cells": cells,
                    "seconds": round(time.time() - t0),
                    "depth": logic_depth(netlist_path(name)),
                }
            print(name, json.dumps(data[name]), flush=True)
            # after each (synth is slow), merged into what is on disk now: another run may have
            # written other configurations meanwhile
            on_disk = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
            data = {**on_disk, name: data[name]}
            data = {k: data[k] for k in CONFIGS if k in data and "commit" in data[k]}
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    body = render(data)
    replace_section("HDL resources", body)
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
