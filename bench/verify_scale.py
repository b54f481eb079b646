"""Exact verification at scale, beside compile in the same run.

Fat trees from wphw.generate (k=28: 980 switches, 392 hosts), rules spread over the edge
switches (wphw.generate.random_policy). Per row: compile (with routes: verify walks them), a
full ``wphw.verify`` of every packet class on every port of every switch, and
``wphw.verify_change`` after adding one rule (compiled with ``previous=``), each the median of
--repeat runs. Targets (issue 11): full ≤ 10 s at 10,000 rules on 980 switches, one-rule
re-verification ≤ 10 ms.

    .venv/bin/python bench/verify_scale.py            # the full table (a few minutes)
    .venv/bin/python bench/verify_scale.py --quick    # small sizes only
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import time
from pathlib import Path

from wphw.generate import fat_tree, random_policy
from wphw.plan import compile
from wphw.policy import policy_from_dict
from wphw.topology import topology_from_dict
from wphw.verify import verify, verify_change

Row = tuple[int, int, str]  # k, rules, chain end
FULL: list[Row] = [
    (4, 100, "subscriber"),
    (8, 1000, "subscriber"),
    (16, 1000, "subscriber"),
    (28, 1000, "subscriber"),
    (28, 10000, "subscriber"),
    (28, 10000, "last-pe"),
]
QUICK: list[Row] = [(4, 100, "subscriber"), (8, 1000, "subscriber")]


def one_more_rule(raw_policy: dict, host_ip: str) -> dict:  # type: ignore[type-arg]
    subs = raw_policy["subscribers"]
    first = sorted(subs)[0]
    extra = {
        "name": "bench-new",
        "match": {"dst": f"{host_ip}/32", "proto": "udp", "dst_port": 4242},
        "actions": ["ids", "route"],
    }
    # first in the list: rules without a priority get (count - position), so a rule put first
    # leaves every other rule's priority as it was (appended, it would renumber them all)
    return {**raw_policy, "subscribers": {**subs, first: [extra, *subs[first]]}}


def run(k: int, n_rules: int, chain_end: str, repeat: int) -> dict[str, object]:
    raw = fat_tree(k, waypoint_pods=2)
    topo = topology_from_dict(raw)
    raw_policy = random_policy(raw, n_rules, instances=1, chain_end=chain_end)
    policy = policy_from_dict(raw_policy)
    host_ip = sorted(h["ip"] for h in raw["hosts"].values())[-1].split("/")[0]
    policy2 = policy_from_dict(one_more_rule(raw_policy, host_ip))
    t_compile, t_verify, t_change = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        plan = compile(policy, topo)
        t1 = time.perf_counter()
        report = verify(plan, policy, topo)
        t2 = time.perf_counter()
        t_compile.append(t1 - t0)
        t_verify.append(t2 - t1)
        assert report.ok, report.violations[:3]
    plan2 = compile(policy2, topo, previous=plan)
    # the switches an installer's diff would report as changed
    changed = [sw for sw in plan2.entries if plan2.entries_for(sw) != plan.entries_for(sw)]
    t_given = []
    for _ in range(max(repeat, 5)):
        t0 = time.perf_counter()
        inc = verify_change(
            plan2, policy2, topo, previous_plan=plan, previous_policy=policy, baseline=report
        )
        t1 = time.perf_counter()
        inc2 = verify_change(
            plan2,
            policy2,
            topo,
            previous_plan=plan,
            previous_policy=policy,
            baseline=report,
            changed_switches=changed,
            changed_rules=["bench-new"],
        )
        t2 = time.perf_counter()
        t_change.append(t1 - t0)
        t_given.append(t2 - t1)
        # (each call extends the baseline's records with what it walked: the first call's
        # new classes are known to the second)
        assert inc.ok and inc2.ok, inc.violations[:3]
    return {
        "k": k,
        "switches": len(raw["switches"]),
        "hosts": len(raw["hosts"]),
        "rules": n_rules,
        "chain_end": chain_end,
        "entries": plan.entry_count(),
        "compile_s": statistics.median(t_compile),
        "verify_s": statistics.median(t_verify),
        "classes": report.classes,
        "ports": report.ports_checked,
        "change_ms": statistics.median(t_change) * 1000,
        "change_given_switches_ms": statistics.median(t_given) * 1000,
        "changed_switches": len(changed),
        "change_classes": inc2.classes,
        "change_ratio_to_full": statistics.median(t_change) / statistics.median(t_verify),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "verify_scale.json"
    )
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # the generated FPGA PEs have no parameters: say it once
    rows = []
    print(
        "| switches | rules | chain end | entries | compile s | verify s | verify/compile "
        "| classes | one-rule change ms (diff all) | ms (changed switches and rule given) "
        "| classes walked again |"
    )
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k, n, end in QUICK if args.quick else FULL:
        r = run(k, n, end, args.repeat)
        rows.append(r)
        print(
            f"| {r['switches']} | {n} | {end} | {r['entries']} | {r['compile_s']:.2f} "
            f"| {r['verify_s']:.2f} | {float(r['verify_s']) / float(r['compile_s']):.2f} "  # type: ignore[arg-type]
            f"| {r['classes']} | {r['change_ms']:.2f} | {r['change_given_switches_ms']:.2f} "
            f"| {r['change_classes']} |",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"machine": platform.platform(), "rows": rows}, indent=1, default=str) + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
