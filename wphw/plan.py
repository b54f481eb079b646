"""Translation: policy + topology → Plan (pure, deterministic, no I/O).

``compile(policy, topology)`` turns logical rules ("for this traffic, apply these services,
then forward") into the physical entries of docs/dataplane.md on every switch:

* a ``wp_classify`` entry per rule on its subscriber switch;
* for every distinct **service path** (subscriber, chosen PE per service, final action): one
  SPI and its ``wp_sff`` entries on every switch the path crosses — towards each PE, the
  hair-pin to the PE's port, the way back — plus proxy entries for legacy PEs, in-switch
  service entries (``wp_fw``/``wp_nat``/``wp_count``/``wp_ratelimit``) and the chain end at the
  subscriber. Rules that need the same path share its SPI and all of its entries, so the entry
  count grows with distinct paths, not with rules × hops;
* ``ipv4_lpm`` routes to every host (``routes=True``), for traffic that is not steered.

Several PE instances of one service give several alternative paths with consecutive SPIs; the
classifier's ``start_chain(spi, paths)`` hashes each flow onto one of them (per-flow load
balancing). PE capacity counts (SPI, SI) contexts — exactly the FPGA waypoint's table slots.

Updates: pass the installed plan as ``previous``; paths that did not change keep their SPI, new
or changed paths get SPIs the previous plan does not use, so an installer can add new paths,
flip classifiers, then remove old paths (make-before-break).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import wphw.p4names as P4
from wphw._gc import gc_paused
from wphw.entries import (
    LPM,
    Action,
    Exact,
    MatchValue,
    Range,
    RegisterWrite,
    TableEntry,
    Ternary,
    entry_from_json,
    entry_to_json,
)
from wphw.errors import PlanError, PlanFormatError, PolicyError, TopologyError
from wphw.policy import ChainEnd, Final, FinalKind, Match, Policy, Rule
from wphw.services import params as services_params
from wphw.topology import Metric, PEKind, Topology

SI_INIT = 255
NSH_TTL_INIT = 63
MAX_SPI = 2**24 - 1
MAX_VLAN = 4094
# In-switch services run in this fixed order within one pass of the pipeline.
IN_SWITCH_SERVICES = ("fw", "nat", "count", "ratelimit")
IN_SWITCH_TABLE = {
    "fw": P4.WP_FW,
    "nat": P4.WP_NAT,
    "count": P4.WP_COUNT,
    "ratelimit": P4.WP_RATELIMIT,
}
PATH_TABLES = frozenset({P4.WP_SFF, P4.WP_PROXY_RETURN, *IN_SWITCH_TABLE.values()})
# 2: every chain table of a pass matches the SI the packet entered it with, sff_forward and
# sff_recirculate carry the SI it leaves with. Format 1 plans were for the data plane whose
# services decremented the SI one by one; their entries mean something else on this one.
PLAN_FORMAT = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Hop:
    """One service on a path: which PE runs it, where, and the SI the packet carries to it."""

    service: str
    pe: str
    switch: str
    si: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ServicePath:
    spi: int
    subscriber: str  # the (first) subscriber whose packets take this path
    hops: tuple[Hop, ...]
    final: str  # "forward(2)", "drop", "route"
    switches: tuple[str, ...]  # every switch visited from ``subscriber``, in order
    shared_by: tuple[str, ...] = ()  # chain_end last-pe: every subscriber using this path


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleBinding:
    """How one logical rule was realised: its classifier action and the SPIs it uses."""

    rule: str
    subscriber: str
    priority: int
    action: str  # "start_chain", "forward", "drop", "route"
    spi: int | None = None
    paths: int = 0
    skipped: tuple[str, ...] = ()  # services bypassed because every PE failed


@dataclass(frozen=True, slots=True, kw_only=True)
class WaypointContext:
    """What a waypoint's internal interconnect must do: (SPI, SI) or VLAN → PE and service.

    NSH-aware PEs are selected by (``spi``, ``si``), legacy PEs by the proxy ``vlan`` on the
    waypoint's port. For FPGA waypoints these are the rows of wp_waypoint's context table.
    """

    waypoint: str
    pe: str
    service: str
    spi: int
    si: int
    vlan: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The physical realisation of a policy: pure data that prints, diffs, verifies, saves."""

    entries: Mapping[str, tuple[TableEntry, ...]]
    paths: tuple[ServicePath, ...] = ()
    bindings: tuple[RuleBinding, ...] = ()
    contexts: tuple[WaypointContext, ...] = ()
    register_writes: tuple[RegisterWrite, ...] = ()
    metric: Metric = Metric.HOPS
    # "<pe>.<block>.<register>[<index>]" of secret register writes whose values a JSON file
    # left out (Plan.from_json of a redacted plan): such a plan cannot configure FPGAs
    redacted: tuple[str, ...] = ()

    def entry_count(self) -> int:
        return sum(len(v) for v in self.entries.values())

    def entries_for(self, switch: str) -> tuple[TableEntry, ...]:
        return self.entries.get(switch, ())

    def path(self, spi: int) -> ServicePath:
        for p in self.paths:
            if p.spi == spi:
                return p
        raise KeyError(spi)

    def spis(self) -> frozenset[int]:
        return frozenset(p.spi for p in self.paths)

    # -- JSON ------------------------------------------------------------------------------------

    def to_json(self, *, secrets: bool = False) -> str:
        """Stable JSON: same plan → same bytes; :meth:`from_json` restores an equal Plan.

        Secret register writes (ChaCha20 keys) are written without their value unless
        ``secrets`` is true: a plan file, a ``--state`` file or a diff then holds no key in
        clear. Such a file still verifies, prints, diffs and seeds ``compile(previous=)``;
        only configuring FPGAs needs the keys, which come from compiling the topology again
        (or from a file written with ``secrets=True``, mode 0600)."""
        obj = {
            "format": PLAN_FORMAT,
            "metric": self.metric.value,
            "entries": {
                sw: [entry_to_json(e) for e in es] for sw, es in sorted(self.entries.items())
            },
            "paths": [path_to_json(p) for p in self.paths],
            "bindings": [binding_to_json(b) for b in self.bindings],
            "contexts": [context_to_json(c) for c in self.contexts],
            "register_writes": [
                {
                    "pe": w.pe,
                    "block": w.block,
                    "register": w.register,
                    "index": w.index,
                    "value": w.value if secrets or not w.secret else None,
                    **({"secret": True} if w.secret else {}),
                }
                for w in self.register_writes
            ],
        }
        return json.dumps(obj, indent=1, sort_keys=True) + "\n"

    @staticmethod
    def from_json(text: str, source: str = "<json>") -> Plan:
        try:
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise PlanError(
                    f"{source}: not a wphw plan: the top level is a {type(obj).__name__}, "
                    "not an object"
                )
            if obj.get("format") != PLAN_FORMAT:
                fmt = obj.get("format")
                why = (
                    " (written for the data plane before the per-pass SI of format 2: "
                    "compile the policy again)"
                    if fmt == 1
                    else ""
                )
                raise PlanFormatError(
                    f"{source}: unsupported plan format {fmt!r}, this wphw reads {PLAN_FORMAT}"
                    + why
                )
            return Plan(
                metric=Metric(obj["metric"]),
                entries={
                    sw: tuple(entry_from_json(e) for e in es) for sw, es in obj["entries"].items()
                },
                paths=tuple(
                    ServicePath(
                        spi=p["spi"],
                        subscriber=p["subscriber"],
                        final=p["final"],
                        switches=tuple(p["switches"]),
                        shared_by=tuple(p.get("shared_by", ())),
                        hops=tuple(Hop(**h) for h in p["hops"]),
                    )
                    for p in obj["paths"]
                ),
                bindings=tuple(
                    RuleBinding(**{**b, "skipped": tuple(b["skipped"])}) for b in obj["bindings"]
                ),
                contexts=tuple(WaypointContext(**c) for c in obj["contexts"]),
                register_writes=tuple(
                    RegisterWrite(**{**w, "value": w["value"] if w["value"] is not None else 0})
                    for w in obj["register_writes"]
                ),
                redacted=tuple(
                    f"{w['pe']}.{w['block']}.{w['register']}[{w['index']}]"
                    for w in obj["register_writes"]
                    if w.get("secret") and w["value"] is None
                ),
            )
        except PlanError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PlanError(f"{source}: not a wphw plan: {exc}") from exc


