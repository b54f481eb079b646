"""Verification: walk packets through a plan's entries, as the P4 pipeline would.

For every rule, representative packets (points inside the rule's match that no higher-priority
rule takes) are pushed through the plan hop by hop: ``wp_classify`` on the subscriber, then the
in-switch service tables, ``wp_sff``, proxy legs and links, with waypoints dispatching on the
plan's (SPI, SI) contexts exactly as wp_waypoint does. Every alternative path of a
load-balanced rule is walked. The walk uses only the entries, the topology and the waypoint
contexts, never the plan's own bookkeeping of which path belongs to which rule, so a wrong
entry shows up as a wrong walk.

Proven per rule: the services are traversed in order, the final action is the rule's, the
path cannot loop (NSH TTL is never exhausted and no state repeats). Proven per subscriber:
traffic that matches no service rule is never steered (no NSH is pushed), and switches that
are not subscribers classify nothing. Every violation names the rule, switch and entry.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from wphw.entries import LPM, Exact, MatchValue, Range, TableEntry, Ternary
from wphw.errors import VerificationError
from wphw.plan import IN_SWITCH_SERVICES, IN_SWITCH_TABLE, NSH_TTL_INIT, SI_INIT, Plan
from wphw.policy import FinalKind, Match, Policy, Rule
from wphw.topology import Topology

MAX_STEPS = 4 * NSH_TTL_INIT + 16  # any longer walk is a loop, whatever the TTL says


@dataclass(frozen=True, slots=True, kw_only=True)
class Packet:
    in_port: int
    src: int
    dst: int
    proto: int
    sport: int
    dport: int
    spi: int | None = None
    si: int = 0
    ttl: int = 0
    vlan: int | None = None

    def field(self, name: str) -> int:
        return {
            "ingress_port": self.in_port,
            "ipv4_src": self.src,
            "ipv4_dst": self.dst,
            "ip_proto": self.proto,
            "l4_src_port": self.sport,
            "l4_dst_port": self.dport,
            "spi": self.spi or 0,
            "si": self.si,
        }[name]


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """Where a walk ended: ``kind`` is forward | route | drop."""

    kind: str
    switch: str
    port: int | None = None
    reason: str = ""
    nsh: bool = False

    def __str__(self) -> str:
        where = f" at {self.switch}"
        if self.kind == "forward":
            return f"forward({self.port}){where}" + (" with NSH still on" if self.nsh else "")
        if self.kind == "route":
            return f"route{where}" + (" with NSH still on" if self.nsh else "")
        return f"drop{where} ({self.reason})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Walk:
    rule: str
    spi: int | None
    services: tuple[str, ...]
    switches: tuple[str, ...]
    outcome: Outcome


@dataclass(slots=True)
class Report:
    walks: list[Walk] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rules_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    def raise_for_violations(self) -> None:
        if self.violations:
            raise VerificationError(
                f"plan violates its policy in {len(self.violations)} place(s):", self.violations
            )

    def summary(self) -> str:
        state = "OK" if self.ok else f"{len(self.violations)} VIOLATION(S)"
        return (
            f"verify: {state}: {self.rules_checked} rules, {len(self.walks)} packet walks, "
            f"{len(self.warnings)} warning(s)"
        )


# -- matching ------------------------------------------------------------------------------------


def _hits(entry: TableEntry, pkt: Packet) -> bool:
    for name, value in entry.match:
        v = pkt.field(name)
        if isinstance(value, Exact):
            if v != value.value:
                return False
        elif isinstance(value, Ternary):
            if v & value.mask != value.value & value.mask:
                return False
        elif isinstance(value, Range):
            if not value.low <= v <= value.high:
                return False
        elif isinstance(value, LPM):
            shift = 32 - value.prefix_len
            if v >> shift != value.value >> shift:
                return False
    return True


class _SwitchTables:
    """One switch's entries indexed the way the pipeline looks them up."""

    def __init__(self, entries: tuple[TableEntry, ...]) -> None:
        self.classify = sorted(
            (e for e in entries if e.table == "wp_classify"), key=lambda e: -e.priority
        )
        self.sff: dict[tuple[int, int], TableEntry] = {}
        self.proxy: dict[tuple[int, int], TableEntry] = {}
        self.services: dict[str, dict[tuple[int, int], list[TableEntry]]] = {
            t: {} for t in IN_SWITCH_TABLE.values()
        }
        self.lpm = sorted(
            (e for e in entries if e.table == "ipv4_lpm"),
            key=lambda e: -max((v.prefix_len for _, v in e.match if isinstance(v, LPM)), default=0),
        )
        for e in entries:
            m = e.match_dict()
            if e.table == "wp_sff":
                self.sff[(_val(m["spi"]), _val(m["si"]))] = e
            elif e.table == "wp_proxy_return":
                self.proxy[(_val(m["ingress_port"]), _val(m["vlan_id"]))] = e
            elif e.table in self.services:
                self.services[e.table].setdefault((_val(m["spi"]), _val(m["si"])), []).append(e)
        for by_key in self.services.values():
            for lst in by_key.values():
                lst.sort(key=lambda e: -e.priority)


