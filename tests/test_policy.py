from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from wphw.errors import PolicyError
from wphw.policy import DROP, ROUTE, FailureMode, Match, forward, load_policy, policy_from_dict


def test_table1_is_the_papers_table() -> None:
    policy = load_policy(Path(__file__).parent.parent / "examples/table1/policy.yaml")
    rules = policy.rules_of("s1")
    assert [r.name for r in rules] == ["ids-nat", "http-proxy", "udp-drop", "port0-fwd"]
    assert rules[0].services == ("ids", "nat") and rules[0].final == ROUTE
    assert rules[0].match == Match(src=ipaddress.IPv4Network("192.168.0.0/24"), proto=6)
    assert rules[1].services == ("http_proxy",)
    assert rules[2].services == () and rules[2].final == DROP
    assert rules[3].match.in_port == 0 and rules[3].final == forward(1)
    assert policy.spec("ids").failure is FailureMode.BYPASS
    assert policy.spec("http_proxy").failure is FailureMode.BLOCK


def rules(*items: dict[str, Any]) -> dict[str, Any]:
    return {"subscribers": {"s1": list(items)}}


def test_actions_forms() -> None:
    p = policy_from_dict(
        rules(
            {"match": {"dst_port": "1000-2000", "proto": "udp"}, "actions": "ids, forward(3)"},
            {"match": {"src_port": [5, 6], "proto": 6}, "actions": [{"forward": 2}]},
            {"match": "*", "actions": ["forward port 4"]},
        )
    )
    r0, r1, r2 = p.rules_of("s1")
    assert r0.services == ("ids",) and r0.final == forward(3) and r0.match.dst_port == (1000, 2000)
    assert r1.final == forward(2) and r1.match.src_port == (5, 6)
    assert r2.final == forward(4)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (rules({"match": {"dst": "10.0.0.0/33"}, "actions": ["drop"]}), "bad IPv4 prefix"),
        (rules({"match": {"vlan": 3}, "actions": ["drop"]}), "unknown match field"),
        (
            rules({"match": {"proto": "tcp", "dst_port": 70000}, "actions": ["drop"]}),
            "out of range",
        ),
        (rules({"match": {"proto": "xyz"}, "actions": ["drop"]}), "unknown protocol"),
        (rules({"match": {"dst_port": 80}, "actions": ["drop"]}), "need proto tcp"),
        (rules({"match": {"in_port": 900}, "actions": ["drop"]}), "in_port 900 out of range"),
        (rules({"actions": ["drop", "ids"]}), "must come last"),
        (rules({"actions": ["forward(600)"]}), "forward port 600 out of range"),
        (rules({"actions": []}), "non-empty list"),
        (rules({"actions": ["bad name!"]}), "bad service name"),
        (rules({"actions": ["drop"], "priority": 0}), "priority 0 out of range"),
        (
            rules(
                {"name": "a", "priority": 5, "match": {"dst": "10.0.0.0/8"}, "actions": ["drop"]},
                {"name": "b", "priority": 5, "match": {"dst": "10.1.0.0/16"}, "actions": ["route"]},
            ),
            "rules a and b on s1 have the same priority 5 and overlap",
        ),
        (
            rules({"name": "x", "actions": ["drop"]}, {"name": "x", "actions": ["drop"]}),
            "duplicate rule name 'x'",
        ),
        ({"metric": "cheapest", "subscribers": {}}, "unknown metric"),
        ({"services": {"ids": {"failure": "explode"}}}, "failure must be bypass or block"),
        ({"services": {"ids": {"instances": 0}}}, "instances must be a positive integer"),
    ],
)
def test_bad_policies_raise_named_errors(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        policy_from_dict(raw, "policy.yaml")


def test_same_priority_without_overlap_is_fine() -> None:
    p = policy_from_dict(
        rules(
            {"name": "a", "priority": 5, "match": {"dst": "10.0.0.0/16"}, "actions": ["drop"]},
            {"name": "b", "priority": 5, "match": {"dst": "10.1.0.0/16"}, "actions": ["route"]},
        )
    )
    assert len(p.rules) == 2


def test_overlap_and_cover() -> None:
    wide = Match(dst=ipaddress.IPv4Network("10.0.0.0/8"), proto=6)
    narrow = Match(dst=ipaddress.IPv4Network("10.1.0.0/16"), proto=6, dst_port=(80, 80))
    other = Match(dst=ipaddress.IPv4Network("11.0.0.0/8"))
    assert wide.overlaps(narrow) and narrow.overlaps(wide)
    assert wide.covers(narrow) and not narrow.covers(wide)
    assert not wide.overlaps(other)
    assert not Match(proto=6).overlaps(Match(proto=17))
