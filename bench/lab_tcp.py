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

from wphw.lab.scenario import run_scenario
from wphw.resources import EXAMPLES

EXAMPLES_WITH_TRANSFERS = ("figure3", "figure4", "table1")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "lab_tcp.json")
    args = ap.parse_args()
    rows = []
    print(
        "| example | transfer | chain Mbit/s | plain Mbit/s | ratio | iperf3 chain / plain | iperf3 ratio | runs |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in EXAMPLES_WITH_TRANSFERS:
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
            rows.append(
                {
                    "example": name,
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