def _val(v: MatchValue) -> int:
    assert isinstance(v, Exact)
    return v.value


# -- the walker ----------------------------------------------------------------------------------


class Simulator:
    """Pushes abstract packets through a plan on a topology, hop by hop."""

    def __init__(self, plan: Plan, topology: Topology) -> None:
        self.plan = plan
        self.topology = topology
        self.tables = {sw: _SwitchTables(plan.entries_for(sw)) for sw in topology.switches}
        self.nsh_ctx: dict[tuple[str, int, int], tuple[str, str]] = {}
        self.vlan_ctx: dict[tuple[str, int], tuple[str, str]] = {}
        for c in plan.contexts:
            if c.vlan is None:
                self.nsh_ctx[(c.waypoint, c.spi, c.si)] = (c.pe, c.service)
            else:
                self.vlan_ctx[(c.waypoint, c.vlan)] = (c.pe, c.service)

    def walk(
        self, switch: str, pkt: Packet, *, alternative: int = 0
    ) -> tuple[list[str], list[str], Outcome]:
        """Returns (services in order, switches visited, outcome). ``alternative`` picks the
        per-flow hash result among ``start_chain``'s paths."""
        services: list[str] = []
        visited: list[str] = [switch]
        seen: set[tuple[str, Packet]] = set()
        for _ in range(MAX_STEPS):
            state = (switch, pkt)
            if state in seen:
                return (
                    services,
                    visited,
                    Outcome(kind="drop", switch=switch, reason="forwarding loop"),
                )
            seen.add(state)
            result = self._switch(switch, pkt, services, alternative)
            if isinstance(result, Outcome):
                return services, visited, result
            out_port, pkt = result
            nxt = self._leave(switch, out_port, pkt, services)
            if isinstance(nxt, Outcome):
                return services, visited, nxt
            switch, pkt = nxt
            visited.append(switch)
        return (
            services,
            visited,
            Outcome(kind="drop", switch=switch, reason=f"no end after {MAX_STEPS} steps (loop)"),
        )

    def _leave(
        self, switch: str, port: int, pkt: Packet, services: list[str]
    ) -> tuple[str, Packet] | Outcome:
        topo = self.topology
        peer = topo.peer(switch, port)
        if peer is not None:
            return peer.switch, replace(pkt, in_port=peer.port)
        wp = topo.waypoint_at(switch, port)
        if wp is not None:
            if pkt.spi is not None:
                ctx = self.nsh_ctx.get((wp.name, pkt.spi, pkt.si))
                if ctx is None:
                    return Outcome(
                        kind="drop",
                        switch=switch,
                        reason=f"waypoint {wp.name} has no context for spi {pkt.spi} si {pkt.si}",
                    )
                services.append(ctx[1])
                return switch, replace(pkt, si=pkt.si - 1, in_port=port)
            if pkt.vlan is not None:
                ctx = self.vlan_ctx.get((wp.name, pkt.vlan))
                if ctx is None:
                    return Outcome(
                        kind="drop",
                        switch=switch,
                        reason=f"legacy waypoint {wp.name} has no context for vlan {pkt.vlan}",
                    )
                services.append(ctx[1])
                return switch, replace(pkt, in_port=port)
            return Outcome(
                kind="forward",
                switch=switch,
                port=port,
                reason=f"to waypoint {wp.name} without NSH",
            )
        return Outcome(kind="forward", switch=switch, port=port, nsh=pkt.spi is not None)

    def _switch(
        self, switch: str, pkt: Packet, services: list[str], alternative: int
    ) -> tuple[int, Packet] | Outcome:
        t = self.tables[switch]
        for _ in range(8):  # recirculations
            if pkt.vlan is not None:
                e = t.proxy.get((pkt.in_port, pkt.vlan))
                if e is not None:
                    pkt = replace(
                        pkt,
                        vlan=None,
                        spi=e.action.param("spi"),
                        si=e.action.param("si"),
                        ttl=NSH_TTL_INIT,
                    )
                else:
                    pkt = replace(pkt, vlan=None)
            if pkt.spi is None:
                hit = next((e for e in t.classify if _hits(e, pkt)), None)
                name = hit.action.name if hit else "route"
                if name == "forward":
                    assert hit is not None
                    return Outcome(kind="forward", switch=switch, port=hit.action.param("port"))
                if name == "drop":
                    return Outcome(kind="drop", switch=switch, reason="wp_classify drop")
                if name == "route":
                    return Outcome(kind="route", switch=switch)
                assert hit is not None and name == "start_chain"
                paths = hit.action.param("paths")
                pkt = replace(
                    pkt,
                    spi=hit.action.param("spi") + alternative % max(paths, 1),
                    si=SI_INIT,
                    ttl=NSH_TTL_INIT,
                )
            assert pkt.spi is not None
            if pkt.ttl == 0:
                return Outcome(
                    kind="drop",
                    switch=switch,
                    reason=f"NSH TTL expired (spi {pkt.spi} si {pkt.si})",
                )
            spi = pkt.spi
            for service in IN_SWITCH_SERVICES:
                entries = t.services[IN_SWITCH_TABLE[service]].get((spi, pkt.si), [])
                hit = next((e for e in entries if _hits(e, pkt)), None)
                if hit is None:
                    continue
                services.append(service)
                if hit.action.name == "fw_deny":
                    return Outcome(kind="drop", switch=switch, reason="in-switch fw deny")
                pkt = replace(pkt, si=pkt.si - 1)
            e = t.sff.get((spi, pkt.si))
            if e is None:
                return Outcome(
                    kind="drop", switch=switch, reason=f"wp_sff miss (spi {pkt.spi} si {pkt.si})"
                )
            name = e.action.name
            if name == "sff_forward":
                return e.action.param("port"), replace(pkt, ttl=pkt.ttl - 1)
            if name == "sff_proxy":
                return e.action.param("port"), replace(
                    pkt, spi=None, si=0, ttl=0, vlan=e.action.param("vlan")
                )
            if name == "sff_recirculate":  # the data plane takes one off NSH TTL here too
                pkt = replace(pkt, ttl=pkt.ttl - 1)
                continue
            if name == "sff_end_forward":
                return Outcome(kind="forward", switch=switch, port=e.action.param("port"))
            if name == "sff_end_route":
                return Outcome(kind="route", switch=switch)
            return Outcome(
                kind="drop", switch=switch, reason=f"wp_sff {name} (spi {pkt.spi} si {pkt.si})"
            )
        return Outcome(kind="drop", switch=switch, reason="recirculation loop")


