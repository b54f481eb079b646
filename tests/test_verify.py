"""Verification must pass good plans and catch every kind of broken one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

import wphw
from wphw.entries import Action, Exact, TableEntry
from wphw.plan import Plan


def test_examples_verify(example: tuple[str, wphw.Topology, wphw.Policy]) -> None:
    _, topo, policy = example
    plan = wphw.compile(policy, topo)
    report = wphw.verify(plan, policy, topo)
    assert report.ok, report.violations
    assert report.rules_checked == len(policy.rules)
    service_rules = [r for r in policy.rules if r.services]
    assert {w.rule for w in report.walks if w.services} == {r.name for r in service_rules}


@pytest.fixture
def table1() -> tuple[Plan, wphw.Policy, wphw.Topology]:
    topo = wphw.load_topology("examples/table1/topology.yaml")
    policy = wphw.load_policy("examples/table1/policy.yaml")
    return wphw.compile(policy, topo), policy, topo


def edit(plan: Plan, switch: str, fn: Callable[[TableEntry], TableEntry | None]) -> Plan:
    out = []
    for e in plan.entries_for(switch):
        new = fn(e)
        if new is not None:
            out.append(new)
    return dataclasses.replace(plan, entries={**plan.entries, switch: tuple(out)})


def is_sff(e: TableEntry, spi: int, si: int) -> bool:
    m = e.match_dict()
    return e.table == "wp_sff" and m["spi"] == Exact(value=spi) and m["si"] == Exact(value=si)


def spi_of(plan: Plan, rule: str) -> int:
    spi = next(b.spi for b in plan.bindings if b.rule == rule)
    assert spi is not None
    return spi


def violations(plan: Plan, policy: wphw.Policy, topo: wphw.Topology) -> list[str]:
    return wphw.verify(plan, policy, topo).violations


def test_missing_transit_entry_is_caught(table1: tuple[Plan, wphw.Policy, wphw.Topology]) -> None:
    plan, policy, topo = table1
    spi = spi_of(plan, "ids-nat")
    broken = edit(plan, "s2", lambda e: None if is_sff(e, spi, 254) else e)
    v = violations(broken, policy, topo)
    assert any(
        "rule ids-nat" in x and f"wp_sff miss (spi {spi} si 254)" in x and "s2" in x for x in v
    ), v


def test_wrong_port_is_caught(table1: tuple[Plan, wphw.Policy, wphw.Topology]) -> None:
    plan, policy, topo = table1
    spi = spi_of(plan, "ids-nat")
    # send straight back instead of to the IDS: s1 sends it to s2 again (same SPI and SI),
    # a loop the NSH TTL ends on a real switch
    broken = edit(
        plan,
        "s2",
        lambda e: (
            dataclasses.replace(e, action=Action.of("sff_forward", port=1, si=255))
            if is_sff(e, spi, 255)
            else e
        ),
    )
    v = violations(broken, policy, topo)
    assert any("loop" in x and "rule ids-nat" in x for x in v), v


def test_loop_is_caught(table1: tuple[Plan, wphw.Policy, wphw.Topology]) -> None:
    plan, policy, topo = table1
    spi = spi_of(plan, "http-proxy")
    # s2 bounces the packet back to s1, which sends it to s2 again: TTL must stop it
    broken = edit(
        plan,
        "s2",
        lambda e: (
            dataclasses.replace(e, action=Action.of("sff_forward", port=1, si=255))
            if is_sff(e, spi, 255)
            else e
        ),
    )
    v = violations(broken, policy, topo)
    assert any("rule http-proxy" in x and ("loop" in x or "TTL" in x) for x in v), v


def test_wrong_final_action_is_caught(table1: tuple[Plan, wphw.Policy, wphw.Topology]) -> None:
    plan, policy, topo = table1
    spi = spi_of(plan, "ids-nat")
    broken = edit(
        plan,
        "s1",
        lambda e: (
            dataclasses.replace(e, action=Action.of("sff_end_forward", port=2))
            if is_sff(e, spi, 254)  # the pass that runs nat, entered with SI 254
            else e
        ),
    )
    v = violations(broken, policy, topo)
    assert any("rule ids-nat" in x and "expected route" in x for x in v), v


def test_swapped_classifier_is_caught(table1: tuple[Plan, wphw.Policy, wphw.Topology]) -> None:
    plan, policy, topo = table1
    a, b = spi_of(plan, "ids-nat"), spi_of(plan, "http-proxy")

    def swap(e: TableEntry) -> TableEntry:
        if e.table == "wp_classify" and e.action.name == "start_chain":
            other = b if e.action.param("spi") == a else a
            return dataclasses.replace(e, action=Action.of("start_chain", spi=other, paths=1))
        return e

    v = violations(edit(plan, "s1", swap), policy, topo)
    assert any("rule ids-nat" in x for x in v) and any("rule http-proxy" in x for x in v), v


def test_steering_non_service_traffic_is_caught(
    table1: tuple[Plan, wphw.Policy, wphw.Topology],
) -> None:
    plan, policy, topo = table1
    spi = spi_of(plan, "ids-nat")
    extra = TableEntry.of("wp_classify", {}, Action.of("start_chain", spi=spi, paths=1), priority=0)
    broken = dataclasses.replace(plan, entries={**plan.entries, "s1": (*plan.entries["s1"], extra)})
    v = violations(broken, policy, topo)
    assert any("matching no service rule" in x and "was steered" in x for x in v), v


def test_classifier_on_a_non_subscriber_is_caught(
    table1: tuple[Plan, wphw.Policy, wphw.Topology],
) -> None:
    plan, policy, topo = table1
    extra = TableEntry.of("wp_classify", {}, Action.of("drop"), priority=1)
    broken = dataclasses.replace(plan, entries={**plan.entries, "s2": (*plan.entries["s2"], extra)})
    assert any("switch s2 is no subscriber" in x for x in violations(broken, policy, topo))


def test_missing_waypoint_context_is_caught(
    table1: tuple[Plan, wphw.Policy, wphw.Topology],
) -> None:
    plan, policy, topo = table1
    broken = dataclasses.replace(plan, contexts=tuple(c for c in plan.contexts if c.pe != "ids1"))
    v = violations(broken, policy, topo)
    assert any("waypoint wp_s2 has no context" in x for x in v), v


def test_raise_for_violations_lists_them(table1: tuple[Plan, wphw.Policy, wphw.Topology]) -> None:
    plan, policy, topo = table1
    broken = edit(plan, "s2", lambda e: None if e.table == "wp_sff" else e)
    with pytest.raises(wphw.VerificationError, match="rule ids-nat") as info:
        wphw.verify(broken, policy, topo).raise_for_violations()
    assert len(info.value.violations) >= 2


def test_shadowed_rule_is_reported_as_warning() -> None:
    topo = wphw.load_topology("examples/table1/topology.yaml")
    policy = wphw.policy_from_dict(
        {
            "subscribers": {
                "s1": [
                    {"name": "all", "actions": ["drop"]},
                    {"name": "never", "match": {"proto": "tcp"}, "actions": ["ids"]},
                ]
            }
        }
    )
    report = wphw.verify(wphw.compile(policy, topo), policy, topo)
    assert report.ok
    assert any("rule never is shadowed by rule all" in w for w in report.warnings)


# -- issue 11: faults the sampled verifier missed ------------------------------------------------


def narrow(e: TableEntry, field: str, value: object) -> TableEntry:
    match = dict(e.match)
    match[field] = value  # type: ignore[assignment]
    return dataclasses.replace(e, match=tuple(sorted(match.items())))


def test_narrowed_classifier_prefix_is_caught(
    table1: tuple[Plan, wphw.Policy, wphw.Topology],
) -> None:
    """/24 -> /25 on ids-nat: half of the rule's sources skip IDS and NAT."""
    from wphw.entries import Ternary

    plan, policy, topo = table1
    spi = spi_of(plan, "ids-nat")

    def f(e: TableEntry) -> TableEntry:
        if (
            e.table == "wp_classify"
            and e.action.name == "start_chain"
            and e.action.param("spi") == spi
        ):
            return narrow(e, "ipv4_src", Ternary(value=0xC0A80000, mask=0xFFFFFF80))
        return e

    report = wphw.verify(edit(plan, "s1", f), policy, topo)
    bad = [c for c in report.counterexamples if c.rule == "ids-nat"]
    assert bad, report.violations
    assert bad[0].packet is not None
    # the counterexample is a packet of the upper half
    assert (
        bad[0].packet.src.startswith("192.168.0.") and int(bad[0].packet.src.split(".")[3]) >= 128
    )
    assert bad[0].expected == "['ids', 'nat']"


