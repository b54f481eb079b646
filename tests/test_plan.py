from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import wphw
from wphw.entries import Action, Exact, TableEntry
from wphw.errors import PolicyError, TopologyError
from wphw.plan import Plan
from wphw.policy import policy_from_dict
from wphw.topology import topology_from_dict


def line(pes: list[dict[str, Any]], n: int = 3, wp_switch: str | None = None) -> dict[str, Any]:
    """s1 - s2 - ... - sn in a line, a host on s1 and on sn, a waypoint on the far end."""
    switches = {f"s{i}": {} for i in range(1, n + 1)}
    links = [{"a": f"s{i}:2", "b": f"s{i + 1}:1"} for i in range(1, n)]
    return {
        "switches": switches,
        "hosts": {
            "h1": {"ip": "10.0.1.1/24", "mac": "08:00:00:00:01:01", "switch": "s1", "port": 5},
            "h2": {"ip": "10.0.2.2/24", "mac": "08:00:00:00:02:02", "switch": f"s{n}", "port": 5},
        },
        "links": links,
        "waypoints": {
            "wp": {"switch": wp_switch or f"s{n}", "port": 9, "pes": pes},
        },
    }


def rule(name: str, actions: list[str], **match: Any) -> dict[str, Any]:
    return {"name": name, "match": match or "*", "actions": actions}


def compile_(
    topo: dict[str, Any], *rules: dict[str, Any], sub: str = "s1", **extra: Any
) -> tuple[Plan, wphw.Topology, wphw.Policy]:
    t = topology_from_dict(topo)
    p = policy_from_dict({"subscribers": {sub: list(rules)}, **extra})
    plan = wphw.compile(p, t)
    wphw.verify(plan, p, t).raise_for_violations()
    return plan, t, p


def by_spi_si(plan: Plan, switch: str, table: str) -> dict[tuple[int, int], Action]:
    """(spi, si) -> action of every entry of ``table`` on ``switch`` (one entry per key)."""
    out = {}
    for e in plan.entries_for(switch):
        if e.table == table:
            m = e.match_dict()
            assert isinstance(m["spi"], Exact) and isinstance(m["si"], Exact)
            out[(m["spi"].value, m["si"].value)] = e.action
    return out


def sff(plan: Plan, switch: str) -> dict[tuple[int, int], Action]:
    return by_spi_si(plan, switch, "wp_sff")


def keys_of(plan: Plan, switch: str, table: str) -> set[tuple[int, int]]:
    """(spi, si) of every entry of ``table`` on ``switch``."""
    return set(by_spi_si(plan, switch, table))


def test_examples_compile_deterministically_and_round_trip(example: Any) -> None:
    _, topo, policy = example
    a = wphw.compile(policy, topo)
    b = wphw.compile(policy, topo)
    assert a.to_json() == b.to_json()
    assert Plan.from_json(a.to_json(secrets=True)) == a
    # without its secrets it is the same plan but for the keys' values
    back = Plan.from_json(a.to_json())
    assert back.entries == a.entries and back.paths == a.paths and back.bindings == a.bindings
    assert len(back.redacted) == sum(w.secret for w in a.register_writes)
    assert a.entry_count() > 0


def test_path_to_a_remote_pe_and_back() -> None:
    pe = [{"name": "ids1", "services": ["ids"], "kind": "software"}]
    plan, _, _ = compile_(line(pe), rule("r", ["ids", "forward(5)"], proto="tcp"))
    spi = plan.bindings[0].spi
    assert spi is not None and plan.bindings[0].paths == 1
    assert sff(plan, "s1") == {
        (spi, 255): Action.of("sff_forward", port=2, si=255),
        (spi, 254): Action.of("sff_end_forward", port=5),
    }
    assert sff(plan, "s2") == {
        (spi, 255): Action.of("sff_forward", port=2, si=255),
        (spi, 254): Action.of("sff_forward", port=1, si=254),
    }
    assert sff(plan, "s3") == {  # hair-pin to the PE, then back
        (spi, 255): Action.of("sff_forward", port=9, si=255),
        (spi, 254): Action.of("sff_forward", port=1, si=254),
    }
    classify = [e for e in plan.entries_for("s1") if e.table == "wp_classify"]
    assert [e.action for e in classify] == [Action.of("start_chain", spi=spi, paths=1)]
    assert plan.paths[0].switches == ("s1", "s2", "s3", "s2", "s1")