def path_to_json(p: ServicePath) -> dict[str, Any]:
    """One path as Plan.to_json writes it."""
    return {
        "spi": p.spi,
        "subscriber": p.subscriber,
        "final": p.final,
        "switches": list(p.switches),
        "shared_by": list(p.shared_by),
        "hops": [
            {"service": h.service, "pe": h.pe, "switch": h.switch, "si": h.si} for h in p.hops
        ],
    }


def binding_to_json(b: RuleBinding) -> dict[str, Any]:
    """One rule binding as Plan.to_json writes it."""
    return {
        "rule": b.rule,
        "subscriber": b.subscriber,
        "priority": b.priority,
        "action": b.action,
        "spi": b.spi,
        "paths": b.paths,
        "skipped": list(b.skipped),
    }


def context_to_json(c: WaypointContext) -> dict[str, Any]:
    """One waypoint context as Plan.to_json writes it."""
    return {
        "waypoint": c.waypoint,
        "pe": c.pe,
        "service": c.service,
        "spi": c.spi,
        "si": c.si,
        "vlan": c.vlan,
    }


# -- match encoding ------------------------------------------------------------------------------


def classify_match(match: Match) -> dict[str, MatchValue]:
    """The ``wp_classify`` (and ``wp_fw``) key for a logical match; wildcards are omitted."""
    out: dict[str, MatchValue] = {}
    if match.in_port is not None:
        out[P4.INGRESS_PORT] = Ternary(value=match.in_port, mask=0x1FF)
    for name, net in ((P4.IPV4_SRC, match.src), (P4.IPV4_DST, match.dst)):
        if net is not None and net.prefixlen > 0:
            out[name] = Ternary(value=int(net.network_address), mask=int(net.netmask))
    if match.proto is not None:
        out[P4.IP_PROTO] = Ternary(value=match.proto, mask=0xFF)
    for name, rng in ((P4.L4_SRC_PORT, match.src_port), (P4.L4_DST_PORT, match.dst_port)):
        if rng is not None and rng != (0, 65535):
            out[name] = Range(low=rng[0], high=rng[1])
    return out


