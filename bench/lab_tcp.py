"""TCP goodput through each example's chain against plain routing, in the same lab run.

Each run is ``wphw lab run EXAMPLE`` as a user gets it (lab defaults: hosts at MTU 1500,
fabric at 9000; software PEs): the scenario's ``transfers`` move 1 MB over HTTP with real
kernel TCP (python3 -m http.server, curl), once through the chain and once on a port no rule
matches (plain routing, the baseline), back to back. Medians over --runs; the ratio is taken
per run (same lab, same moment) and then the median of the ratios.

    nice -n -10 env -u PYTHONPATH PATH=/opt/p4/install/bin:$PATH \\
        .venv/bin/python bench/lab_tcp.py --runs 3        # needs root and simple_switch_grpc
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
from pathlib import Path
from typing import Any

from wphw.lab.scenario import run_scenario
from wphw.resources import EXAMPLES

EXAMPLES_WITH_TRANSFERS = ("figure3", "figure4", "table1")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--examples", nargs="+", default=EXAMPLES_WITH_TRANSFERS, choices=EXAMPLES_WITH_TRANSFERS
    )
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "lab_tcp.json")
    args = ap.parse_args()
    rows = []
    print(
        "| example | transfer | chain Mbit/s | plain Mbit/s | ratio | iperf3 chain / plain | iperf3 ratio | runs |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in args.examples:
        results: dict[str, list[dict[str, float]]] = {}
        for run in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="wphw-labtcp-") as tmp:
                failures = run_scenario(EXAMPLES / name, Path(tmp), lab_id=f"b{run}")
                evidence = json.loads((Path(tmp) / "evidence.json").read_text())
            for t in (e for e in evidence if "transfer" in e):
                if failures or t["failures"]:
                    raise SystemExit(f"{name} run {run}: {t['failures'] or failures}")
                results.setdefault(t["transfer"], []).append(t)
        for transfer, runs in results.items():
            chain = statistics.median(r["mbit_s"] for r in runs)
            plain_runs = [r["plain_mbit_s"] for r in runs if r["plain_mbit_s"]]
            plain = statistics.median(plain_runs) if plain_runs else None
            ratio = (
                statistics.median(r["mbit_s"] / r["plain_mbit_s"] for r in runs)
                if plain_runs
                else None
            )
            ip_chain = statistics.median(r["iperf3_mbit_s"] or 0.0 for r in runs)
            ip_plain_runs = [r["iperf3_plain_mbit_s"] for r in runs if r["iperf3_plain_mbit_s"]]
            ip_plain = statistics.median(ip_plain_runs) if ip_plain_runs else None
            ip_ratio = (
                statistics.median(
                    (r["iperf3_mbit_s"] or 0.0) / r["iperf3_plain_mbit_s"] for r in runs
                )
                if ip_plain_runs
                else None
            )
            cpu = _cpu_summary(runs)
            rows.append(
                {
                    "example": name,
                    "iperf3_cpu": cpu,
                    "transfer": transfer,
                    "chain_mbit_s": chain,
                    "plain_mbit_s": plain,
                    "ratio": ratio,
                    "iperf3_chain_mbit_s": ip_chain,
                    "iperf3_plain_mbit_s": ip_plain,
                    "iperf3_ratio": ip_ratio,
                    "runs": [
                        {
                            k: r[k]
                            for k in (
                                "mbit_s",
                                "plain_mbit_s",
                                "iperf3_mbit_s",
                                "iperf3_plain_mbit_s",
                                "iperf3_cpu_ms_per_mb",
                                "iperf3_plain_cpu_ms_per_mb",
                            )
                        }
                        for r in runs
                    ],
                }
            )
            print(
                f"| {name} | {transfer} | {chain:.1f} | "
                f"{'-' if plain is None else f'{plain:.1f}'} | "
                f"{'-' if ratio is None else f'{ratio:.2f}'} | "
                f"{ip_chain:.1f} / {'-' if ip_plain is None else f'{ip_plain:.1f}'} | "
                f"{'-' if ip_ratio is None else f'{ip_ratio:.2f}'} | {len(runs)} |",
                flush=True,
            )
    print()
    print("iperf3 CPU of the lab's processes, ms per MB received (medians):")
    print(
        "| example | plain: switches | chain: switches | chain: PEs (kernel) | CPU ratio "
        "| kernel-PE bound | free-PE bound |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        c = r["iperf3_cpu"]
        if c:
            print(
                f"| {r['example']} | {c['plain_switches']:.1f} | {c['chain_switches']:.1f} | "
                f"{c['chain_pes']:.1f} ({c['chain_pes_kernel']:.1f}) | {c['cpu_ratio']:.2f} | "
                f"{c['kernel_pe_bound']:.2f} | {c['free_pe_bound']:.2f} |"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


def _cpu_summary(runs: list[dict[str, Any]]) -> dict[str, float] | None:
    """Medians of the per-run CPU ms/MB, the CPU ratio (plain's cost over the chain's: the
    goodput ratio a CPU-bound lab would show), the free-PE bound (the same with the PEs'
    share taken out: what no PE speed-up can beat) and the kernel-PE bound (only the PEs' system
    time left: what a PE costing nothing in user space, on the same packet sockets, could reach)."""
    both = [
        (r["iperf3_cpu_ms_per_mb"], r["iperf3_plain_cpu_ms_per_mb"])
        for r in runs
        if r.get("iperf3_cpu_ms_per_mb") and r.get("iperf3_plain_cpu_ms_per_mb")
    ]
    if not both:
        return None
    med = statistics.median
    return {
        "plain_switches": med(p["switches"] for _, p in both),
        "plain_pes": med(p["pes"] for _, p in both),
        "chain_switches": med(c["switches"] for c, _ in both),
        "chain_pes": med(c["pes"] for c, _ in both),
        "cpu_ratio": med((p["switches"] + p["pes"]) / (c["switches"] + c["pes"]) for c, p in both),
        "free_pe_bound": med((p["switches"] + p["pes"]) / c["switches"] for c, p in both),
        "chain_pes_kernel": med(c["pes_kernel"] for c, _ in both),
        "kernel_pe_bound": med(
            (p["switches"] + p["pes"]) / (c["switches"] + c["pes_kernel"]) for c, p in both
        ),
    }


if __name__ == "__main__":
    main()