def test_rules_sharing_a_path_share_its_spi_and_entries() -> None:
    pe = [{"name": "ids1", "services": ["ids"], "kind": "software"}]
    one, _, _ = compile_(line(pe), rule("a", ["ids"], dst="10.0.2.0/24"))
    many, _, _ = compile_(
        line(pe), *[rule(f"r{i}", ["ids"], dst=f"10.0.{i}.0/24") for i in range(20)]
    )
    assert len(many.paths) == 1
    assert {b.spi for b in many.bindings} == {many.paths[0].spi}
    # 19 more rules cost exactly 19 more classifier entries, no path entries
    assert many.entry_count() - one.entry_count() == 19
    naive = wphw.compile(
        policy_from_dict(
            {
                "subscribers": {
                    "s1": [rule(f"r{i}", ["ids"], dst=f"10.0.{i}.0/24") for i in range(20)]
                }
            }
        ),
        topology_from_dict(line(pe)),
        share_paths=False,
    )
    assert len(naive.paths) == 20 and naive.entry_count() > 4 * many.entry_count() / 2


def test_load_balancing_over_instances_gives_consecutive_spis() -> None:
    pes = [
        {"name": "ids1", "services": ["ids"], "kind": "software"},
        {"name": "ids2", "services": ["ids"], "kind": "fpga"},
    ]
    plan, _, _ = compile_(line(pes), rule("r", ["ids"]))
    b = plan.bindings[0]
    assert b.paths == 2 and b.spi is not None
    assert {p.spi for p in plan.paths} == {b.spi, b.spi + 1}
    assert {p.hops[0].pe for p in plan.paths} == {"ids1", "ids2"}
    only_one, _, _ = compile_(line(pes), rule("r", ["ids"]), services={"ids": {"instances": 1}})
    assert only_one.bindings[0].paths == 1


def test_capacity_is_respected() -> None:
    pes = [
        {"name": "ids1", "services": ["ids"], "kind": "software", "capacity": 1},
        {"name": "ids2", "services": ["ids"], "kind": "software", "capacity": 1},
    ]
    topo = line(pes)
    plan, _, _ = compile_(
        topo,
        rule("a", ["ids", "drop"]),
        rule("b", ["ids", "forward(5)"], proto="tcp"),
        services={"ids": {"instances": 1}},
    )
    assert sorted(p.hops[0].pe for p in plan.paths) == ["ids1", "ids2"]
    with pytest.raises(
        PolicyError, match=r"no PE can run service 'ids' \(at capacity: ids1 1/1, ids2 1/1\)"
    ):
        compile_(
            topo,
            rule("a", ["ids", "drop"], proto="udp"),
            rule("b", ["ids", "forward(5)"], proto="tcp"),
            rule("c", ["ids", "route"], proto="icmp"),
            services={"ids": {"instances": 1}},
        )


def test_failure_modes() -> None:
    pes = [
        {"name": "ids1", "services": ["ids"], "kind": "software"},
        {"name": "enc1", "services": ["encrypt"], "kind": "fpga"},
    ]
    t = topology_from_dict(line(pes))
    p = policy_from_dict(
        {
            "services": {"ids": {"failure": "bypass"}, "encrypt": {"failure": "block"}},
            "subscribers": {
                "s1": [
                    rule("i", ["ids", "route"], proto="tcp"),
                    rule("e", ["encrypt", "route"], proto="udp"),
                ]
            },
        }
    )
    plan = wphw.compile(p, t, failed_pes=["ids1", "enc1"])
    by = {b.rule: b for b in plan.bindings}
    assert by["i"].action == "route" and by["i"].skipped == ("ids",)
    assert by["e"].action == "drop"
    wphw.verify(plan, p, t, failed_pes=["ids1", "enc1"]).raise_for_violations()
    with pytest.raises(TopologyError, match="unknown PE"):
        wphw.compile(p, t, failed_pes=["nope"])