def final_classifier_action(final: Final) -> Action:
    if final.kind is FinalKind.FORWARD:
        assert final.port is not None
        return Action.of("forward", port=final.port)
    return Action.of("drop" if final.kind is FinalKind.DROP else "route")


def final_sff_action(final: Final) -> Action:
    if final.kind is FinalKind.FORWARD:
        assert final.port is not None
        return Action.of(P4.SFF_END_FORWARD, port=final.port)
    return Action.of(P4.SFF_DROP if final.kind is FinalKind.DROP else P4.SFF_END_ROUTE)


# -- the compiler --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _GroupKey:
    subscriber: str
    alternatives: tuple[tuple[tuple[str, str], ...], ...]  # per alternative: (service, pe) per hop
    final: str
    owner: str = ""  # rule name when paths are not shared (the naive baseline)
    last_pe_end: bool = False  # chain_end last-pe, and safe for this rule (_LastPeCheck)


@dataclass(slots=True)
class _Builder:
    topology: Topology
    policy: Policy
    metric: Metric
    entries: dict[str, dict[tuple[Any, ...], TableEntry]] = field(default_factory=dict)
    contexts: list[WaypointContext] = field(default_factory=list)
    vlan_next: dict[tuple[str, int], int] = field(default_factory=dict)
    # (PE, service) → its parsed parameters: parsed once, not per switch and SPI it serves
    service_params: dict[tuple[str, str], Any] = field(default_factory=dict)

    def add(self, switch: str, entry: TableEntry, why: str) -> None:
        table = self.entries.setdefault(switch, {})
        key = entry.key()
        old = table.get(key)
        if old is not None and old != entry:
            raise PlanError(
                f"internal conflict on {switch} {entry.table} {dict(entry.match)}: "
                f"{old.action} vs {entry.action} ({why})"
            )
        table[key] = entry

    def vlan_for(self, switch: str, port: int) -> int:
        vlan = self.vlan_next.get((switch, port), 1)
        if vlan > MAX_VLAN:
            raise PolicyError(
                f"legacy waypoint on {switch}:{port}: more than {MAX_VLAN} proxied hops (VLANs)"
            )
        self.vlan_next[(switch, port)] = vlan + 1
        return vlan


def compile(
    policy: Policy,
    topology: Topology,
    *,
    previous: Plan | None = None,
    failed_pes: Iterable[str] = (),
    routes: bool = True,
    share_paths: bool = True,
) -> Plan:
    """Translate ``policy`` on ``topology`` into a Plan.

    ``failed_pes`` are left out of every path; a service with no instance left follows its
    failure mode (``bypass``: skipped, ``block``: the rule drops). ``share_paths=False`` gives
    every rule its own paths (the naive translation, kept as the benchmark baseline).
    Raises PolicyError/TopologyError naming the rule or element at fault; never returns a
    partial plan. Runs with the cyclic GC paused (wphw/_gc.py).
    """
    if not isinstance(policy, Policy) or not isinstance(topology, Topology):
        raise TypeError(
            "compile(policy, topology): got "
            f"{type(policy).__name__} and {type(topology).__name__}"
            + (" (the arguments are swapped)" if isinstance(policy, Topology) else "")
        )
    with gc_paused():
        return _compile(
            policy,
            topology,
            previous=previous,
            failed_pes=failed_pes,
            routes=routes,
            share_paths=share_paths,
        )