def test_swapped_priorities_are_caught(table1: tuple[Plan, wphw.Policy, wphw.Topology]) -> None:
    """ids-nat (prio 4) and port0-fwd (prio 1) overlap: lan0's TCP on port 0."""
    plan, policy, topo = table1
    prios = {
        e.action.name: e.priority
        for e in plan.entries["s1"]
        if e.table == "wp_classify" and e.action.name in ("start_chain", "forward")
    }
    assert prios

    def swap(e: TableEntry) -> TableEntry:
        if e.table != "wp_classify":
            return e
        if e.action.name == "forward":
            return dataclasses.replace(e, priority=10)
        return e

    v = violations(edit(plan, "s1", swap), policy, topo)
    assert any("rule ids-nat" in x and "in_port" not in x and "port 0:" in x for x in v), v


def test_wrong_route_port_and_mac_are_caught(
    table1: tuple[Plan, wphw.Policy, wphw.Topology],
) -> None:
    plan, policy, topo = table1
    server = topo.hosts["server"]

    def wrong(field: str, value: int) -> Callable[[TableEntry], TableEntry]:
        def f(e: TableEntry) -> TableEntry:
            if e.table == "ipv4_lpm" and e.match_dict()["ipv4_dst"].value == int(server.ip.ip):  # type: ignore[union-attr]
                return dataclasses.replace(
                    e, action=Action.of("ipv4_forward", **{**dict(e.action.params), field: value})
                )
            return e

        return f

    v = violations(edit(plan, "s2", wrong("port", 4)), policy, topo)
    assert any("ipv4_lpm sends traffic for server" in x for x in v), v
    v = violations(edit(plan, "s2", wrong("dst_mac", 0x0A0B0C0D0E0F)), policy, topo)
    assert any("ipv4_lpm for server sets MAC 0a0b0c0d0e0f" in x for x in v), v


