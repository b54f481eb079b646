"""Compile time and entry counts of wphw.compile against the naive per-rule translation.

Fat trees from wphw.generate (5k²/4 switches; k=28 gives 980), rules spread over the edge
switches (wphw.generate.random_policy), service paths shared (wphw) vs one set of path entries
per rule (naive, ``share_paths=False``), both compiled in the same run, median of --repeat runs.
Routes (ipv4_lpm) are left out of both: they do not depend on the policy.

    .venv/bin/python bench/plan_scale.py                 # the full table (about a minute)
    .venv/bin/python bench/plan_scale.py --quick         # small sizes only
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

from wphw.generate import fat_tree, random_policy
from wphw.plan import compile
from wphw.policy import policy_from_dict
from wphw.topology import topology_from_dict

# (k, rules, PE instances per service, pods with a waypoint (None: every pod),
#  subscriber switches (None: every edge switch), chain end)
Row = tuple[int, int, int, int | None, int | None, str]
FULL: list[Row] = [
    (4, 100, 1, 2, None, "subscriber"),
    (8, 1000, 1, 2, None, "subscriber"),
    (16, 1000, 1, 2, None, "subscriber"),
    (28, 100, 1, 2, None, "subscriber"),
    (28, 1000, 1, 2, None, "subscriber"),
    (28, 10000, 1, 2, None, "subscriber"),
    (28, 10000, 2, 2, None, "subscriber"),
    (28, 10000, 1, None, None, "subscriber"),
    (28, 10000, 1, 2, 98, "subscriber"),
    (28, 10000, 1, 2, None, "last-pe"),
    (28, 10000, 2, 2, None, "last-pe"),
]
QUICK: list[Row] = [(4, 100, 1, 2, None, "subscriber"), (8, 1000, 1, 2, None, "subscriber")]


def run(
    k: int,
    n_rules: int,
    repeat: int,
    instances: int,
    wp_pods: int | None,
    subs: int | None,
    chain_end: str,
) -> dict[str, float | int | str | None]:
    raw = fat_tree(k, waypoint_pods=wp_pods)
    policy = policy_from_dict(
        random_policy(raw, n_rules, instances=instances, subscribers=subs, chain_end=chain_end)
    )
    times: dict[bool, list[float]] = {True: [], False: []}
    counts: dict[bool, tuple[int, int]] = {}
    for _ in range(repeat):
        for share in (True, False):
            topo = topology_from_dict(raw)  # fresh route caches: routing is part of the cost
            t0 = time.perf_counter()
            plan = compile(policy, topo, routes=False, share_paths=share)
            times[share].append(time.perf_counter() - t0)
            counts[share] = (plan.entry_count(), len(plan.paths))
    return {
        "k": k,
        "switches": len(raw["switches"]),
        "rules": n_rules,
        "instances": instances,
        "waypoint_pods": wp_pods,
        "subscribers": len(policy.subscribers()),
        "chain_end": chain_end,
        "wphw_s": statistics.median(times[True]),
        "naive_s": statistics.median(times[False]),
        "wphw_entries": counts[True][0],
        "wphw_paths": counts[True][1],
        "naive_entries": counts[False][0],
        "naive_paths": counts[False][1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "plan_scale.json"
    )
    args = ap.parse_args()
    rows = []
    print(
        "| switches | waypoints | subscribers | chain end | rules | instances | wphw compile s | naive compile s | time ratio "
        "| wphw entries (paths) | naive entries (paths) | entry ratio |"
    )
    print("| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k, n, instances, wp_pods, subs, end in QUICK if args.quick else FULL:
        r = run(k, n, args.repeat, instances, wp_pods, subs, end)
        rows.append(r)
        where = "every pod" if wp_pods is None else f"{wp_pods} pods"
        wt, nt = float(r["wphw_s"] or 0), float(r["naive_s"] or 1)
        we, ne = int(r["wphw_entries"] or 0), int(r["naive_entries"] or 1)
        print(
            f"| {r['switches']} | {where} | {r['subscribers']} | {end} | {n} | {instances} | {wt:.3f} | {nt:.3f} | {wt / nt:.2f} "
            f"| {we} ({r['wphw_paths']}) | {ne} ({r['naive_paths']}) | {we / ne:.3f} |",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