def _compile(
    policy: Policy,
    topology: Topology,
    *,
    previous: Plan | None,
    failed_pes: Iterable[str],
    routes: bool,
    share_paths: bool,
) -> Plan:
    failed = frozenset(failed_pes)
    unknown_failed = failed - set(topology.pes)
    if unknown_failed:
        raise TopologyError(f"failed_pes: unknown PE(s) {sorted(unknown_failed)}")
    metric = policy.metric
    b = _Builder(topology=topology, policy=policy, metric=metric)
    _check_policy_against_topology(policy, topology)

    # 1. choose PEs per rule, group rules by identical service-path sets.
    load: dict[str, int] = {}
    cand_cache: dict[tuple[str, str], _Candidates] = {}
    last_pe = _LastPeCheck(topology, policy.by_subscriber())
    groups: dict[_GroupKey, list[Rule]] = {}
    rule_group: dict[str, _GroupKey | None] = {}
    skipped: dict[str, tuple[str, ...]] = {}
    blocked: set[str] = set()
    by_sub = policy.by_subscriber()
    for sub, sub_rules in by_sub.items():
        for rule in sub_rules:
            if not rule.services:
                rule_group[rule.name] = None
                continue
            chosen: list[tuple[str, tuple[str, ...]]] = []
            skip: list[str] = []
            for service in rule.services:
                pes = _choose_instances(
                    policy, topology, rule, service, failed, load, metric, cand_cache
                )
                if not pes:
                    if policy.spec(service).failure.value == "bypass":
                        skip.append(service)
                        continue
                    blocked.add(rule.name)
                    break
                chosen.append((service, pes))
            skipped[rule.name] = tuple(skip)
            if rule.name in blocked or not chosen:
                rule_group[rule.name] = None
                continue
            k = max(len(pes) for _, pes in chosen)
            alternatives = tuple(
                tuple((service, pes[j % len(pes)]) for service, pes in chosen) for j in range(k)
            )
            shared_end = (
                policy.chain_end is ChainEnd.LAST_PE
                and rule.final.kind is not FinalKind.FORWARD
                and last_pe.safe(
                    rule,
                    {
                        topology.waypoints[topology.pes[alt[-1][1]].waypoint].switch
                        for alt in alternatives
                    },
                )
            )
            key = _GroupKey(
                subscriber="*" if shared_end and share_paths else sub,
                alternatives=alternatives,
                final=str(rule.final),
                owner="" if share_paths else rule.name,
                last_pe_end=shared_end,
            )
            if key not in groups:
                for alt in alternatives:
                    for _, pe in alt:
                        load[pe] = load.get(pe, 0) + 1
                for _, pes in chosen:
                    for pe in pes:
                        if load.get(pe, 0) > topology.pes[pe].capacity:
                            raise PolicyError(
                                f"rule {rule.name}: PE {pe} over capacity "
                                f"({load[pe]} > {topology.pes[pe].capacity} contexts)"
                            )
                groups[key] = []
            groups[key].append(rule)
            rule_group[rule.name] = key

    # 2. SPIs: keep the previous plan's SPI for an unchanged group, fresh ones otherwise.
    spi_of = _allocate_spis(list(groups), previous)

    # 3. emit path entries.
    paths: list[ServicePath] = []
    for key in sorted(groups, key=lambda g: spi_of[g]):
        first = groups[key][0]
        subs = tuple(sorted({r.subscriber for r in groups[key]}))
        end_at_last_pe = key.last_pe_end
        for j, alt in enumerate(key.alternatives):
            paths.append(
                _emit_path(b, spi_of[key] + j, subs, alt, first.final, first, end_at_last_pe)
            )

    # 4. classifier entries.
    bindings: list[RuleBinding] = []
    for sub, sub_rules in by_sub.items():
        for rule in sub_rules:
            gk = rule_group[rule.name]
            match = classify_match(rule.match)
            if rule.name in blocked:
                action = Action.of("drop")
                binding = RuleBinding(
                    rule=rule.name, subscriber=sub, priority=rule.priority, action="drop"
                )
            elif gk is None:
                action = final_classifier_action(rule.final)
                binding = RuleBinding(
                    rule=rule.name,
                    subscriber=sub,
                    priority=rule.priority,
                    action=action.name,
                    skipped=skipped.get(rule.name, ()),
                )
            else:
                n = len(gk.alternatives)
                action = Action.of("start_chain", spi=spi_of[gk], paths=n)
                binding = RuleBinding(
                    rule=rule.name,
                    subscriber=sub,
                    priority=rule.priority,
                    action="start_chain",
                    spi=spi_of[gk],
                    paths=n,
                    skipped=skipped.get(rule.name, ()),
                )
            b.add(
                sub,
                TableEntry.of(P4.WP_CLASSIFY, match, action, priority=rule.priority),
                f"rule {rule.name}",
            )
            bindings.append(binding)

    # 5. plain routing to every host.
    if routes:
        _emit_routes(b)

    plan = Plan(
        entries={sw: _ordered(tbl.values()) for sw, tbl in sorted(b.entries.items())},
        paths=tuple(paths),
        bindings=tuple(bindings),
        contexts=tuple(sorted(b.contexts, key=lambda c: (c.waypoint, c.spi, c.si))),
        metric=metric,
    )

    # 6. FPGA waypoints: dispatch rows and PE settings as register writes (wphw/netfpga/plan.py).
    from wphw.netfpga.plan import fpga_register_writes

    return replace(plan, register_writes=fpga_register_writes(plan, topology, policy))