def test_narrowed_port_range_is_caught() -> None:
    from wphw.entries import Range

    topo = wphw.load_topology("examples/figure3/topology.yaml")
    policy = wphw.load_policy("examples/figure3/policy.yaml")
    plan = wphw.compile(policy, topo)

    def f(e: TableEntry) -> TableEntry:
        if e.table == "wp_classify" and "l4_dst_port" in e.match_dict():
            return narrow(e, "l4_dst_port", Range(low=81, high=81))
        return e

    report = wphw.verify(edit(plan, "s1", f), policy, topo)
    assert any(
        c.rule == "branch-http-to-hq" and c.packet and c.packet.dport == 80
        for c in report.counterexamples
    ), report.violations


def test_bookkeeping_lies_are_caught(table1: tuple[Plan, wphw.Policy, wphw.Topology]) -> None:
    plan, policy, topo = table1
    # a live service marked skipped
    b = [
        dataclasses.replace(x, skipped=("ids",)) if x.rule == "ids-nat" else x
        for x in plan.bindings
    ]
    v = violations(dataclasses.replace(plan, bindings=tuple(b)), policy, topo)
    assert any("binding of rule ids-nat: skipped ['ids'], expected []" in x for x in v), v
    # a classifier entry that hashes onto 2 paths where there is 1
    spi = spi_of(plan, "ids-nat")

    def two(e: TableEntry) -> TableEntry:
        if (
            e.table == "wp_classify"
            and e.action.name == "start_chain"
            and e.action.param("spi") == spi
        ):
            return dataclasses.replace(e, action=Action.of("start_chain", spi=spi, paths=2))
        return e

    v = violations(edit(plan, "s1", two), policy, topo)
    # the second alternative is spi + 1: another rule's path (http_proxy) or none at all
    assert any("rule ids-nat at s1: services" in x and "expected ['ids', 'nat']" in x for x in v)
    assert any("binding of rule ids-nat: spi" in x for x in v), v