def test_previous_plan_keeps_unchanged_spis_and_gives_changed_paths_fresh_ones() -> None:
    pes = [
        {"name": "ids1", "services": ["ids"], "kind": "software"},
        {"name": "fw1", "services": ["fw2"], "kind": "software"},
    ]
    t = topology_from_dict(line(pes))
    before = policy_from_dict(
        {
            "subscribers": {
                "s1": [rule("a", ["ids"], proto="tcp"), rule("b", ["ids", "drop"], proto="udp")]
            }
        }
    )
    after = policy_from_dict(
        {
            "subscribers": {
                "s1": [
                    rule("a", ["ids"], proto="tcp"),
                    rule("b", ["ids", "fw2", "drop"], proto="udp"),
                ]
            }
        }
    )
    old = wphw.compile(before, t)
    new = wphw.compile(after, t, previous=old)
    olds = {b.rule: b.spi for b in old.bindings}
    news = {b.rule: b.spi for b in new.bindings}
    assert news["a"] == olds["a"]
    assert news["b"] not in old.spis()
    wphw.verify(new, after, t).raise_for_violations()


def test_legacy_pe_gets_proxy_entries() -> None:
    pes = [{"name": "px", "services": ["http_proxy"], "kind": "legacy"}]
    plan, _, _ = compile_(line(pes), rule("r", ["http_proxy"]))
    spi = plan.paths[0].spi
    assert sff(plan, "s3")[(spi, 255)] == Action.of("sff_proxy", port=9, vlan=1)
    ret = [e for e in plan.entries_for("s3") if e.table == "wp_proxy_return"]
    assert ret == [
        TableEntry.of(
            "wp_proxy_return",
            {"ingress_port": Exact(value=9), "vlan_id": Exact(value=1)},
            Action.of("proxy_restore", spi=spi, si=254),
        )
    ]


def test_in_switch_services_and_recirculation() -> None:
    topo = line([{"name": "ids1", "services": ["ids"], "kind": "software"}])
    topo["waypoints"]["inside"] = {
        "switch": "s1",
        "pes": [
            {
                "name": "insw",
                "services": ["fw", "nat", "count"],
                "kind": "in-switch",
                "params": {
                    "rules": [{"dst": "10.9.0.0/16", "action": "deny"}],
                    "mappings": [{"inside": "10.0.1.1", "outside": "1.2.3.4"}],
                },
            }
        ],
    }
    # fw then nat runs in one pass; nat then fw needs a recirculation.
    plan, _, _ = compile_(
        topo,
        rule("fwd", ["fw", "nat", "route"], proto="tcp"),
        rule("back", ["nat", "fw", "route"], proto="udp"),
    )
    by = {b.rule: b.spi for b in plan.bindings}
    tables = {(e.table, e.action.name) for e in plan.entries_for("s1")}
    assert ("wp_fw", "fw_deny") in tables and ("wp_fw", "fw_permit") in tables
    assert ("wp_nat", "nat_snat") in tables and ("wp_nat", "nat_dnat") in tables
    s1 = sff(plan, "s1")
    # every chain table of a pass matches the SI the packet entered it with (255 after
    # start_chain); wp_sff sets the SI it leaves with
    fwd, back = by["fwd"], by["back"]
    keys = {t: keys_of(plan, "s1", t) for t in ("wp_fw", "wp_nat")}
    assert (fwd, 255) in keys["wp_fw"] and (fwd, 255) in keys["wp_nat"]  # fw, nat: one pass
    assert s1[(fwd, 255)] == Action.of("sff_end_route")
    assert (fwd, 254) not in s1 and (fwd, 253) not in s1
    # nat then fw: nat in the pass entered at 255, fw in the next one, entered at 254
    assert (back, 255) in keys["wp_nat"] and (back, 254) in keys["wp_fw"]
    assert s1[(back, 255)] == Action.of("sff_recirculate", si=254)
    assert s1[(back, 254)] == Action.of("sff_end_route")