_TABLE_ORDER = {
    name: i
    for i, name in enumerate(
        [
            P4.WP_SFF,
            P4.WP_PROXY_RETURN,
            P4.WP_FW,
            P4.WP_NAT,
            P4.WP_COUNT,
            P4.WP_RATELIMIT,
            P4.WP_CLASSIFY,
            P4.IPV4_LPM,
        ]
    )
}


def _ordered(entries: Iterable[TableEntry]) -> tuple[TableEntry, ...]:
    """Deterministic order: path tables first (they must exist before classifiers use them)."""

    def sort_key(e: TableEntry) -> tuple[Any, ...]:
        match = tuple((k, *(getattr(v, f) for f in v.__slots__)) for k, v in e.match)
        return (_TABLE_ORDER.get(e.table, 99), e.table, -e.priority, match)

    return tuple(sorted(entries, key=sort_key))


def _check_policy_against_topology(policy: Policy, topology: Topology) -> None:
    known = topology.services()
    for rule in policy.rules:
        if rule.subscriber not in topology.switches:
            raise PolicyError(
                f"{policy.source}: rule {rule.name}: unknown subscriber switch {rule.subscriber!r} "
                f"(switches: {', '.join(sorted(topology.switches))})"
            )
        for service in rule.services:
            if service not in known:
                raise PolicyError(
                    f"{policy.source}: rule {rule.name}: no PE offers service {service!r} "
                    f"(offered: {', '.join(sorted(known)) or 'none'})"
                )
        ports = set(topology.ports(rule.subscriber))
        for what, port in (("in_port", rule.match.in_port), ("forward port", rule.final.port)):
            if port is not None and port not in ports:
                raise PolicyError(
                    f"{policy.source}: rule {rule.name}: {what} {port} is not a port of "
                    f"{rule.subscriber} (ports: {sorted(ports)})"
                )
    for name in policy.services:
        if name not in known:
            raise PolicyError(
                f"{policy.source}: service {name!r} is configured but no PE offers it"
            )
    _check_service_params(policy, topology)


def _check_service_params(policy: Policy, topology: Topology) -> None:
    """Parse the parameters of every (PE, service) the policy uses, with the one parser every
    consumer uses (wphw.services.parse): a bad value fails here, naming the PE and the element,
    not later in a running lab or on an FPGA. FPGA PEs without any parameters are left alone
    (the plan writes no registers for them: wphw.netfpga.plan). Key files are not read."""
    used = {s for r in policy.rules for s in r.services}
    for pe in topology.pes.values():
        services = [s for s in pe.services if s in used]
        params = {s: services_params.merged(pe.params, policy.spec(s).params) for s in services}
        if pe.kind is PEKind.FPGA and not any(params.values()):
            continue
        for service in services:
            try:
                services_params.parse(
                    service, params[service], services_params.where(pe.name, service)
                )
            except PolicyError as exc:
                raise type(exc)(f"{topology.source}: {exc}") from None


@dataclass(frozen=True, slots=True)
class _Candidates:
    ordered: tuple[str, ...]  # reachable, not failed, nearest first
    unreachable: tuple[str, ...]


def _choose_instances(
    policy: Policy,
    topology: Topology,
    rule: Rule,
    service: str,
    failed: frozenset[str],
    load: Mapping[str, int],
    metric: Metric,
    cache: dict[tuple[str, str], _Candidates],
) -> tuple[str, ...]:
    """PE instances for one service of one rule: nearest first, alive, reachable, not full."""
    cands = cache.get((rule.subscriber, service))
    if cands is None:
        scored: list[tuple[float, str]] = []
        unreachable: list[str] = []
        for pe in topology.pes_offering(service):
            if pe.name in failed:
                continue
            wp = topology.waypoints[pe.waypoint]
            try:
                route = topology.route(rule.subscriber, wp.switch, metric)
            except TopologyError:
                unreachable.append(f"{pe.name} on {wp.switch}")
                continue
            scored.append((-route.cost if metric is Metric.BANDWIDTH else route.cost, pe.name))
        scored.sort()
        cands = _Candidates(ordered=tuple(n for _, n in scored), unreachable=tuple(unreachable))
        cache[(rule.subscriber, service)] = cands
    limit = policy.spec(service).instances or len(cands.ordered)
    chosen: list[str] = []
    full: list[str] = []
    for name in cands.ordered:
        used = load.get(name, 0)
        cap = topology.pes[name].capacity
        if used >= cap:
            full.append(f"{name} {used}/{cap}")
            continue
        chosen.append(name)
        if len(chosen) == limit:
            break
    if not chosen and (cands.unreachable or full):
        reasons = []
        if cands.unreachable:
            reasons.append(f"unreachable from {rule.subscriber}: {', '.join(cands.unreachable)}")
        if full:
            reasons.append(f"at capacity: {', '.join(full)}")
        raise PolicyError(
            f"rule {rule.name}: no PE can run service {service!r} ({'; '.join(reasons)})"
        )
    return tuple(chosen)


