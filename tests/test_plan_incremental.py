"""The incremental compile equals the full compile, entry for entry.

Oracle: ``wphw.compile(new_policy, topology, previous=old_plan, failed_pes=...)`` — the full
translation, which the verifier and the BMv2 tests hold to the policy. Random policies from
``wphw.generate`` on fat trees (FPGA, software and in-switch PEs), with random sequences of
rule adds, removes and changes (actions, match, priority, subscriber), with failed PEs and
failure modes; after every step the incremental plan must equal the full one (entries,
priorities, SPIs, paths, bindings, contexts), its changed-switch set must be exactly the
switches whose entries differ, and a step the full compile refuses must not produce a plan.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from wphw.errors import WphwError
from wphw.generate import CHAINS, fat_tree, random_policy
from wphw.plan import Plan, compile
from wphw.plan_incremental import IncrementalCompiler, NotIncremental
from wphw.policy import Policy, policy_from_dict
from wphw.topology import Topology, topology_from_dict

FINALS = ("route", "route", "drop")


def _random_rule(rng: random.Random, raw_topo: dict[str, Any], name: str) -> dict[str, Any]:
    hosts = sorted(raw_topo["hosts"].items())
    _, dst = hosts[rng.randrange(len(hosts))]
    edges = sorted({h["switch"] for _, h in hosts})
    sub = (
        edges[rng.randrange(len(edges))]
        if rng.random() < 0.9
        else rng.choice(sorted(raw_topo["switches"]))
    )
    match: dict[str, Any] = {"dst": dst["ip"].split("/")[0] + rng.choice(("/32", "/24", "/16"))}
    if rng.random() < 0.7:
        match["proto"] = rng.choice(("tcp", "udp"))
        match["dst_port"] = rng.randrange(1000, 1010)
    chain = list(CHAINS[rng.randrange(len(CHAINS))]) if rng.random() < 0.8 else []
    return {
        "name": name,
        "subscriber": sub,
        "priority": rng.randrange(1, 40),
        "match": match,
        "actions": [*chain, rng.choice(FINALS)],
    }


def _rows(raw_policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for sub, rules in raw_policy["subscribers"].items():
        for i, r in enumerate(rules):
            out[r["name"]] = {**r, "subscriber": sub, "priority": r.get("priority", 500 - i)}
    return out


def _policy(head: dict[str, Any], rows: dict[str, dict[str, Any]]) -> Policy:
    subs: dict[str, list[dict[str, Any]]] = {}
    for r in rows.values():
        subs.setdefault(r["subscriber"], []).append(
            {k: v for k, v in r.items() if k != "subscriber"}
        )
    return policy_from_dict({**head, "subscribers": subs})


def _full(policy: Policy, topo: Topology, prev: Plan, failed: frozenset[str]) -> Plan | None:
    try:
        return compile(policy, topo, previous=prev, failed_pes=failed)
    except WphwError:
        return None


def _run_sequence(seed: int, steps: int, *, k: int = 4, capacity: int = 100_000) -> dict[str, int]:
    rng = random.Random(seed)
    raw_topo = fat_tree(k, capacity=capacity)
    topo = topology_from_dict(raw_topo)
    raw = random_policy(raw_topo, rng.randrange(5, 40), seed=seed, instances=rng.choice((1, 2)))
    for spec in raw["services"].values():
        spec["failure"] = rng.choice(("bypass", "block"))
    head = {k: v for k, v in raw.items() if k != "subscribers"}
    rows = _rows(raw)
    pes = sorted(topo.pes)
    failed = frozenset(rng.sample(pes, rng.randrange(0, 4)))
    policy = _policy(head, rows)
    plan = compile(policy, topo, failed_pes=failed)
    inc = _build(plan, policy, topo, failed)
    stats = {"incremental": 0, "fallback": 0, "refused": 0}
    for step in range(steps):
        cur_policy = _policy(head, rows)
        new_rows = dict(rows)
        kind = rng.choice(("add", "add", "remove", "change"))
        if kind == "remove" and len(rows) > 1:
            name = rng.choice(sorted(rows))
            del new_rows[name]
        elif kind == "change":
            name = rng.choice(sorted(rows))
            fresh = _random_rule(rng, raw_topo, name)
            what = rng.choice(("actions", "match", "priority", "subscriber", "all"))
            new_rows[name] = fresh if what == "all" else {**rows[name], what: fresh[what]}
        else:
            name = f"n{step}"
            new_rows[name] = _random_rule(rng, raw_topo, name)
        # Policy.with_rule (the controller's one-rule edit) agrees with parsing the whole policy
        one = (
            _policy(head, {name: new_rows[name]}).rules[0]
            if name in new_rows and new_rows[name]["subscriber"] in topo.switches
            else None
        )
        try:
            new_policy = _policy(head, new_rows)
        except WphwError:  # e.g. two rules of one priority overlapping: the parser refuses
            if one is not None:
                with pytest.raises(WphwError):
                    cur_policy.with_rule(name, one)
            continue
        if one is not None or name not in new_rows:
            edited = cur_policy.with_rule(name, one)
            assert edited.by_subscriber() == new_policy.by_subscriber()
            assert list(edited.by_subscriber()) == list(new_policy.by_subscriber())
            assert sorted(edited.rules, key=repr) == sorted(new_policy.rules, key=repr)
        full = _full(new_policy, topo, plan, failed)
        try:
            if inc is None:
                raise NotIncremental("no base")
            u = inc.update(new_policy, [name] if rng.random() < 0.5 else None)
            got, changed, delta = u.plan, u.changed, u.delta
        except NotIncremental:
            stats["fallback" if full is not None else "refused"] += 1
            if full is None:
                continue
            rows, plan = new_rows, full
            inc = _build(plan, new_policy, topo, failed)
            continue
        assert full is not None, f"seed {seed} step {step}: the full compile refused {kind}"
        _assert_same(got, full, f"seed {seed} step {step} ({kind} {name})")
        differ = {
            sw
            for sw in set(full.entries) | set(plan.entries)
            if full.entries_for(sw) != plan.entries_for(sw)
        }
        assert changed == differ == set(delta), f"seed {seed} step {step}: changed switches"
        for sw, (went, came) in delta.items():  # the delta turns the old entries into the new
            keep = [e for e in plan.entries_for(sw) if e not in set(went)]
            assert sorted(map(repr, keep + list(came))) == sorted(
                map(repr, full.entries_for(sw))
            ), f"seed {seed} step {step}: delta of {sw}"
        # the rows it says changed turn the old plan's paths, bindings, contexts into the new
        paths = {p.spi: p for p in plan.paths if p.spi not in u.spis_gone}
        paths.update((p.spi, p) for p in u.paths_new)
        assert paths == {p.spi: p for p in full.paths}
        bindings = {b.rule: b for b in plan.bindings if b.rule not in u.rules}
        bindings.update((b.rule, b) for b in u.bindings_new)
        assert bindings == {b.rule: b for b in full.bindings}
        ctx = {(c.waypoint, c.spi, c.si): c for c in plan.contexts}
        for key in u.contexts_gone:
            del ctx[key]
        ctx.update(((c.waypoint, c.spi, c.si), c) for c in u.contexts_new)
        assert ctx == {(c.waypoint, c.spi, c.si): c for c in full.contexts}
        inc.commit(got)
        stats["incremental"] += 1
        rows, plan = new_rows, got
    return stats


def _build(
    plan: Plan, policy: Policy, topo: Topology, failed: frozenset[str]
) -> IncrementalCompiler | None:
    try:
        return IncrementalCompiler.from_plan(plan, policy, topo, failed)
    except NotIncremental:
        return None


def _assert_same(got: Plan, want: Plan, where: str) -> None:
    assert set(got.entries) == set(want.entries), where
    for sw in want.entries:
        assert got.entries[sw] == want.entries[sw], f"{where}: entries of {sw}"
    assert got.paths == want.paths, f"{where}: paths (SPIs)"
    assert got.bindings == want.bindings, f"{where}: bindings"
    assert got.contexts == want.contexts, f"{where}: contexts"
    assert got == want, where
    assert got.to_json() == want.to_json(), where


@pytest.mark.parametrize("seed", range(16))
def test_incremental_equals_full_compile(seed: int) -> None:
    stats = _run_sequence(seed, 14)
    # the check is not vacuous: most steps went the incremental way
    assert stats["incremental"] >= 6, stats


def test_capacity_falls_back_and_stays_exact() -> None:
    """PEs near capacity: a rule's choice depends on the others; the compiler must refuse
    (and the full compile's plan is then the base), never return a different plan."""
    totals = {"incremental": 0, "fallback": 0, "refused": 0}
    for seed in range(4):
        for key, n in _run_sequence(100 + seed, 12, capacity=6).items():
            totals[key] += n
    assert totals["fallback"] + totals["refused"] > 0, totals


def test_refuses_other_kinds_of_change() -> None:
    raw_topo = fat_tree(4)
    topo = topology_from_dict(raw_topo)
    raw = random_policy(raw_topo, 20)
    head = {k: v for k, v in raw.items() if k != "subscribers"}
    rows = _rows(raw)
    policy = _policy(head, rows)
    plan = compile(policy, topo)
    inc = IncrementalCompiler.from_plan(plan, policy, topo)
    other = policy_from_dict({**raw, "metric": "latency"})
    with pytest.raises(NotIncremental, match="metric"):
        inc.update(other)
    last = policy_from_dict(random_policy(raw_topo, 20, chain_end="last-pe"))
    with pytest.raises(NotIncremental, match="last-pe"):
        IncrementalCompiler.from_plan(compile(last, topo), last, topo)
    # an uncommitted update leaves the base alone
    rows["x"] = {
        "name": "x",
        "subscriber": sorted(rows.values(), key=lambda r: r["name"])[0]["subscriber"],
        "priority": 999,
        "match": {"proto": "udp"},
        "actions": ["ids", "route"],
    }
    new = _policy(head, rows)
    u = inc.update(new, ["x"])
    got, changed = u.plan, u.changed
    assert changed and inc.plan is plan
    again = inc.update(new, ["x"]).plan
    assert again == got == compile(new, topo, previous=plan)


def test_legacy_paths_fall_back() -> None:
    from pathlib import Path

    ex = Path(__file__).resolve().parent.parent / "examples" / "legacy"
    from wphw._load import load

    raw_topo = load(ex / "topology.yaml", WphwError)
    raw = load(ex / "policy.yaml", WphwError)
    topo = topology_from_dict(raw_topo)
    head = {k: v for k, v in raw.items() if k != "subscribers"}
    rows = _rows(raw)
    policy = _policy(head, rows)
    plan = compile(policy, topo)
    inc = IncrementalCompiler.from_plan(plan, policy, topo)
    rows["tcp"] = {
        "name": "tcp",
        "subscriber": "s1",
        "priority": 900,
        "match": {"proto": "tcp"},
        "actions": ["fw", "route"],
    }
    # the same path as the existing rule: no path comes or goes, incremental
    u = inc.update(_policy(head, rows), ["tcp"])
    joined, changed = u.plan, u.changed
    assert changed == {"s1"} and joined == compile(_policy(head, rows), topo, previous=plan)
    rows["tcp"] = {**rows["tcp"], "actions": ["fw", "drop"]}  # a new path: its VLAN
    with pytest.raises(NotIncremental, match="legacy"):
        inc.update(_policy(head, rows), ["tcp"])