# -- representative packets ----------------------------------------------------------------------


def _points(match: Match, rng: random.Random, in_ports: list[int]) -> Iterator[Packet]:
    """Packets inside ``match``: its corners first, then random points."""

    def net_choices(net: object) -> list[int]:
        if net is None:
            return [0x0A000001, 0xC0A80101, 0x08080808]
        lo = int(net.network_address)  # type: ignore[attr-defined]
        hi = int(net.broadcast_address)  # type: ignore[attr-defined]
        return [lo, hi, (lo + hi) // 2]

    def port_choices(rng_: tuple[int, int] | None) -> list[int]:
        if rng_ is None:
            return [80, 0, 65535]
        return [rng_[0], rng_[1], (rng_[0] + rng_[1]) // 2]

    srcs, dsts = net_choices(match.src), net_choices(match.dst)
    sports, dports = port_choices(match.src_port), port_choices(match.dst_port)
    protos = [match.proto] if match.proto is not None else [6, 17, 1]
    ports = [match.in_port] if match.in_port is not None else in_ports
    for i in range(3):
        for proto in protos:
            yield Packet(
                in_port=ports[i % len(ports)],
                src=srcs[i],
                dst=dsts[i],
                proto=proto,
                sport=sports[i],
                dport=dports[i],
            )
    for _ in range(64):

        def pick(net: object, default_any: bool = True) -> int:
            if net is None:
                return rng.getrandbits(32)
            lo = int(net.network_address)  # type: ignore[attr-defined]
            return lo + rng.randrange(int(net.num_addresses))  # type: ignore[attr-defined]

        def pick_port(r: tuple[int, int] | None) -> int:
            return rng.randint(*(r or (0, 65535)))

        yield Packet(
            in_port=match.in_port if match.in_port is not None else rng.choice(ports),
            src=pick(match.src),
            dst=pick(match.dst),
            proto=match.proto if match.proto is not None else rng.choice([6, 17, 1, 47]),
            sport=pick_port(match.src_port),
            dport=pick_port(match.dst_port),
        )


def _matches(match: Match, pkt: Packet) -> bool:
    if match.in_port is not None and pkt.in_port != match.in_port:
        return False
    if match.proto is not None and pkt.proto != match.proto:
        return False
    for net, v in ((match.src, pkt.src), (match.dst, pkt.dst)):
        if net is not None and (v & int(net.netmask)) != int(net.network_address):
            return False
    l4 = pkt.proto in (6, 17, 132)
    for rng_, v in ((match.src_port, pkt.sport), (match.dst_port, pkt.dport)):
        if rng_ is not None and not (l4 and rng_[0] <= v <= rng_[1]):
            return False
    return True


def _l4_view(pkt: Packet) -> Packet:
    """The data plane reads L4 ports as 0 for protocols other than TCP/UDP."""
    if pkt.proto in (6, 17):
        return pkt
    return replace(pkt, sport=0, dport=0)


def _first_rule(rules: tuple[Rule, ...], pkt: Packet) -> Rule | None:
    return next((r for r in rules if _matches(r.match, pkt)), None)


# -- verify ----------------------------------------------------------------------------------------


def verify(plan: Plan, policy: Policy, topology: Topology, *, seed: int = 0) -> Report:
    """Walk representative packets of every rule through ``plan``; report every violation."""
    sim = Simulator(plan, topology)
    report = Report()
    bindings = {b.rule: b for b in plan.bindings}
    subscribers = set(policy.subscribers())
    for sw in sorted(topology.switches):
        if sw not in subscribers:
            for e in sim.tables[sw].classify:
                report.violations.append(
                    f"switch {sw} is no subscriber but has classifier entry {e.action.name} {dict(e.match)}"
                )
    for sub, rules in policy.by_subscriber().items():
        in_ports = list(topology.ports(sub)) or [0]
        for rule in rules:
            report.rules_checked += 1
            rng = random.Random(f"{seed}:{rule.name}")
            pkt = next(
                (
                    p
                    for p in _points(rule.match, rng, in_ports)
                    if _first_rule(rules, _l4_view(p)) is rule
                ),
                None,
            )
            if pkt is None:
                cover = next(
                    (
                        r
                        for r in rules
                        if r is not rule
                        and r.priority >= rule.priority
                        and r.match.covers(rule.match)
                    ),
                    None,
                )
                if cover is not None:
                    report.warnings.append(
                        f"rule {rule.name} is shadowed by rule {cover.name}: it can never match"
                    )
                else:
                    report.warnings.append(
                        f"rule {rule.name}: no representative packet found (mostly shadowed?)"
                    )
                continue
            pkt = _l4_view(pkt)
            binding = bindings.get(rule.name)
            skipped = binding.skipped if binding else ()
            blocked = (
                binding is not None
                and binding.action == "drop"
                and rule.final.kind is not FinalKind.DROP
            )
            expected_services = tuple(s for s in rule.services if s not in skipped)
            alternatives = max(1, binding.paths if binding else 1)
            for alt in range(alternatives):
                services, visited, outcome = sim.walk(sub, pkt, alternative=alt)
                spi = (binding.spi + alt) if binding and binding.spi is not None else None
                report.walks.append(
                    Walk(
                        rule=rule.name,
                        spi=spi,
                        services=tuple(services),
                        switches=tuple(visited),
                        outcome=outcome,
                    )
                )
                where = f"rule {rule.name} ({_describe(pkt)}" + (
                    f", path spi {spi})" if spi is not None else ")"
                )
                if blocked:
                    if outcome.kind != "drop":
                        report.violations.append(
                            f"{where}: every PE of a 'block' service failed, so the rule must drop; got {outcome}"
                        )
                    continue
                if (
                    outcome.reason == "in-switch fw deny"
                    and tuple(services) == expected_services[: len(services)]
                ):
                    continue  # the firewall service itself decided to drop this packet
                if tuple(services) != expected_services:
                    report.violations.append(
                        f"{where}: services {list(services)} traversed, expected {list(expected_services)}; ended {outcome}"
                    )
                err = _final_error(rule, outcome, sub, anywhere=policy.chain_end.value == "last-pe")
                if err:
                    report.violations.append(
                        f"{where}: {err}; services {list(services)}; path {' > '.join(visited)}"
                    )
                if not expected_services and len(visited) > 1:
                    report.violations.append(
                        f"{where}: rule has no service but the packet detoured via {' > '.join(visited)}"
                    )
        # traffic that matches no service rule must not be steered.
        rng = random.Random(f"{seed}:{sub}:unmatched")
        for _ in range(16):
            pkt = Packet(
                in_port=rng.choice(in_ports),
                src=rng.getrandbits(32),
                dst=rng.getrandbits(32),
                proto=rng.choice([6, 17, 1]),
                sport=rng.randrange(65536),
                dport=rng.randrange(65536),
            )
            pkt = _l4_view(pkt)
            first = _first_rule(rules, pkt)
            if first is not None and first.services:
                continue
            services, visited, outcome = sim.walk(sub, pkt)
            if services or len(visited) > 1:
                report.violations.append(
                    f"{sub}: packet matching no service rule ({_describe(pkt)}) was steered: services {services}, path {' > '.join(visited)}"
                )
    return report


def _final_error(
    rule: Rule, outcome: Outcome, subscriber: str, *, anywhere: bool = False
) -> str | None:
    """``anywhere``: chain_end last-pe, where route and drop happen at the last PE's switch."""
    final = rule.final
    if outcome.nsh:
        return f"left the network with NSH still on ({outcome})"
    if outcome.switch != subscriber and not (anywhere and final.kind is not FinalKind.FORWARD):
        return f"expected {final} at {subscriber}, got {outcome}"
    if final.kind is FinalKind.FORWARD:
        if outcome.kind != "forward" or outcome.port != final.port:
            return f"expected forward({final.port}), got {outcome}"
    elif final.kind is FinalKind.DROP:
        if outcome.kind != "drop" or not (
            "wp_sff sff_drop" in outcome.reason or "wp_classify drop" in outcome.reason
        ):
            return f"expected drop, got {outcome}"
    elif outcome.kind != "route":
        return f"expected route, got {outcome}"
    return None


def _describe(pkt: Packet) -> str:
    def ip(v: int) -> str:
        return ".".join(str((v >> s) & 0xFF) for s in (24, 16, 8, 0))

    return f"in_port {pkt.in_port} {ip(pkt.src)}:{pkt.sport} > {ip(pkt.dst)}:{pkt.dport} proto {pkt.proto}"