def _allocate_spis(keys: list[_GroupKey], previous: Plan | None) -> dict[_GroupKey, int]:
    prev_used: set[int] = set(previous.spis()) if previous else set()
    prev_groups: dict[tuple[Any, ...], int] = {}
    if previous is not None:
        by_spi = {p.spi: p for p in previous.paths}
        for bnd in previous.bindings:
            if bnd.spi is None:
                continue
            alts = []
            for j in range(bnd.paths):
                p = by_spi.get(bnd.spi + j)
                if p is None:
                    break
                alts.append(tuple((h.service, h.pe) for h in p.hops))
            else:
                first = by_spi[bnd.spi]
                # a chain that ended at its last PE (chain_end last-pe) was a group shared by
                # every subscriber, keyed "*" like _GroupKey (keyed by its first subscriber, no
                # update ever found it again and every update renumbered every shared path)
                ends_away = first.switches[-1] != first.subscriber
                sub = "*" if first.shared_by or ends_away else first.subscriber
                prev_groups[(sub, tuple(alts), first.final)] = bnd.spi
    out: dict[_GroupKey, int] = {}
    taken: set[int] = set()
    fresh: list[_GroupKey] = []
    for key in keys:
        old = (
            prev_groups.get((key.subscriber, key.alternatives, key.final))
            if not key.owner
            else None
        )
        if old is not None and not any(old + j in taken for j in range(len(key.alternatives))):
            out[key] = old
            taken.update(range(old, old + len(key.alternatives)))
        else:
            fresh.append(key)
    nxt = 1
    for key in fresh:
        n = len(key.alternatives)
        while any(s in prev_used or s in taken for s in range(nxt, nxt + n)):
            nxt += 1
        if nxt + n - 1 > MAX_SPI:
            raise PlanError("out of service path identifiers (24-bit SPI space exhausted)")
        out[key] = nxt
        taken.update(range(nxt, nxt + n))
        nxt += n
    return out


def _emit_path(
    b: _Builder,
    spi: int,
    subscribers: tuple[str, ...],
    alternative: tuple[tuple[str, str], ...],
    final: Final,
    rule: Rule,
    end_at_last_pe: bool,
) -> ServicePath:
    """The entries of one service path (docs/dataplane.md "Service paths").

    Every chain table of a pass through a switch's pipeline matches (SPI, the SI the packet
    entered the pass with): the in-switch services of the pass and the ``wp_sff`` entry that
    ends it, whose ``sff_forward``/``sff_recirculate`` sets the SI the packet leaves with (the
    entry SI less one per in-switch service of the pass). ``pass_si`` is that entry SI at
    ``cur``; ``si`` the SI after the hops so far."""
    topo = b.topology
    si = SI_INIT
    pass_si = SI_INIT  # classify (or another subscriber's) starts the first pass with SI 255
    subscriber = subscribers[0]
    cur = subscriber
    walk = [subscriber]
    ttl_used = 0
    hops: list[Hop] = []

    def forward(sw: str, key_si: int, port: int, why: str) -> None:
        b.add(
            sw,
            TableEntry.of(
                P4.WP_SFF, _spi_si(spi, key_si), Action.of(P4.SFF_FORWARD, port=port, si=si)
            ),
            why,
        )

    def travel(target: str, *, back: bool = False) -> None:
        nonlocal cur, ttl_used, pass_si
        # towards a PE: along the PE switch's tree; back to the subscriber: the reverse of
        # the subscriber's way to the last PE (so only PE switches root trees)
        route = (
            topo.route_from(cur, target, b.metric) if back else topo.route(cur, target, b.metric)
        )
        for i, (sw, port) in enumerate(zip(route.switches, route.ports, strict=False)):
            forward(sw, pass_si if i == 0 else si, port, f"spi {spi} transit")
        if route.ports:
            pass_si = si
        ttl_used += len(route.ports)
        walk.extend(route.switches[1:])
        cur = target

    for i, (service, pe_name) in enumerate(alternative):
        pe = topo.pes[pe_name]
        wp = topo.waypoints[pe.waypoint]
        if i == 0:
            for other in subscribers[1:]:  # a shared path: every subscriber's way in
                for sw, port in zip(*_legs(topo.route(other, wp.switch, b.metric)), strict=False):
                    forward(sw, si, port, f"spi {spi} transit from {other}")
        travel(wp.switch)
        hops.append(Hop(service=service, pe=pe_name, switch=wp.switch, si=si))
        if pe.kind is PEKind.IN_SWITCH:
            _emit_in_switch(b, wp.switch, spi, pass_si, service, pe_name, rule)
            nxt = alternative[i + 1] if i + 1 < len(alternative) else None
            if nxt is not None:
                npe = topo.pes[nxt[1]]
                same_switch = topo.waypoints[npe.waypoint].switch == wp.switch
                if (
                    same_switch
                    and npe.kind is PEKind.IN_SWITCH
                    and IN_SWITCH_SERVICES.index(nxt[0]) <= IN_SWITCH_SERVICES.index(service)
                ):
                    b.add(
                        wp.switch,
                        TableEntry.of(
                            P4.WP_SFF,
                            _spi_si(spi, pass_si),
                            Action.of(P4.SFF_RECIRCULATE, si=si - 1),
                        ),
                        f"spi {spi} recirculate",
                    )
                    pass_si = si - 1
        else:
            assert wp.port is not None
            if pe.kind is PEKind.LEGACY:
                vlan = b.vlan_for(wp.switch, wp.port)
                b.add(
                    wp.switch,
                    TableEntry.of(
                        P4.WP_SFF,
                        _spi_si(spi, pass_si),
                        Action.of(P4.SFF_PROXY, port=wp.port, vlan=vlan),
                    ),
                    f"spi {spi} proxy to {pe_name}",
                )
                b.add(
                    wp.switch,
                    TableEntry.of(
                        P4.WP_PROXY_RETURN,
                        {P4.INGRESS_PORT: Exact(value=wp.port), P4.VLAN_ID: Exact(value=vlan)},
                        Action.of(P4.PROXY_RESTORE, spi=spi, si=si - 1),
                    ),
                    f"spi {spi} proxy return from {pe_name}",
                )
                b.contexts.append(
                    WaypointContext(
                        waypoint=wp.name, pe=pe_name, service=service, spi=spi, si=si, vlan=vlan
                    )
                )
            else:
                forward(wp.switch, pass_si, wp.port, f"spi {spi} to {pe_name}")
                b.contexts.append(
                    WaypointContext(waypoint=wp.name, pe=pe_name, service=service, spi=spi, si=si)
                )
            pass_si = si - 1  # back from the PE (or its proxy): a new pass
            ttl_used += 1
        si -= 1
        if si < 1:
            raise PolicyError(f"rule {rule.name}: more than {SI_INIT - 1} services in one chain")
    if not end_at_last_pe:
        travel(subscriber, back=True)
    b.add(
        cur,
        TableEntry.of(P4.WP_SFF, _spi_si(spi, pass_si), final_sff_action(final)),
        f"spi {spi} end",
    )
    if ttl_used >= NSH_TTL_INIT:
        raise PolicyError(
            f"rule {rule.name}: service path {spi} needs {ttl_used} NSH hops, more than the "
            f"NSH TTL of {NSH_TTL_INIT} allows (place PEs nearer to {subscriber})"
        )
    return ServicePath(
        spi=spi,
        subscriber=subscriber,
        hops=tuple(hops),
        final=str(final),
        switches=tuple(walk),
        shared_by=subscribers if len(subscribers) > 1 else (),
    )


