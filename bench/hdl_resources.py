"""HDL resources: yosys ``synth_xilinx -family xc7`` per module → LUT / FF / LUTRAM / BRAM / DSP.

    .venv/bin/python bench/hdl_resources.py            # all modules
    .venv/bin/python bench/hdl_resources.py wp_fw      # one module

Writes bench/results/hdl_resources.json and the "HDL resources" section of docs/benchmarks.md.
Numbers are yosys' generic 7-series mapping (no Vivado, no timing closure); a guide to relative
cost, not a post-place-and-route report.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODULES: dict[str, dict[str, int]] = {
    "wp_hdr_parse": {},
    "wp_fw": {"NUM_RULES": 16},
    "wp_nat": {"NUM_MAPPINGS": 16},
    "wp_waypoint": {"NUM_ENTRIES": 16, "EXT_PES": 1, "FW_RULES": 16, "NAT_MAPPINGS": 16},
}
RESULTS = REPO / "bench" / "results" / "hdl_resources.json"
GROUPS = {
    "LUT": re.compile(r"^LUT[1-6]$"),
    "FF": re.compile(r"^FD[A-Z]*$"),
    "LUTRAM": re.compile(r"^RAM(32|64|128|256)[A-Z0-9]*$"),
    "BRAM": re.compile(r"^RAMB(18|36)E1$"),
    "DSP": re.compile(r"^DSP48E1$"),
    "CARRY4": re.compile(r"^CARRY4$"),
}


def synth(top: str, params: dict[str, int]) -> dict[str, int]:
    from sim.common import read_filelist

    sources, incdirs = read_filelist()
    mine = [s for s in sources if s.exists()]
    inc = " ".join(f"-I{d}" for d in incdirs)
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    script = "; ".join(
        [
            *(f"read_verilog -sv {inc} {s}" for s in mine),
            f"chparam {chparam} {top}" if params else "",
            f"synth_xilinx -family xc7 -top {top} -flatten",
            "stat",
        ]
    )
    log = subprocess.run(
        ["yosys", "-q", "-p", script.replace("; ;", ";"), "-l", "/dev/stdout"],
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


def main(argv: list[str]) -> int:
    from bench.docs_section import replace_section

    if shutil.which("yosys") is None:
        sys.stderr.write("yosys not on PATH: apt-get install yosys\n")
        return 1
    docs_only = "--docs-only" in argv  # re-render the docs section from the JSON
    tops = [a for a in argv if not a.startswith("--")] or ([] if docs_only else list(MODULES))
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for top in tops:
        t0 = time.time()
        data[top] = {"parameters": MODULES[top], "cells": synth(top, MODULES[top])}
        data[top]["seconds"] = round(time.time() - t0)
        print(top, data[top], flush=True)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(data, indent=2) + "\n")  # after each module: synth is slow
    cols = list(GROUPS)
    missing = [t for t in MODULES if t not in data]
    rows = [
        "Measured by `bench/hdl_resources.py`: Debian yosys 0.23, `synth_xilinx -family xc7",
        "-flatten`, per module (yosys mapping only: no Vivado, no timing closure).",
        *(["Not yet measured: " + ", ".join(missing) + "."] if missing else []),
        "",
        "| module | parameters | " + " | ".join(cols) + " |",
        "| --- | --- | " + " | ".join("---" for _ in cols) + " |",
    ]
    for top, entry in sorted(data.items(), key=lambda kv: list(MODULES).index(kv[0])):
        params = ", ".join(f"{k}={v}" for k, v in entry["parameters"].items()) or "—"
        rows.append(
            f"| {top} | {params} | " + " | ".join(str(entry["cells"][c]) for c in cols) + " |"
        )
    replace_section("HDL resources", "\n".join(rows))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