def test_bad_inputs_name_the_rule() -> None:
    topo = line([{"name": "ids1", "services": ["ids"], "kind": "software"}])
    t = topology_from_dict(topo)
    cases = [
        ({"subscribers": {"s1": [rule("r", ["vpn"])]}}, "rule r: no PE offers service 'vpn'"),
        ({"subscribers": {"s9": [rule("r", ["ids"])]}}, "rule r: unknown subscriber switch 's9'"),
        (
            {"subscribers": {"s1": [rule("r", ["forward(7)"])]}},
            "rule r: forward port 7 is not a port of s1",
        ),
        (
            {"subscribers": {"s1": [rule("r", ["drop"], in_port=7)]}},
            "rule r: in_port 7 is not a port of s1",
        ),
        (
            {"services": {"vpn": {}}, "subscribers": {"s1": [rule("r", ["drop"])]}},
            "service 'vpn' is configured but no PE offers it",
        ),
    ]
    for raw, message in cases:
        with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
            wphw.compile(policy_from_dict(raw), t)


def test_unreachable_pe() -> None:
    topo = line([{"name": "ids1", "services": ["ids"], "kind": "software"}], wp_switch="s9")
    topo["switches"]["s9"] = {}
    with pytest.raises(PolicyError, match="unreachable from s1: ids1 on s9"):
        compile_(topo, rule("r", ["ids"]))


def test_path_longer_than_nsh_ttl_is_rejected() -> None:
    topo = line([{"name": "ids1", "services": ["ids"], "kind": "software"}], n=40)
    with pytest.raises(PolicyError, match="more than the NSH TTL of 63"):
        compile_(topo, rule("r", ["ids"]))


def test_plan_json_is_stable_bytes() -> None:
    pe = [{"name": "ids1", "services": ["ids"], "kind": "software"}]
    plan, _, _ = compile_(line(pe), rule("r", ["ids"]))
    text = plan.to_json()
    assert Plan.from_json(text).to_json() == text
    with pytest.raises(wphw.PlanError, match="not a wphw plan"):
        Plan.from_json('{"format": 2}')
    assert dataclasses.replace(plan, metric=plan.metric) == plan


def test_chain_end_last_pe_shares_paths_across_subscribers() -> None:
    topo = line([{"name": "ids1", "services": ["ids"], "kind": "software"}], n=4)
    topo["hosts"]["h3"] = {
        "ip": "10.0.3.3/24",
        "mac": "08:00:00:00:03:03",
        "switch": "s2",
        "port": 5,
    }
    t = topology_from_dict(topo)
    # a and b go to h2, beyond the PE: their chains may end at the PE (s4). back goes to h1,
    # whose route from s4 passes s2 and s1, which would classify it again (issue 11: a loop),
    # so its chain ends back at s2.
    subs = {
        "s1": [
            rule("a", ["ids", "route"], proto="tcp", dst="10.0.2.0/24"),
            rule("a2", ["ids", "forward(5)"], proto="udp"),
        ],
        "s2": [
            rule("b", ["ids", "route"], proto="tcp", dst="10.0.2.0/24"),
            rule("back", ["ids", "route"], proto="tcp", dst="10.0.1.0/24"),
        ],
    }
    back = wphw.compile(policy_from_dict({"subscribers": subs}), t)
    shared_policy = policy_from_dict({"chain_end": "last-pe", "subscribers": subs})
    shared = wphw.compile(shared_policy, t)
    wphw.verify(shared, shared_policy, t).raise_for_violations()
    by = {b.rule: b.spi for b in shared.bindings}
    assert by["a"] == by["b"] and by["a2"] != by["a"]  # forward(port) still returns to s1
    path = shared.path(by["a"])
    assert path.shared_by == ("s1", "s2") and path.switches[-1] == "s4"  # ends at the PE
    assert sff(shared, "s4")[(by["a"], 254)] == Action.of("sff_end_route")
    assert shared.entry_count() < back.entry_count()
    returning = shared.path(by["back"])
    assert returning.shared_by == () and returning.switches[-1] == "s2"
    assert sff(shared, "s2")[(by["back"], 254)] == Action.of("sff_end_route")
    with pytest.raises(PolicyError, match="unknown chain_end"):
        policy_from_dict({"chain_end": "somewhere", "subscribers": {}})