class _LastPeCheck:
    """Whether chain_end last-pe may end a rule's chain at its last PE's switch.

    Ending there and routing from there is only right when the route from there to every host
    the rule's traffic may go to keeps away from the subscriber: otherwise the subscriber sees
    the finished packet again, classifies it again and starts the chain again — a loop
    (issue 11: 381 frames on a lab, nothing delivered). The same holds for any other
    subscriber on the way with a service rule that may match the same packets (its chain could
    end there and route back). Unsafe rules end their chain back at the subscriber, as with
    chain_end subscriber. Routing is what ``_emit_routes`` installs: per switch, the next hop of
    a shortest path (hops) to the host's switch. Hosts, next hops and each switch's service
    matches are computed once per compile."""

    def __init__(self, topology: Topology, by_sub: Mapping[str, tuple[Rule, ...]]) -> None:
        self.topology = topology
        self.by_sub = by_sub
        hosts = sorted(topology.hosts.values(), key=lambda h: int(h.ip.ip))
        self.host_ips = [int(h.ip.ip) for h in hosts]
        self.hosts = hosts
        self.next_hop: dict[tuple[str, str], str | None] = {}
        self.svc_matches: dict[str, list[Match]] = {}

    def _hosts_in(self, net: Any) -> list[Any]:
        if net is None:
            return self.hosts
        lo, hi = int(net.network_address), int(net.broadcast_address)
        i = bisect.bisect_left(self.host_ips, lo)
        j = bisect.bisect_right(self.host_ips, hi)
        return self.hosts[i:j]

    def _matches_of(self, switch: str) -> list[Match]:
        got = self.svc_matches.get(switch)
        if got is None:
            got = [
                replace(r.match, in_port=None) for r in self.by_sub.get(switch, ()) if r.services
            ]
            self.svc_matches[switch] = got
        return got

    def _hop(self, cur: str, target: str) -> str | None:
        key = (cur, target)
        if key not in self.next_hop:
            try:
                port = self.topology.route(cur, target, Metric.HOPS).ports[0]
                peer = self.topology.peer(cur, port)
                self.next_hop[key] = peer.switch if peer is not None else None
            except TopologyError:
                self.next_hop[key] = None
        return self.next_hop[key]

    def safe(self, rule: Rule, last_switches: set[str]) -> bool:
        sub = rule.subscriber
        anywhere = replace(rule.match, in_port=None)

        def may_reclassify(switch: str) -> bool:
            return switch == sub or any(m.overlaps(anywhere) for m in self._matches_of(switch))

        limit = len(self.topology.switches)
        for host in self._hosts_in(rule.match.dst):
            for w in last_switches:
                if w == sub:
                    continue
                cur: str | None = w
                steps = 0
                while cur is not None and cur != host.switch:
                    if cur != w and may_reclassify(cur):
                        return False
                    cur = self._hop(cur, host.switch)
                    steps += 1
                    if steps > limit:
                        return False
                if cur is not None and cur != w and may_reclassify(cur):
                    return False
        return True