def test_last_pe_reclassification_loop_is_caught_or_avoided() -> None:
    """chain_end last-pe on table1: the chain of http-proxy ends at s2, whose route back to
    lan0 passes s1, which classified the packet in the first place (issue 11: 381 frames,
    nothing delivered, on a real lab)."""
    import yaml

    topo = wphw.load_topology("examples/table1/topology.yaml")
    with open("examples/table1/policy.yaml") as f:
        raw = yaml.safe_load(f)
    raw["chain_end"] = "last-pe"
    policy = wphw.policy_from_dict(raw)
    plan = wphw.compile(policy, topo)
    report = wphw.verify(plan, policy, topo)
    assert report.ok, report.violations
    # the same plan with the old compile's chain end (route at s2, the last PE's switch) loops
    spi = spi_of(plan, "http-proxy")
    old = edit(
        plan,
        "s2",
        lambda e: (
            dataclasses.replace(e, action=Action.of("sff_end_route")) if is_sff(e, spi, 254) else e
        ),
    )
    v = violations(old, policy, topo)
    assert any("loop" in x and "rule http-proxy" in x for x in v), v


def test_sctp_ports_are_rejected() -> None:
    with pytest.raises(wphw.PolicyError, match="need proto tcp or udp"):
        wphw.policy_from_dict(
            {
                "subscribers": {
                    "s1": [{"match": {"proto": "sctp", "dst_port": 80}, "actions": ["drop"]}]
                }
            }
        )


def test_failed_pes_change_the_expectation(table1: tuple[Plan, wphw.Policy, wphw.Topology]) -> None:
    _, policy, topo = table1
    plan = wphw.compile(policy, topo, failed_pes=["ids1"])
    assert wphw.verify(plan, policy, topo, failed_pes=["ids1"]).ok
    # verified as if nothing failed, the bypassed IDS is missing
    v = violations(plan, policy, topo)
    assert any("rule ids-nat" in x and "expected ['ids', 'nat']" in x for x in v), v


def test_verify_change_walks_only_what_changed() -> None:
    """One rule added on the fat tree: only its region is walked again, and a fault in it is
    found as the full verify finds it."""
    topo = wphw.load_topology("examples/fattree/topology.yaml")
    policy = wphw.load_policy("examples/fattree/policy.yaml")
    plan = wphw.compile(policy, topo)
    base = wphw.verify(plan, policy, topo)
    assert base.ok
    rule = wphw.policy_from_dict(
        {
            "subscribers": {
                "p0e0": [
                    {
                        "name": "new",
                        "priority": 900,
                        "match": {"dst": "10.3.1.2/32", "proto": "udp", "dst_port": 4000},
                        "actions": ["ids", "route"],
                    }
                ]
            }
        }
    ).rules[0]
    policy2 = dataclasses.replace(policy, rules=(*policy.rules, rule))
    plan2 = wphw.compile(policy2, topo, previous=plan)
    inc = wphw.verify_change(
        plan2, policy2, topo, previous_plan=plan, previous_policy=policy, baseline=base
    )
    assert inc.ok, inc.violations
    assert 0 < inc.classes < base.classes // 10
    assert any(w.rule == "new" and w.services == ("ids",) for w in inc.walks)
    # the same change with its classifier entry pointing at another rule's path
    spi = spi_of(plan2, "new")
    other = spi_of(plan2, "r0")

    def wrong(e: TableEntry) -> TableEntry:
        if (
            e.table == "wp_classify"
            and e.action.name == "start_chain"
            and e.action.param("spi") == spi
        ):
            return dataclasses.replace(e, action=Action.of("start_chain", spi=other, paths=1))
        return e

    bad = edit(plan2, "p0e0", wrong)
    inc = wphw.verify_change(
        bad, policy2, topo, previous_plan=plan, previous_policy=policy, baseline=base
    )
    full = wphw.verify(bad, policy2, topo)
    assert not inc.ok and not full.ok
    assert {v.rule for v in inc.counterexamples} >= {"new"}
    # a changed route is not a local change: verify_change falls back to the full check
    rerouted = edit(
        plan2,
        "p0e0",
        lambda e: (
            dataclasses.replace(e, action=Action.of("ipv4_drop"))
            if e.table == "ipv4_lpm" and e.match_dict()["ipv4_dst"].value == 0x0A030102  # type: ignore[union-attr]
            else e
        ),
    )
    inc = wphw.verify_change(
        rerouted, policy2, topo, previous_plan=plan, previous_policy=policy, baseline=base
    )
    assert inc.classes >= base.classes and any("no route to host" in x for x in inc.violations)
