"""One yosys xc7 synthesis of a module at a commit, for finding where resources or depth go.

    .venv/bin/python bench/hdl_probe.py wp_ids --rev aba0fc3 --param NUM_SIGS=1 --param FRAME_DEPTH=16
    .venv/bin/python bench/hdl_probe.py wp_waypoint --rev HEAD --blackbox wp_fw --blackbox wp_nat \\
        --param NUM_ENTRIES=16 --param EXT_PES=1 --param FW_RULES=16 --param NAT_MAPPINGS=16

The same synthesis and depth walk as bench/hdl_resources.py (``synth_xilinx -family xc7
-flatten -noiopad`` on ``git archive <rev> hdl``), but for any parameters, with submodules
optionally kept as black boxes (``blackbox``: their logic is left out, to attribute cells to
the rest), and without touching the resources table. Small parameters make a run minutes
instead of a quarter of an hour, so a change can be bisected before the full run.
Results are added to bench/results/hdl_probe.json under ``<module>@<rev>[params][-bb]``;
the depth walk is skipped when black boxes are left in the netlist.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.hdl_resources import SYNTH, export_hdl, logic_depth, run_yosys  # noqa: E402
from sim.common import read_filelist  # noqa: E402

RESULTS = REPO / "bench" / "results" / "hdl_probe.json"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("top")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--blackbox", action="append", default=[], metavar="MODULE")
    ap.add_argument(
        "--file-from",
        action="append",
        default=[],
        metavar="REV:FILE",
        help="take hdl/FILE from commit REV instead (a hybrid, to bisect by file)",
    )
    ap.add_argument(
        "--reverse", action="store_true", help="read the sources in reverse file-list order"
    )
    args = ap.parse_args()
    params = dict(p.split("=", 1) for p in args.param)
    with tempfile.TemporaryDirectory() as tmp:
        commit = export_hdl(args.rev, Path(tmp))
        for spec in args.file_from:
            rev, _, path = spec.partition(":")
            text = subprocess.run(
                ["git", "-C", str(REPO), "show", f"{rev}:hdl/{path}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            (Path(tmp) / "hdl" / path).write_text(text)
        sources, incdirs = read_filelist(Path(tmp) / "hdl" / "wphw.f")
        if args.reverse:
            sources = sources[::-1]
        inc = " ".join(f"-I{d}" for d in incdirs)
        name = (
            f"{args.top}@{commit[:7]}"
            + ("[" + ",".join(f"{k}={v}" for k, v in params.items()) + "]" if params else "")
            + ("-bb:" + ",".join(args.blackbox) if args.blackbox else "")
            + "".join(f"+{spec}" for spec in args.file_from)
            + ("-reversed" if args.reverse else "")
        )
        netlist = REPO / "build" / "hdl_probe" / (re.sub(r"[^A-Za-z0-9_@.-]+", "_", name) + ".json")
        netlist.parent.mkdir(parents=True, exist_ok=True)
        chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
        script = [
            *(f"read_verilog -sv {inc} {s}" for s in sources if s.exists()),
            *([f"chparam {chparam} {args.top}"] if params else []),
            *([f"blackbox {' '.join(args.blackbox)}"] if args.blackbox else []),
            f"{SYNTH} -top {args.top}",
            "stat",
            f"write_json {netlist}",
        ]
        t0 = time.time()
        cells = run_yosys(script)
    entry: dict[str, object] = {
        "top": args.top,
        "commit": commit,
        "parameters": params,
        "blackbox": args.blackbox,
        "file_from": args.file_from,
        "reverse": args.reverse,
        "synth": f"{SYNTH} -top {args.top}",
        "cells": cells,
        "seconds": round(time.time() - t0),
    }
    if not args.blackbox:
        entry["depth"] = logic_depth(netlist)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[name] = entry
    RESULTS.write_text(json.dumps(data, indent=1) + "\n")
    depth = entry.get("depth")
    r = depth.get("reg_to_reg") if isinstance(depth, dict) else None
    print(
        name,
        json.dumps(cells),
        f"{entry['seconds']} s",
        f"reg->reg {r['lut_levels']} LUT levels, {r['ns']} ns, {r['from']} -> {r['to']}"
        if isinstance(r, dict)
        else "",
        f"(most LUT levels {depth['max_lut_levels_reg_to_reg']})"
        if isinstance(depth, dict)
        else "",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