def _legs(route: Any) -> tuple[tuple[str, ...], tuple[int, ...]]:
    return route.switches[:-1], route.ports


def _spi_si(spi: int, si: int) -> dict[str, MatchValue]:
    return {"spi": Exact(value=spi), "si": Exact(value=si)}


_P = TypeVar("_P")


def _params(b: _Builder, service: str, pe: str, kind: type[_P]) -> _P:
    parsed = b.service_params.get((pe, service))
    if parsed is None:
        params = services_params.merged(b.topology.pes[pe].params, b.policy.spec(service).params)
        where = services_params.where(pe, service)
        parsed = b.service_params[(pe, service)] = services_params.parse_as(
            kind, service, params, where
        )
    assert isinstance(parsed, kind)
    return parsed


def _emit_in_switch(
    b: _Builder, switch: str, spi: int, si: int, service: str, pe: str, rule: Rule
) -> None:
    if service not in IN_SWITCH_TABLE:
        raise PolicyError(
            f"rule {rule.name}: PE {pe} is in-switch but {service!r} is not an in-switch service "
            f"(in-switch services: {', '.join(IN_SWITCH_SERVICES)})"
        )
    table = IN_SWITCH_TABLE[service]
    key = _spi_si(spi, si)
    why = f"spi {spi} {service} on {switch}"
    if service == "fw":
        fw = _params(b, service, pe, services_params.FwParams)
        n = len(fw.rules)
        for i, (fw_rule, m) in enumerate(zip(fw.rules, fw.matches, strict=True)):
            b.add(
                switch,
                TableEntry.of(
                    table,
                    key | classify_match(m),
                    Action.of(P4.FW_PERMIT if fw_rule.permit else P4.FW_DENY),
                    priority=n - i + 1,
                ),
                why,
            )
        default = P4.FW_PERMIT if fw.default_permit else P4.FW_DENY
        b.add(switch, TableEntry.of(table, key, Action.of(default), priority=1), why)
    elif service == "nat":
        pairs = _params(b, service, pe, services_params.NatParams).mappings
        n = 2 * len(pairs)
        full = 0xFFFFFFFF
        for i, pair in enumerate(pairs):
            inside, outside = int(pair.inside), int(pair.outside)
            b.add(
                switch,
                TableEntry.of(
                    table,
                    key | {P4.IPV4_SRC: Ternary(value=inside, mask=full)},
                    Action.of(P4.NAT_SNAT, addr=outside),
                    priority=n - 2 * i + 1,
                ),
                why,
            )
            b.add(
                switch,
                TableEntry.of(
                    table,
                    key | {P4.IPV4_DST: Ternary(value=outside, mask=full)},
                    Action.of(P4.NAT_DNAT, addr=inside),
                    priority=n - 2 * i,
                ),
                why,
            )
        b.add(switch, TableEntry.of(table, key, Action.of(P4.NAT_PASS), priority=1), why)
    elif service == "count":
        b.add(switch, TableEntry.of(table, key, Action.of(P4.COUNT_HIT)), why)
    else:
        rl = _params(b, service, pe, services_params.RateLimitParams)
        rate, burst = rl.rate_bytes_per_s, rl.burst_bytes
        b.add(
            switch,
            TableEntry.of(
                table, key, Action.of(P4.RATELIMIT_CHECK), meter=(rate, burst, rate, burst)
            ),
            why,
        )


def _emit_routes(b: _Builder) -> None:
    topo = b.topology
    for host in sorted(topo.hosts.values(), key=lambda h: h.name):
        dst = {P4.IPV4_DST: LPM(value=int(host.ip.ip), prefix_len=32)}
        mac = int(host.mac.replace(":", ""), 16)
        for sw in sorted(topo.switches):
            if sw == host.switch:
                port = host.port
            else:
                try:
                    port = topo.route(sw, host.switch, Metric.HOPS).ports[0]
                except TopologyError:
                    continue
            b.add(
                sw,
                TableEntry.of(P4.IPV4_LPM, dst, Action.of(P4.IPV4_FORWARD, dst_mac=mac, port=port)),
                f"route to {host.name}",
            )
