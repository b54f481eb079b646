"""PE failover time and chain-change consistency in a real BMv2 lab (needs root and BMv2).

Runs wphw.lab.experiments.failover and .consistency on examples/failover ``--runs`` times each at
``--rate`` packets/s and prints medians; results go to bench/results/lab_experiments.json.

    sudo .venv/bin/python bench/lab_experiments.py --runs 3 --rate 100
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import asdict
from pathlib import Path

from wphw.lab.experiments import consistency, failover

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/wphw-lab-experiments"))
    ap.add_argument("--only", choices=("failover", "consistency"), help="run one experiment")
    ap.add_argument(
        "--drain", type=float, default=0.05, help="consistency: apply's drain before old paths go"
    )
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "lab_experiments.json")
    args = ap.parse_args()
    example = REPO / "examples" / "failover"
    runs_f = 0 if args.only == "consistency" else args.runs
    runs_c = 0 if args.only == "failover" else args.runs
    fo = [
        asdict(failover(example, args.workdir / f"f{i}", rate=args.rate, seconds=args.seconds))
        for i in range(runs_f)
    ]
    co = [
        asdict(
            consistency(
                example,
                args.workdir / f"c{i}",
                rate=args.rate,
                seconds=args.seconds,
                drain=args.drain,
            )
        )
        for i in range(runs_c)
    ]
    if fo:
        restored = [r["kill_to_restored_ms"] for r in fo if r["kill_to_restored_ms"] is not None]
        print(f"failover at {args.rate:.0f} pkt/s, {args.runs} runs:")
        print(
            f"  kill -> restored delivery: median {statistics.median(restored):.1f} ms (runs: {', '.join(f'{x:.1f}' for x in restored)})"
        )
        print(f"  packets lost per run: {[r['lost'] for r in fo]} of {[r['sent'] for r in fo]}")
        print(
            f"  controller, switches: {[round(r['controller'].get('apply_ms', 0), 1) for r in fo]} ms"
        )
        print(
            f"  controller, waypoint contexts: {[round(r['controller'].get('contexts_ms', 0), 1) for r in fo]} ms"
        )
    if co:
        print(f"chain change under traffic at {args.rate:.0f} pkt/s, {args.runs} runs:")
        print(
            f"  violations: {[len(r['violations']) for r in co]}; lost: {[r['lost'] for r in co]} of {[r['sent'] for r in co]}"
        )
        print(f"  old/new chain packets: {[(r['old_chain'], r['new_chain']) for r in co]}")
        print(
            f"  update: switches {[round(r['update_apply_ms'], 1) for r in co]} ms, waypoint contexts {[round(r['update_contexts_ms'], 1) for r in co]} ms"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"rate_pps": args.rate, "failover": fo, "consistency": co}, indent=1) + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
