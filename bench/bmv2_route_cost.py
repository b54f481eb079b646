#!/usr/bin/env python3
"""Where the wphw route path's time goes on BMv2: the program against cut-down copies of itself.

The scenario is bench/bmv2_pps.py's ``wphw_route`` (a classification miss, then ipv4_lpm), run
interleaved with the ``basic_forward`` baseline on one simple_switch_grpc, on three programs:

* ``wphw``: p4/build/wphw.json as committed;
* ``wphw_no_classify``: the same JSON with the ingress's first condition leading straight to
  ipv4_lpm (no wp_classify lookup, no condition after it) -- what the classifier lookup costs;
* ``wphw_lpm_only``: the same JSON starting at ipv4_lpm, egress empty -- what is left: wphw's
  parser, headers and deparser around one lookup.

The copies are derived from the committed JSON at run time (only ``init_table`` /
``true_next`` change) and served with the committed P4Info; they are measuring aids, not
programs anyone installs. Prints medians and ratios to the baseline (median of per-repetition
ratios too) and writes bench/results/bmv2_route_cost.json.

Needs root and simple_switch_grpc (PATH or WPHW_BMV2). Run:
    .venv/bin/python bench/bmv2_route_cost.py [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

import bmv2_harness as harness  # noqa: E402
import bmv2_pps  # noqa: E402


def _ingress(program: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in program["pipelines"] if p["name"] == "ingress")


def no_classify(program: dict[str, Any]) -> dict[str, Any]:
    """The first condition (untagged IPv4 without NSH) leads to ipv4_lpm instead of wp_classify."""
    ingress = _ingress(program)
    first = next(c for c in ingress["conditionals"] if c["name"] == ingress["init_table"])
    assert first["true_next"] == "MyIngress.wp_classify", first
    first["true_next"] = "MyIngress.ipv4_lpm"
    return program


def lpm_only(program: dict[str, Any]) -> dict[str, Any]:
    """Ingress starts at ipv4_lpm; egress does nothing."""
    _ingress(program)["init_table"] = "MyIngress.ipv4_lpm"
    for pipeline in program["pipelines"]:
        if pipeline["name"] == "egress":
            pipeline["init_table"] = None
    return program


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bmv2_pps.run_arguments(parser, REPO / "bench" / "results" / "bmv2_route_cost.json")
    args = parser.parse_args()
    reason = harness.skip_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    data = bmv2_pps.frame()
    route = (bmv2_pps._route(),)
    with tempfile.TemporaryDirectory() as tmp:
        programs = {"baseline_route": harness.BASIC_FORWARD, "wphw": harness.WPHW}
        for name, cut in (("wphw_no_classify", no_classify), ("wphw_lpm_only", lpm_only)):
            path = Path(tmp) / f"{name}.json"
            path.write_text(json.dumps(cut(json.loads(harness.WPHW_JSON.read_text()))))
            programs[name] = harness.Program(json=path, p4info=harness.WPHW_P4INFO)
        pps: dict[str, list[float]] = {name: [] for name in programs}
        with harness.Bmv2Lab(harness.WPHW, n_ports=2, log_level=None) as lab:
            for rep in range(args.reps):
                for name, program in programs.items():
                    lab.load(program)
                    lab.clear()
                    lab.insert(route)
                    bmv2_pps.windowed_run(lab, data, min(2000, args.packets), args.window)
                    rate, lost = bmv2_pps.windowed_run(lab, data, args.packets, args.window)
                    pps[name].append(rate)
                    print(f"rep {rep + 1}/{args.reps} {name:17s} {rate:10.0f} pkt/s  lost {lost}")
    base = statistics.median(pps["baseline_route"])
    ratio = {name: statistics.median(v) / base for name, v in pps.items()}
    paired = {
        name: statistics.median(a / b for a, b in zip(v, pps["baseline_route"], strict=True))
        for name, v in pps.items()
    }
    print(f"\n{'program':17s} {'median pkt/s':>12s} {'ratio':>6s} {'paired':>7s}")
    for name, v in pps.items():
        print(f"{name:17s} {statistics.median(v):12.0f} {ratio[name]:6.2f} {paired[name]:7.2f}")
    record = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "packets": args.packets,
        "reps": args.reps,
        "window": args.window,
        "pps": pps,
        "ratio_of_medians": ratio,
        "paired_ratio_median": paired,
        "versions": bmv2_pps.versions(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
