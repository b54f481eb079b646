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
    # send straight back instead of to the IDS: the service is skipped
    broken = edit(
        plan,
        "s2",
        lambda e: (
            dataclasses.replace(e, action=Action.of("sff_forward", port=1))
            if is_sff(e, spi, 255)
            else e
        ),
    )
    v = violations(broken, policy, topo)
    assert any("rule ids-nat" in x and "expected ['ids', 'nat']" in x for x in v), v


def test_loop_is_caught(table1: tuple[Plan, wphw.Policy, wphw.Topology]) -> None:
    plan, policy, topo = table1
    spi = spi_of(plan, "http-proxy")
    # s2 bounces the packet back to s1, which sends it to s2 again: TTL must stop it
    broken = edit(
        plan,
        "s2",
        lambda e: (
            dataclasses.replace(e, action=Action.of("sff_forward", port=1))
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
            if is_sff(e, spi, 253)
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