def test_compile_pauses_gc_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """compile runs with the cyclic GC off (wphw/_gc.py) and switches it back on, also when it
    raises; a caller that had it off keeps it off."""
    import gc

    import wphw.plan as plan_mod

    seen: list[bool] = []
    real = plan_mod._check_policy_against_topology

    def spy(policy: Any, topology: Any) -> None:
        seen.append(gc.isenabled())
        real(policy, topology)

    monkeypatch.setattr(plan_mod, "_check_policy_against_topology", spy)
    pes = [{"name": "ids1", "services": ["ids"], "kind": "software", "capacity": 1}]
    topo = line(pes)
    assert gc.isenabled()
    compile_(topo, rule("a", ["ids", "drop"]))
    assert seen == [False] and gc.isenabled()
    with pytest.raises(PolicyError):
        compile_(topo, rule("a", ["ids", "drop"]), rule("b", ["ids", "drop"], proto="udp"))
    assert gc.isenabled()
    gc.disable()
    try:
        compile_(topo, rule("a", ["ids", "drop"]))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_keys_are_not_written_in_clear() -> None:
    """Issue 12: ChaCha20 keys were written in clear into plan.json and --state files."""
    import json

    topo = wphw.load_topology("examples/figure4/topology.yaml")
    policy = wphw.load_policy("examples/figure4/policy.yaml")
    plan = wphw.compile(policy, topo)
    keys = [w for w in plan.register_writes if w.register == "KEY"]
    assert keys and all(w.secret for w in keys)
    assert all(not w.secret for w in plan.register_writes if w.register != "KEY")
    text = plan.to_json()
    for w in keys:
        if w.value:
            assert f'"value": {w.value}' not in text
    rows = [r for r in json.loads(text)["register_writes"] if r.get("secret")]
    assert len(rows) == len(keys) and all(r["value"] is None for r in rows)
    back = Plan.from_json(text)
    assert len(back.redacted) == len(keys)
    assert back.paths == plan.paths and back.entries == plan.entries  # still a full plan
    assert Plan.from_json(plan.to_json(secrets=True)) == plan  # opt-in: everything
    # a redacted plan cannot configure FPGAs
    from wphw.errors import PlanError
    from wphw.netfpga.cosim import writes_from_plan
    from wphw.netfpga.plan import waypoint_of

    waypoint = waypoint_of(keys[0])
    with pytest.raises(PlanError, match="holds no keys"):
        writes_from_plan(text, waypoint)
    assert writes_from_plan(plan.to_json(secrets=True), waypoint)


def test_last_pe_paths_keep_their_spis_across_an_update() -> None:
    """Shared last-pe paths were looked up by their first subscriber while their groups are
    keyed "*": every update gave every shared path a new SPI (421 switches changed for one
    added rule on the 980-switch fat tree). Now one added rule changes one switch."""
    from wphw.generate import fat_tree, random_policy

    raw = fat_tree(4, waypoint_pods=2)
    topo = topology_from_dict(raw)
    rp = random_policy(raw, 60, instances=1, chain_end="last-pe")
    plan = wphw.compile(policy_from_dict(rp), topo)
    assert any(p.shared_by for p in plan.paths)  # there are shared last-pe paths
    first = sorted(rp["subscribers"])[0]
    extra = {
        "name": "new",
        "match": {"dst": "10.1.0.2/32", "proto": "udp", "dst_port": 4242},
        "actions": ["ids", "route"],
    }
    rp2 = {**rp, "subscribers": {**rp["subscribers"], first: [extra, *rp["subscribers"][first]]}}
    policy2 = policy_from_dict(rp2)
    plan2 = wphw.compile(policy2, topo, previous=plan)
    assert plan.spis() <= plan2.spis()
    changed = [sw for sw in plan2.entries if plan2.entries_for(sw) != plan.entries_for(sw)]
    assert changed == [first], changed
    assert wphw.verify(plan2, policy2, topo).ok
