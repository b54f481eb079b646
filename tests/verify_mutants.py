"""Mutation score of ``wphw.verify``: break a plan in many ways, see which breakages it reports.

Every mutant changes one thing in the plan of tests/data/zoo (every table, every kind of PE,
load balancing, a recirculation, a legacy proxy) or of examples/table1 (chain_end last-pe for
the re-classification loop). Each is labelled by construction: ``changes`` (the data plane or
the plan's own account of itself no longer does what the policy says — verify must report
it) or not (an equivalent mutant: an entry nothing can reach, a reordering — verify must stay
quiet). The score is the share of mutants verify labels right.

    .venv/bin/python tests/verify_mutants.py          # prints the table, writes bench/results
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import wphw
from wphw.entries import LPM, Action, Exact, MatchValue, Range, TableEntry, Ternary
from wphw.plan import Plan, WaypointContext

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "tests" / "data" / "zoo"


@dataclass(frozen=True)
class Mutant:
    name: str
    table: str
    changes: bool
    apply: Callable[[Plan], Plan]
    example: str = "zoo"


def _entries(plan: Plan, sw: str, fn: Callable[[TableEntry], TableEntry | None]) -> Plan:
    out = [x for x in (fn(e) for e in plan.entries_for(sw)) if x is not None]
    return dataclasses.replace(plan, entries={**plan.entries, sw: tuple(out)})


def _add(plan: Plan, sw: str, e: TableEntry) -> Plan:
    return dataclasses.replace(plan, entries={**plan.entries, sw: (*plan.entries_for(sw), e)})


def _where(table: str, action: str | None = None, **match: int) -> Callable[[TableEntry], bool]:
    def pred(e: TableEntry) -> bool:
        if e.table != table or (action is not None and e.action.name != action):
            return False
        m = e.match_dict()
        return all(getattr(m.get(k), "value", None) == v for k, v in match.items())

    return pred


def _edit(
    sw: str, pick: Callable[[TableEntry], bool], fn: Callable[[TableEntry], TableEntry | None]
) -> Callable[[Plan], Plan]:
    def apply(plan: Plan) -> Plan:
        hits = [e for e in plan.entries_for(sw) if pick(e)]
        assert hits, f"mutant matches no entry on {sw}"
        first = hits[0]
        return _entries(plan, sw, lambda e: fn(e) if e is first else e)

    return apply


def _match(e: TableEntry, name: str, value: MatchValue | None) -> TableEntry:
    m = dict(e.match)
    if value is None:
        m.pop(name, None)
    else:
        m[name] = value
    return dataclasses.replace(e, match=tuple(sorted(m.items())))


def _act(e: TableEntry, name: str | None = None, **params: int) -> TableEntry:
    return dataclasses.replace(
        e, action=Action.of(name or e.action.name, **{**dict(e.action.params), **params})
    )


def _classify(spi: int) -> Callable[[TableEntry], bool]:
    return lambda e: (
        e.table == "wp_classify" and e.action.name == "start_chain" and e.action.param("spi") == spi
    )


def _binding(rule: str, **kw: Any) -> Callable[[Plan], Plan]:
    def apply(plan: Plan) -> Plan:
        b = tuple(dataclasses.replace(x, **kw) if x.rule == rule else x for x in plan.bindings)
        return dataclasses.replace(plan, bindings=b)

    return apply


def _ip(text: str) -> int:
    import ipaddress

    return int(ipaddress.IPv4Address(text))


def mutants() -> list[Mutant]:
    # SPIs of tests/data/zoo (wphw plan tests/data/zoo): fw-web 1, ids-nat 2 (x2), recirc 4,
    # proxy 5, icmp-rl 6
    m: list[Mutant] = []

    def add(
        name: str, table: str, changes: bool, fn: Callable[[Plan], Plan], ex: str = "zoo"
    ) -> None:
        m.append(Mutant(name, table, changes, fn, ex))

    c = "wp_classify"
    add(
        "narrow src prefix /24 -> /25",
        c,
        True,
        _edit(
            "s1",
            _classify(1),
            lambda e: _match(e, "ipv4_src", Ternary(value=_ip("10.0.1.0"), mask=0xFFFFFF80)),
        ),
    )
    add(
        "widen src prefix /24 -> /23",
        c,
        True,
        _edit(
            "s1",
            _classify(1),
            lambda e: _match(e, "ipv4_src", Ternary(value=_ip("10.0.0.0"), mask=0xFFFFFE00)),
        ),
    )
    add(
        "drop the src condition",
        c,
        True,
        _edit("s1", _classify(1), lambda e: _match(e, "ipv4_src", None)),
    )
    add(
        "dst port 80 -> 81",
        c,
        True,
        _edit("s1", _classify(1), lambda e: _match(e, "l4_dst_port", Range(low=81, high=81))),
    )
    add(
        "widen dst port 80 -> 80-81",
        c,
        True,
        _edit("s1", _classify(1), lambda e: _match(e, "l4_dst_port", Range(low=80, high=81))),
    )
    add(
        "narrow src port range 1000-2000 -> 1000-1500",
        c,
        True,
        _edit("s1", _classify(2), lambda e: _match(e, "l4_src_port", Range(low=1000, high=1500))),
    )
    add(
        "protocol tcp -> udp",
        c,
        True,
        _edit("s1", _classify(1), lambda e: _match(e, "ip_proto", Ternary(value=17, mask=0xFF))),
    )
    add(
        "in_port 2 -> 0",
        c,
        True,
        _edit(
            "s1",
            _where(c, "forward"),
            lambda e: _match(e, "ingress_port", Ternary(value=0, mask=0x1FF)),
        ),
    )

    def swap_prio(
        a: Callable[[TableEntry], bool], b: Callable[[TableEntry], bool]
    ) -> Callable[[Plan], Plan]:
        def apply(plan: Plan) -> Plan:
            ea = next(e for e in plan.entries_for("s1") if a(e))
            eb = next(e for e in plan.entries_for("s1") if b(e))
            return _entries(
                plan,
                "s1",
                lambda e: (
                    dataclasses.replace(e, priority=eb.priority)
                    if e is ea
                    else dataclasses.replace(e, priority=ea.priority)
                    if e is eb
                    else e
                ),
            )

        return apply

    add(
        "swap priorities of overlapping fw-web and ids-nat",
        c,
        True,
        swap_prio(_classify(1), _classify(2)),
    )
    add(
        "start_chain onto another path",
        c,
        True,
        _edit("s1", _classify(1), lambda e: _act(e, spi=4)),
    )
    add("paths 2 -> 1", c, True, _edit("s1", _classify(2), lambda e: _act(e, paths=1)))
    add("paths 2 -> 3", c, True, _edit("s1", _classify(2), lambda e: _act(e, paths=3)))
    add(
        "missing classifier entry (blackhole)",
        c,
        True,
        _edit("s1", _where(c, "drop"), lambda e: None),
    )
    add(
        "extra classifier entry: drop all UDP",
        c,
        True,
        lambda p: _add(
            p,
            "s1",
            TableEntry.of(
                c, {"ip_proto": Ternary(value=17, mask=0xFF)}, Action.of("drop"), priority=9
            ),
        ),
    )
    add(
        "forward(1) -> forward(0)",
        c,
        True,
        _edit("s1", _where(c, "forward"), lambda e: _act(e, port=0)),
    )
    add("drop -> route", c, True, _edit("s1", _where(c, "drop"), lambda e: _act(e, "route")))
    add(
        "classifier entry on a non-subscriber",
        c,
        True,
        lambda p: _add(
            p,
            "s2",
            TableEntry.of(
                c, {"ip_proto": Ternary(value=47, mask=0xFF)}, Action.of("drop"), priority=1
            ),
        ),
    )
    # blackhole (dst 10.0.9.0/24, prio 2) takes every packet this entry could match
    add(
        "extra entry shadowed by a higher one (equivalent)",
        c,
        False,
        lambda p: _add(
            p,
            "s1",
            TableEntry.of(
                c,
                {"ipv4_dst": Ternary(value=_ip("10.0.9.0"), mask=0xFFFFFF80)},
                Action.of("route"),
                priority=1,
            ),
        ),
    )

    s = "wp_sff"
    add(
        "transit port to the IDS wrong",
        s,
        True,
        _edit("s2", _where(s, spi=2, si=255), lambda e: _act(e, port=2)),
    )
    add(
        "sff SI in the match wrong",
        s,
        True,
        _edit("s2", _where(s, spi=2, si=254), lambda e: _match(e, "si", Exact(value=253))),
    )
    add(
        "sff SPI in the match wrong",
        s,
        True,
        _edit("s2", _where(s, spi=2, si=254), lambda e: _match(e, "spi", Exact(value=9))),
    )
    add("missing sff entry", s, True, _edit("s1", _where(s, spi=1, si=255), lambda e: None))
    add(
        "chain end route -> forward(0)",
        s,
        True,
        _edit(
            "s1",
            _where(s, spi=1, si=255),
            lambda e: dataclasses.replace(e, action=Action.of("sff_end_forward", port=0)),
        ),
    )
    add(
        "chain end route -> drop",
        s,
        True,
        _edit(
            "s1",
            _where(s, spi=1, si=255),
            lambda e: dataclasses.replace(e, action=Action.of("sff_drop")),
        ),
    )
    add("recirculation missing", s, True, _edit("s1", _where(s, "sff_recirculate"), lambda e: None))
    # the SI wp_sff leaves with (the entry SI less the pass's in-switch services)
    add(
        "recirculation SI not decremented",
        s,
        True,
        _edit("s1", _where(s, "sff_recirculate"), lambda e: _act(e, si=255)),
    )
    add(
        "sff_forward SI to the IDS wrong",
        s,
        True,
        _edit("s2", _where(s, spi=2, si=255), lambda e: _act(e, si=254)),
    )
    add(
        "sff_forward SI back to s1 wrong",
        s,
        True,
        _edit("s2", _where(s, spi=2, si=254), lambda e: _act(e, si=253)),
    )
    add("proxy VLAN wrong", s, True, _edit("s2", _where(s, "sff_proxy"), lambda e: _act(e, vlan=7)))
    add("proxy port wrong", s, True, _edit("s2", _where(s, "sff_proxy"), lambda e: _act(e, port=6)))
    add(
        "sff loop between s1 and s2",
        s,
        True,
        _edit("s2", _where(s, spi=2, si=255), lambda e: _act(e, port=1)),
    )
    add(
        "extra sff entry for an unused SPI (equivalent)",
        s,
        False,
        lambda p: _add(
            p,
            "s2",
            TableEntry.of(
                s,
                {"spi": Exact(value=999), "si": Exact(value=255)},
                Action.of("sff_forward", port=2, si=255),
            ),
        ),
    )

    r = "wp_proxy_return"
    add("proxy return SI wrong", r, True, _edit("s2", _where(r), lambda e: _act(e, si=250)))
    add("proxy return SPI wrong", r, True, _edit("s2", _where(r), lambda e: _act(e, spi=1)))
    add("proxy return missing", r, True, _edit("s2", _where(r), lambda e: None))
    add(
        "extra proxy return for an unused VLAN (equivalent)",
        r,
        False,
        lambda p: _add(
            p,
            "s2",
            TableEntry.of(
                r,
                {"ingress_port": Exact(value=5), "vlan_id": Exact(value=99)},
                Action.of("proxy_restore", spi=5, si=254),
            ),
        ),
    )

    f = "wp_fw"
    add("fw deny entry missing", f, True, _edit("s1", _where(f, "fw_deny", spi=1), lambda e: None))
    add(
        "fw default permit -> deny",
        f,
        True,
        _edit(
            "s1",
            _where(f, "fw_permit", spi=1),
            lambda e: dataclasses.replace(e, action=Action.of("fw_deny")),
        ),
    )
    add(
        "fw deny widened to the /24",
        f,
        True,
        _edit(
            "s1",
            _where(f, "fw_deny", spi=1),
            lambda e: _match(e, "ipv4_dst", Ternary(value=_ip("10.0.2.0"), mask=0xFFFFFF00)),
        ),
    )
    add(
        "fw entry for the wrong SI",
        f,
        True,
        _edit("s1", _where(f, "fw_permit", spi=4), lambda e: _match(e, "si", Exact(value=255))),
    )

    def shadowed_deny(plan: Plan) -> Plan:
        deny = next(e for e in plan.entries_for("s1") if _where(f, "fw_deny", spi=1)(e))
        # inside the existing deny (prio 2), below it: never the winner
        extra = _match(deny, "l4_src_port", Range(low=0, high=1000))
        return _add(plan, "s1", dataclasses.replace(extra, priority=1))

    add("extra fw deny inside a higher deny (equivalent)", f, False, shadowed_deny)

    n = "wp_nat"
    add(
        "snat address wrong",
        n,
        True,
        _edit("s1", _where(n, "nat_snat", spi=2), lambda e: _act(e, addr=_ip("203.0.113.11"))),
    )
    add("dnat missing", n, True, _edit("s1", _where(n, "nat_dnat", spi=2), lambda e: None))
    add(
        "snat match widened to the /24",
        n,
        True,
        _edit(
            "s1",
            _where(n, "nat_snat", spi=2),
            lambda e: _match(e, "ipv4_src", Ternary(value=_ip("10.0.1.0"), mask=0xFFFFFF00)),
        ),
    )
    add(
        "nat on the second path missing",
        n,
        True,
        lambda p: _entries(
            p,
            "s1",
            lambda e: None if e.table == n and e.match_dict()["spi"] == Exact(value=3) else e,
        ),
    )
    add(
        "extra nat entries for an unused SPI (equivalent)",
        n,
        False,
        lambda p: _add(
            p,
            "s1",
            TableEntry.of(
                n,
                {"spi": Exact(value=998), "si": Exact(value=254)},
                Action.of("nat_pass"),
                priority=1,
            ),
        ),
    )

    add(
        "count entry missing",
        "wp_count",
        True,
        _edit("s1", _where("wp_count", spi=1), lambda e: None),
    )
    add(
        "count entry at the wrong SI",
        "wp_count",
        True,
        _edit("s1", _where("wp_count", spi=4), lambda e: _match(e, "si", Exact(value=254))),
    )
    add(
        "ratelimit entry missing",
        "wp_ratelimit",
        True,
        _edit("s1", _where("wp_ratelimit"), lambda e: None),
    )

    lpm = "ipv4_lpm"
    b1 = _ip("10.0.2.10")
    add(
        "route port wrong (to a host port)",
        lpm,
        True,
        _edit(
            "s2",
            lambda e: e.table == lpm and e.match_dict()["ipv4_dst"].value == b1,
            lambda e: _act(e, port=4),
        ),
    )  # type: ignore[union-attr]
    add(
        "route port wrong (back over the link: a loop)",
        lpm,
        True,
        _edit(
            "s2",
            lambda e: e.table == lpm and e.match_dict()["ipv4_dst"].value == b1,
            lambda e: _act(e, port=1),
        ),
    )  # type: ignore[union-attr]
    add(
        "route MAC wrong",
        lpm,
        True,
        _edit(
            "s1",
            lambda e: e.table == lpm and e.match_dict()["ipv4_dst"].value == b1,
            lambda e: _act(e, dst_mac=0x0A0B0C0D0E0F),
        ),
    )  # type: ignore[union-attr]
    add(
        "route missing",
        lpm,
        True,
        _edit(
            "s1",
            lambda e: e.table == lpm and e.match_dict()["ipv4_dst"].value == b1,
            lambda e: None,
        ),
    )  # type: ignore[union-attr]
    add(
        "extra route for an address no host has",
        lpm,
        True,
        lambda p: _add(
            p,
            "s1",
            TableEntry.of(
                lpm,
                {"ipv4_dst": LPM(value=_ip("10.0.2.11"), prefix_len=32)},
                Action.of("ipv4_forward", dst_mac=1, port=1),
            ),
        ),
    )
    add(
        "route /32 widened to /31",
        lpm,
        True,
        _edit(
            "s1",
            lambda e: e.table == lpm and e.match_dict()["ipv4_dst"].value == b1,  # type: ignore[union-attr]
            lambda e: _match(e, "ipv4_dst", LPM(value=b1, prefix_len=31)),
        ),
    )
    add(
        "entries of a switch in another order (equivalent)",
        lpm,
        False,
        lambda p: dataclasses.replace(
            p, entries={**p.entries, "s1": tuple(reversed(p.entries_for("s1")))}
        ),
    )

    def ctx(fn: Callable[[WaypointContext], WaypointContext | None]) -> Callable[[Plan], Plan]:
        def apply(plan: Plan) -> Plan:
            out = []
            done = False
            for x in plan.contexts:
                if not done and x.pe == "ids_a":
                    done = True
                    y = fn(x)
                    if y is not None:
                        out.append(y)
                else:
                    out.append(x)
            return dataclasses.replace(plan, contexts=tuple(out))

        return apply

    add("waypoint context missing", "contexts", True, ctx(lambda x: None))
    add(
        "waypoint context names another service",
        "contexts",
        True,
        ctx(lambda x: dataclasses.replace(x, service="http_proxy")),
    )
    add(
        "waypoint context for the wrong SI",
        "contexts",
        True,
        ctx(lambda x: dataclasses.replace(x, si=250)),
    )
    add(
        "extra waypoint context for an unused SPI (equivalent)",
        "contexts",
        False,
        lambda p: dataclasses.replace(
            p,
            contexts=(
                *p.contexts,
                WaypointContext(waypoint="wp_ids_a", pe="ids_a", service="ids", spi=997, si=255),
            ),
        ),
    )

    add(
        "binding: live service listed as skipped",
        "bindings",
        True,
        _binding("ids-nat", skipped=("ids",)),
    )
    add("binding: wrong SPI", "bindings", True, _binding("fw-web", spi=4))
    add("binding: wrong path count", "bindings", True, _binding("ids-nat", paths=1))
    add("binding: wrong action", "bindings", True, _binding("blackhole", action="route"))
    add("binding: wrong priority", "bindings", True, _binding("proxy", priority=99))
    add(
        "binding missing",
        "bindings",
        True,
        lambda p: dataclasses.replace(
            p, bindings=tuple(b for b in p.bindings if b.rule != "icmp-rl")
        ),
    )

    def path_hops(plan: Plan) -> Plan:
        paths = tuple(
            dataclasses.replace(
                x, hops=tuple(dataclasses.replace(h, service="ids") for h in x.hops)
            )
            if x.spi == 1
            else x
            for x in plan.paths
        )
        return dataclasses.replace(plan, paths=paths)

    add("path: services it lists are not the walk's", "paths", True, path_hops)

    # table1 with chain_end last-pe: the chain of http-proxy ended at s2 and routed back through
    # s1, which classified it again (issue 11): the compiled plan is right, the old one loops.
    add(
        "last-pe chain end at the PE's switch (re-classification loop)",
        "wp_sff",
        True,
        _last_pe_loop,
        "table1-last-pe",
    )
    return m


def _last_pe_loop(plan: Plan) -> Plan:
    spi = next(b.spi for b in plan.bindings if b.rule == "http-proxy")
    assert spi is not None
    out = _entries(
        plan,
        "s1",
        lambda e: (
            None
            if e.table == "wp_sff"
            and e.match_dict()["spi"] == Exact(value=spi)
            and e.match_dict()["si"] == Exact(value=254)
            else e
        ),
    )
    return _entries(
        out,
        "s2",
        lambda e: (
            dataclasses.replace(e, action=Action.of("sff_end_route"))
            if e.table == "wp_sff"
            and e.match_dict() == {"spi": Exact(value=spi), "si": Exact(value=254)}
            else e
        ),
    )


def load(example: str) -> tuple[wphw.Topology, wphw.Policy]:
    if example == "zoo":
        return wphw.load_topology(ZOO / "topology.yaml"), wphw.load_policy(ZOO / "policy.yaml")
    topo = wphw.load_topology(ROOT / "examples/table1/topology.yaml")
    raw = yaml.safe_load((ROOT / "examples/table1/policy.yaml").read_text())
    raw["chain_end"] = "last-pe"
    return topo, wphw.policy_from_dict(raw)


def score() -> list[dict[str, Any]]:
    rows = []
    base: dict[str, tuple[wphw.Topology, wphw.Policy, Plan]] = {}
    for mu in mutants():
        if mu.example not in base:
            topo, policy = load(mu.example)
            plan = wphw.compile(policy, topo)
            assert wphw.verify(plan, policy, topo).ok
            base[mu.example] = (topo, policy, plan)
        topo, policy, plan = base[mu.example]
        mutated = mu.apply(plan)
        assert mutated != plan or not mu.changes, f"mutant {mu.name!r} changed nothing"
        report = wphw.verify(mutated, policy, topo)
        reported = not report.ok
        rows.append(
            {
                "mutant": mu.name,
                "table": mu.table,
                "changes": mu.changes,
                "reported": reported,
                "right": reported == mu.changes,
                "first": report.violations[0][:200] if report.violations else "",
            }
        )
    return rows


def main() -> int:
    rows = score()
    right = sum(r["right"] for r in rows)
    print("| mutant | table | changes behaviour | verify reports | right |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['mutant']} | {r['table']} | {r['changes']} | {r['reported']} | {'yes' if r['right'] else 'NO'} |"
        )
    print(f"\nmutation score: {right}/{len(rows)}")
    out = ROOT / "bench" / "results" / "verify_mutants.json"
    out.write_text(json.dumps({"score": [right, len(rows)], "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0 if right == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
