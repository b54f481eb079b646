"""Exact verification: every packet, on every port of every switch, through the plan's entries.

The header space the data plane looks at — ingress port, IPv4 source and destination, IP
protocol, L4 source and destination port — is split into equivalence classes while packets are
walked through the plan (header-space analysis with intervals): a *piece* is a box of original
headers (one interval per field) plus the state a walk gives it (fields rewritten to constants
by NAT or encryption, NSH SPI/SI/TTL, a proxy VLAN, the destination MAC set by routing). At
every table the piece is split among the entries in priority order, so every packet of a piece
meets exactly the same entries and every piece's walk is the walk of each of its packets. Every
class of every switch's ingress ports (host, fabric and waypoint ports) is walked through the
classifier, proxy returns, in-switch services, ``wp_sff``, links, waypoint dispatch (the plan's
contexts, which are the FPGA waypoints' dispatch rows), proxy legs, recirculation and
``ipv4_lpm`` routing, until it is delivered to a host, dropped or found looping. Every
load-balancing alternative (``start_chain``'s ``paths``) is walked.

The expected behaviour comes from the policy and the topology alone (plus the set of failed
PEs given to :func:`verify`), never from the plan's bookkeeping:

* where a packet without NSH enters a switch, the switch's policy rules decide (first rule by
  priority; none: plain routing). The packet must traverse that rule's services in order
  (services whose every PE failed are skipped for ``failure: bypass``; one with ``block`` makes
  the rule drop), through PEs that offer the service and have not failed, and then meet the
  rule's final action at the subscriber (``forward(p)``: out of port p; ``drop``; ``route``:
  routing at the subscriber, or at any switch with ``chain_end: last-pe``);
* routing follows shortest paths (hops) to the host that owns the destination, and delivers
  with that host's MAC; a destination no host owns is dropped; a packet never leaves with NSH;
* in-switch fw and nat entries decide as the PE's parameters say; PE services act on headers
  as their reference models do (nat rewrites, fw permits or denies, encrypt/decrypt change the
  protocol and hide/restore the ports; ids, http_proxy, count and ratelimit pass headers
  unchanged — payload-dependent drops are not modelled);
* no packet loops: a walk that comes back to a switch port in a state it had is a loop.

The plan's bindings, paths, skipped and blocked lists are checked against the same walks and
the policy. Every violation carries a counterexample: a concrete packet (ingress switch, port
and 5-tuple), the rule, what was expected and the hop trace that happened.

Coverage without repetition: a walk that leaves a switch by plain routing towards the
destination (one hop closer, destination unchanged, nothing hidden by encryption) stops there,
because every packet entering the next switch's port is walked from that port anyway; any other
crossing (policy ``forward`` to a fabric port, a chain that ended elsewhere, a rewritten
destination, an encrypted packet) is followed to its end, so every loop shows up as a repeated
state.
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, TypeVar

import wphw.p4names as P4
from wphw._gc import gc_paused
from wphw.entries import LPM, Exact, MatchValue, Range, TableEntry, Ternary
from wphw.errors import PolicyError, TopologyError, VerificationError
from wphw.plan import IN_SWITCH_SERVICES, IN_SWITCH_TABLE, NSH_TTL_INIT, SI_INIT, Plan
from wphw.policy import ChainEnd, FailureMode, FinalKind, Match, Policy, Rule
from wphw.topology import Host, PEKind, Topology

# Fields of the header space, in cube order.
F_IN, F_SRC, F_DST, F_PROTO, F_SPORT, F_DPORT = range(6)
FIELD_NAMES = (
    P4.INGRESS_PORT,
    P4.IPV4_SRC,
    P4.IPV4_DST,
    P4.IP_PROTO,
    P4.L4_SRC_PORT,
    P4.L4_DST_PORT,
)
WIDTHS = (9, 32, 32, 8, 16, 16)
_FIELD = {n: i for i, n in enumerate(FIELD_NAMES)}
PROTO_TCP, PROTO_UDP, PROTO_WPESP = 6, 17, 253
MAX_RECIRCULATIONS = 8
MAX_STEPS = 4 * NSH_TTL_INIT + 64  # a walk longer than this is a loop, whatever the TTLs say
MAX_TERNARY_INTERVALS = 4096  # a non-prefix ternary mask splits into this many intervals at most

_T = TypeVar("_T")
Interval = tuple[int, int]
_ANY_PORTS = ((0, 0xFFFF), (0, 0xFFFF))
Cube = tuple[Interval, ...]
View = tuple[int | None, ...]  # per field: None = the original value, else a constant
Pred = tuple[tuple[int, tuple[Interval, ...]], ...]  # (field, allowed intervals) per field


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Counterexample:
    """One concrete packet showing a violation."""

    switch: str
    in_port: int
    src: str
    dst: str
    proto: int
    sport: int
    dport: int

    def __str__(self) -> str:
        return (
            f"{self.switch} port {self.in_port}: {self.src}:{self.sport} > "
            f"{self.dst}:{self.dport} proto {self.proto}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "switch": self.switch,
            "in_port": self.in_port,
            "src": self.src,
            "dst": self.dst,
            "proto": self.proto,
            "src_port": self.sport,
            "dst_port": self.dport,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """What went wrong, for which packet, what was expected and what happened."""

    kind: str  # services | final | steered | delivery | routing | loop | nsh | bookkeeping | pe
    message: str
    rule: str | None = None
    packet: Counterexample | None = None
    expected: str = ""
    actual: str = ""
    trace: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = self.message
        if self.packet is not None:
            text += f" [packet {self.packet}]"
        if self.trace:
            text += f" [trace {' | '.join(self.trace)}]"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "rule": self.rule,
            "packet": self.packet.to_json() if self.packet else None,
            "expected": self.expected,
            "actual": self.actual,
            "trace": list(self.trace),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """Where a walk ended: ``kind`` is deliver | forward | route | drop | loop | handed."""

    kind: str
    switch: str
    port: int | None = None
    reason: str = ""
    nsh: bool = False

    def __str__(self) -> str:
        where = f" at {self.switch}"
        if self.kind == "deliver":
            return f"delivered to {self.reason}{where} port {self.port}"
        if self.kind == "forward":
            return f"forward({self.port}){where}" + (" with NSH still on" if self.nsh else "")
        if self.kind == "handed":
            return f"routed on{where} port {self.port}"
        if self.kind == "route":
            return f"route{where}"
        return f"{self.kind}{where} ({self.reason})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Walk:
    """One class of packets that a policy rule matched, walked to its end."""

    rule: str
    spi: int | None
    services: tuple[str, ...]
    switches: tuple[str, ...]
    outcome: Outcome


@dataclass(slots=True)
class Report:
    walks: list[Walk] = field(default_factory=list)
    counterexamples: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rules_checked: int = 0
    classes: int = 0  # packet classes walked to an end (or handed to the next switch)
    switches_checked: int = 0
    ports_checked: int = 0
    failed_pes: tuple[str, ...] = ()
    # switch -> start switch -> the classes (original headers) of the walks from that start
    # that were followed to this switch and classified there (verify_change re-walks exactly
    # these when the switch's classifier entries or rules change)
    through: dict[str, dict[str, set[tuple[Cube, View]]]] = field(default_factory=dict)
    # (what, where, key…) of every lookup keyed by SPI/SI or VLAN — ("tbl", switch, spi, si),
    # ("proxy", switch, port, vlan), ("ctx", waypoint, spi, si), ("vctx", waypoint, vlan) —
    # -> start switch -> the classes that made it (verify_change re-walks these when that
    # entry changes)
    lookups: dict[tuple[Any, ...], dict[str, set[tuple[Cube, View]]]] = field(default_factory=dict)
    _seen: dict[tuple[str, ...], int] = field(default_factory=dict)
    # the verifier's per-switch tables and distances, for verify_change to reuse
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def violations(self) -> list[str]:
        return [str(v) for v in self.counterexamples]

    @property
    def ok(self) -> bool:
        return not self.counterexamples

    def add(self, v: Violation, key: tuple[str, ...]) -> None:
        """Record ``v`` unless a violation with the same ``key`` was recorded already (the
        same fault seen by many packet classes is reported once, with its first packet)."""
        if key in self._seen:
            self._seen[key] += 1
            return
        self._seen[key] = 1
        self.counterexamples.append(v)

    def raise_for_violations(self) -> None:
        if self.counterexamples:
            raise VerificationError(
                f"plan violates its policy in {len(self.counterexamples)} place(s):",
                self.violations,
            )

    def summary(self) -> str:
        state = "OK" if self.ok else f"{len(self.counterexamples)} VIOLATION(S)"
        return (
            f"verify: {state}: {self.rules_checked} rules, {self.classes} packet classes from "
            f"{self.ports_checked} ports of {self.switches_checked} switches, "
            f"{len(self.walks)} rule walks, {len(self.warnings)} warning(s)"
        )

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "ok": self.ok,
                    "rules": self.rules_checked,
                    "classes": self.classes,
                    "switches": self.switches_checked,
                    "ports": self.ports_checked,
                    "failed_pes": list(self.failed_pes),
                    "violations": [v.to_json() for v in self.counterexamples],
                    "warnings": self.warnings,
                },
                indent=1,
            )
            + "\n"
        )


# -- predicates over the header space ------------------------------------------------------------


def _ternary_intervals(value: int, mask: int, width: int, where: str) -> tuple[Interval, ...]:
    full = (1 << width) - 1
    mask &= full
    value &= mask
    if mask == 0:
        return ((0, full),)
    low_zero = (~mask & full) & (((mask & -mask) - 1) & full)  # zero bits below the lowest 1
    holes = (~mask & full) & ~low_zero
    n = 1 << bin(holes).count("1")
    if n > MAX_TERNARY_INTERVALS:
        raise VerificationError(
            f"{where}: ternary mask {mask:#x} is not a prefix and splits into {n} intervals;"
            " verify handles prefix-like masks only",
            [],
        )
    bits = [b for b in range(width) if holes >> b & 1]
    out = []
    for i in range(n):
        v = value
        for j, b in enumerate(bits):
            if i >> j & 1:
                v |= 1 << b
        out.append((v, v | low_zero))
    return tuple(sorted(out))


def _value_intervals(name: str, value: MatchValue, where: str) -> tuple[Interval, ...]:
    width = WIDTHS[_FIELD[name]]
    if isinstance(value, Exact):
        return ((value.value, value.value),)
    if isinstance(value, Ternary):
        return _ternary_intervals(value.value, value.mask, width, where)
    if isinstance(value, Range):
        return ((value.low, value.high),) if value.low <= value.high else ()
    if isinstance(value, LPM):
        shift = width - value.prefix_len
        lo = (value.value >> shift) << shift if shift < width else 0
        return ((lo, lo | ((1 << shift) - 1)),)
    raise VerificationError(f"{where}: unsupported match kind {type(value).__name__}", [])


def entry_pred(entry: TableEntry, where: str) -> Pred:
    """The entry's match on header fields (spi/si/vlan are looked up exactly elsewhere)."""
    out = []
    for name, value in entry.match:
        if name in _FIELD:
            out.append((_FIELD[name], _value_intervals(name, value, where)))
    return _ordered(out)


# Fields split first leave the largest parts outside the predicate whole: the destination
# first (routing splits by it anyway), the protocol and ports last.
_SPLIT_ORDER = {F_DST: 0, F_SRC: 1, F_IN: 2, F_PROTO: 3, F_DPORT: 4, F_SPORT: 5}


def _ordered(pred: list[tuple[int, tuple[Interval, ...]]]) -> Pred:
    return tuple(sorted(pred, key=lambda fi: _SPLIT_ORDER[fi[0]]))


def match_pred(m: Match) -> Pred:
    """A policy (or fw rule) match as a predicate, in the data plane's view: ports of TCP and
    UDP only (Match rejects port conditions for other protocols)."""
    out: list[tuple[int, tuple[Interval, ...]]] = []
    if m.in_port is not None:
        out.append((F_IN, ((m.in_port, m.in_port),)))
    for f, net in ((F_SRC, m.src), (F_DST, m.dst)):
        if net is not None and net.prefixlen > 0:
            lo = int(net.network_address)
            out.append((f, ((lo, int(net.broadcast_address)),)))
    if m.proto is not None:
        out.append((F_PROTO, ((m.proto, m.proto),)))
    for f, rng in ((F_SPORT, m.src_port), (F_DPORT, m.dst_port)):
        if rng is not None:
            out.append((f, (rng,)))
    return _ordered(out)


def split(cube: Cube, view: View, pred: Pred) -> tuple[list[Cube], list[Cube]]:
    """``cube`` (original headers, with ``view``'s constants applied) split into the disjoint
    parts that satisfy ``pred`` and those that do not."""
    for f, ivs in pred:
        c = view[f]
        if c is not None:
            if not any(lo <= c <= hi for lo, hi in ivs):
                return [], [cube]
        else:
            clo, chi = cube[f]
            if not any(lo <= chi and clo <= hi for lo, hi in ivs):
                return [], [cube]
    if (
        view[F_PROTO] is None
        and any(f in (F_SPORT, F_DPORT) and (view[f] is None) for f, _ in pred)
        and cube[F_PROTO][0] != cube[F_PROTO][1]
        and any(cube[F_PROTO][0] <= l4 <= cube[F_PROTO][1] for l4 in (PROTO_TCP, PROTO_UDP))
    ):
        # ports exist for TCP and UDP only: split the protocol before looking at them
        ins_all: list[Cube] = []
        outs_all: list[Cube] = []
        for part in _l4_parts(cube):
            i, o = split(part, view, pred)
            ins_all.extend(i)
            outs_all.extend(o)
        return ins_all, outs_all
    cur = [cube]
    outs: list[Cube] = []
    for f, ivs in pred:
        if view[f] is not None:
            continue
        new: list[Cube] = []
        for cb in cur:
            lo, hi = cb[f]
            pos = lo
            for a, b in ivs:
                if b < lo or a > hi:
                    continue
                a2, b2 = max(a, lo), min(b, hi)
                if a2 > pos:
                    outs.append((*cb[:f], (pos, a2 - 1), *cb[f + 1 :]))
                new.append((*cb[:f], (a2, b2), *cb[f + 1 :]))
                pos = b2 + 1
            if pos <= hi:
                outs.append((*cb[:f], (pos, hi), *cb[f + 1 :]))
        cur = new
        if not cur:
            break
    return cur, outs


def first_match(
    cube: Cube, view: View, table: Iterable[tuple[Pred, _T]], miss: _T
) -> Iterator[tuple[Cube, _T]]:
    """A priority-ordered lookup: ``cube`` split into the parts each ``(predicate, value)``
    of ``table`` takes first, each with its value, and what nothing takes with ``miss``."""
    pieces = [cube]
    for pred, value in table:
        nxt: list[Cube] = []
        for cb in pieces:
            ins, outs = split(cb, view, pred)
            for c in ins:
                yield c, value
            nxt.extend(outs)
        pieces = nxt
        if not pieces:
            return
    for cb in pieces:
        yield cb, miss


def _l4_parts(cube: Cube) -> list[Cube]:
    """``cube`` split by protocol into TCP, UDP (ports as they are) and the rest, whose ports
    the data plane reads as 0 (a cube whose protocols are all non-L4 has ports (0, 0))."""
    lo, hi = cube[F_PROTO]
    out: list[Cube] = []
    zero = ((0, 0), (0, 0))
    pos = lo
    for l4 in (PROTO_TCP, PROTO_UDP):
        if not lo <= l4 <= hi:
            continue
        if pos < l4:
            out.append((*cube[:F_PROTO], (pos, l4 - 1), *zero))
        out.append((*cube[:F_PROTO], (l4, l4), *cube[F_SPORT:]))
        pos = l4 + 1
    if pos <= hi:
        out.append((*cube[:F_PROTO], (pos, hi), *zero))
    return out


# -- walk state ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Seg:
    """The stretch of a walk since the packet was last classified (at ``switch``)."""

    switch: str
    rule: Rule | None
    action: str  # the classifier action that took it
    services: tuple[str, ...] = ()
    dst_view: int | None = None  # the destination's view when classified
    chained: bool = False


class _Piece(NamedTuple):
    cube: Cube
    view: View
    start: str
    seg: _Seg | None = None
    spi: int | None = None
    si: int = 0
    ttl: int = 0
    vlan: int | None = None
    enc: tuple[tuple[int | None, int | None, int | None], ...] = ()
    mac: int | None = None
    routed: bool = False  # the last decision that moved it was ipv4_lpm
    follow: bool = False
    trace: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    first_rule: str | None = None
    first_spi: int | None = None
    switches: tuple[str, ...] = ()
    seen: frozenset[tuple[Any, ...]] = frozenset()


def _val(v: MatchValue) -> int:
    if not isinstance(v, Exact):
        raise VerificationError(f"expected an exact match, got {v}", [])
    return v.value


@dataclass(frozen=True, slots=True)
class _LpmSeg:
    lo: int
    hi: int
    entry: TableEntry | None
    host: Host | None
    port: int | None  # None: the packet is dropped (miss or ipv4_drop)
    mac: int | None
    hop_ok: bool  # the port is on a shortest path to the host (or is the host's port)
    mac_ok: bool


# A switch's index depends only on its entries (and the topology's hosts and links, for the
# routing checks it caches): an entries tuple that survives from one plan to the next (the
# incremental compile keeps every unchanged switch's) is indexed once, not per verification.
_SWITCH_CACHE: OrderedDict[tuple[int, str, int], tuple[Any, Any, _Switch]] = OrderedDict()
_SWITCH_CACHE_SIZE = 4096
_SWITCH_LOCK = threading.Lock()


class _Switch:
    """One switch's entries, indexed the way the pipeline looks them up."""

    def __init__(self, name: str, entries: Sequence[TableEntry]) -> None:
        self.name = name
        classify = [e for e in entries if e.table == P4.WP_CLASSIFY]
        classify.sort(key=lambda e: -e.priority)
        self.classify = [(entry_pred(e, f"{name} wp_classify"), e) for e in classify]
        self.sff: dict[tuple[int, int], TableEntry] = {}
        self.proxy: dict[tuple[int, int], TableEntry] = {}
        self.services: dict[str, dict[tuple[int, int], list[tuple[Pred, TableEntry]]]] = {
            t: {} for t in IN_SWITCH_TABLE.values()
        }
        lpm: list[TableEntry] = []
        for e in entries:
            m = e.match_dict()
            if e.table == P4.WP_SFF:
                self.sff[(_val(m["spi"]), _val(m["si"]))] = e
            elif e.table == P4.WP_PROXY_RETURN:
                self.proxy[(_val(m[P4.INGRESS_PORT]), _val(m[P4.VLAN_ID]))] = e
            elif e.table in self.services:
                key = (_val(m["spi"]), _val(m["si"]))
                self.services[e.table].setdefault(key, []).append(
                    (entry_pred(e, f"{name} {e.table}"), e)
                )
            elif e.table == P4.IPV4_LPM:
                lpm.append(e)
        for by_key in self.services.values():
            for lst in by_key.values():
                lst.sort(key=lambda pe: -pe[1].priority)
        self._lpm_entries = lpm
        self.lpm_starts: list[int] = []
        self.lpm_segs: list[tuple[int, int, TableEntry | None]] = []
        self.lpm_info: list[_LpmSeg | None] | None = None

    def build_lpm(self, host_ips: Iterable[int]) -> None:
        """Elementary dst intervals, each with its longest-prefix winner (None: miss); host
        addresses are cut out as their own intervals so each interval is one host or none."""
        ivs: list[tuple[int, int, int, TableEntry]] = []
        for e in self._lpm_entries:
            (_, v), *_ = e.match
            assert isinstance(v, LPM)
            ((lo, hi),) = _value_intervals(P4.IPV4_DST, v, f"{self.name} ipv4_lpm")
            ivs.append((lo, hi, v.prefix_len, e))
        cuts = {0, 1 << 32}
        for lo, hi, _, _ in ivs:
            cuts.update((lo, hi + 1))
        for ip in host_ips:
            cuts.update((ip, ip + 1))
        points = sorted(cuts)
        # winner per elementary interval: longest prefix covering it
        by_len = sorted(ivs, key=lambda t: t[2])
        starts = points[:-1]
        winner: list[TableEntry | None] = [None] * len(starts)
        for lo, hi, _, e in by_len:  # longer prefixes later: they overwrite
            i = bisect.bisect_left(starts, lo)
            while i < len(starts) and starts[i] <= hi:
                winner[i] = e
                i += 1
        segs: list[tuple[int, int, TableEntry | None]] = []
        for i, s in enumerate(starts):
            segs.append((s, points[i + 1] - 1, winner[i]))
        self.lpm_segs = segs
        self.lpm_starts = [s for s, _, _ in segs]

    def lpm_indices(self, lo: int, hi: int) -> range:
        """Indices of the elementary intervals that [lo, hi] touches."""
        i = bisect.bisect_right(self.lpm_starts, lo) - 1
        j = bisect.bisect_right(self.lpm_starts, hi)
        return range(i, j)


def _ip(v: int) -> str:
    return str(ipaddress.IPv4Address(v))


# -- the verifier --------------------------------------------------------------------------------


class _Verifier:
    def __init__(
        self,
        plan: Plan,
        policy: Policy,
        topology: Topology,
        failed: frozenset[str],
        hosts_by_ip: dict[int, Host] | None = None,
    ) -> None:
        self.plan = plan
        self.policy = policy
        self.topo = topology
        self.failed = failed
        self.report = Report(failed_pes=tuple(sorted(failed)))
        self._switches: dict[str, _Switch] = {}  # built on first use (verify_change walks few)
        self.hosts_by_ip: dict[int, Host] = hosts_by_ip if hosts_by_ip is not None else {}
        if hosts_by_ip is None:
            for h in topology.hosts.values():
                self.hosts_by_ip[int(h.ip.ip)] = h
        self.nsh_ctx: dict[tuple[str, int, int], tuple[str, str]] = {}
        self.vlan_ctx: dict[tuple[str, int], tuple[str, str]] = {}
        for c in plan.contexts:
            if c.vlan is None:
                self.nsh_ctx[(c.waypoint, c.spi, c.si)] = (c.pe, c.service)
            else:
                self.vlan_ctx[(c.waypoint, c.vlan)] = (c.pe, c.service)
        self.rules = policy.by_subscriber()
        self._rule_preds: dict[str, list[tuple[Pred, Rule]]] = {}  # per switch, on first use
        self.rules_seen: set[str] = set()
        self.dist_cache: dict[str, dict[str, int]] = {}
        self.expected_cache: dict[str, tuple[tuple[str, ...], bool]] = {}
        self.fw_cache: dict[str, tuple[list[tuple[Pred, bool]], bool]] = {}
        self.nat_cache: dict[str, list[tuple[int, int]]] = {}
        self.steps = 0

    def switch(self, sw: str) -> _Switch:
        t = self._switches.get(sw)
        if t is None:
            entries = self.plan.entries_for(sw)
            key = (id(self.topo), sw, id(entries))
            with _SWITCH_LOCK:
                hit = _SWITCH_CACHE.get(key)
                if hit is not None and hit[0] is self.topo and hit[1] is entries:
                    _SWITCH_CACHE.move_to_end(key)
                    t = hit[2]
            if t is None:
                t = _Switch(sw, entries)
                t.build_lpm(self.hosts_by_ip)
                with _SWITCH_LOCK:
                    _SWITCH_CACHE[key] = (self.topo, entries, t)
                    while len(_SWITCH_CACHE) > _SWITCH_CACHE_SIZE:
                        _SWITCH_CACHE.popitem(last=False)
            self._switches[sw] = t
        return t

    # -- expectations from the policy and topology ---------------------------------------------

    def expected(self, rule: Rule) -> tuple[tuple[str, ...], bool]:
        """(services in order, blocked) for ``rule`` given the failed PEs."""
        got = self.expected_cache.get(rule.name)
        if got is None:
            services: list[str] = []
            blocked = False
            for s in rule.services:
                alive = [p for p in self.topo.pes_offering(s) if p.name not in self.failed]
                if alive:
                    services.append(s)
                elif self.policy.spec(s).failure is FailureMode.BYPASS:
                    continue
                else:
                    blocked = True
                    break
            got = (tuple(services), blocked)
            self.expected_cache[rule.name] = got
        return got

    def dist(self, target: str) -> dict[str, int]:
        d = self.dist_cache.get(target)
        if d is None:
            d = {target: 0}
            frontier = [target]
            adj = self.topo._adjacency()
            while frontier:
                nxt = []
                for u in frontier:
                    for v in adj.get(u, ()):
                        if v not in d:
                            d[v] = d[u] + 1
                            nxt.append(v)
                frontier = nxt
            self.dist_cache[target] = d
        return d

    def _params(self, pe: str, service: str) -> dict[str, Any]:
        return dict(self.topo.pes[pe].params) | dict(self.policy.spec(service).params)

    def fw_rules(self, pe: str) -> tuple[list[tuple[Pred, bool]], bool]:
        got = self.fw_cache.get(pe)
        if got is None:
            from wphw.policy import parse_match

            params = self._params(pe, "fw")
            rules = []
            for i, item in enumerate(params.get("rules", []) or []):
                if not isinstance(item, Mapping) or item.get("action") not in ("permit", "deny"):
                    raise PolicyError(f"service fw (PE {pe}) rules[{i}]: want permit|deny")
                m = parse_match(
                    {k: v for k, v in item.items() if k != "action"}, f"fw {pe} rules[{i}]"
                )
                rules.append((match_pred(m), item["action"] == "permit"))
            got = (rules, params.get("default", "permit") == "permit")
            self.fw_cache[pe] = got
        return got

    def nat_maps(self, pe: str) -> list[tuple[int, int]]:
        got = self.nat_cache.get(pe)
        if got is None:
            got = []
            for item in self._params(pe, "nat").get("mappings", []) or []:
                got.append(
                    (
                        int(ipaddress.IPv4Address(str(item["inside"]))),
                        int(ipaddress.IPv4Address(str(item["outside"]))),
                    )
                )
            self.nat_cache[pe] = got
        return got

    # -- reporting -------------------------------------------------------------------------------

    def sample(self, p: _Piece) -> Counterexample:
        # the original packet: the cube's low corner (the view holds what the walk wrote)
        o = [p.cube[f][0] for f in range(6)]
        return Counterexample(
            switch=p.start,
            in_port=o[F_IN],
            src=_ip(o[F_SRC]),
            dst=_ip(o[F_DST]),
            proto=o[F_PROTO],
            sport=o[F_SPORT],
            dport=o[F_DPORT],
        )

    def violate(
        self,
        p: _Piece,
        kind: str,
        message: str,
        *,
        key: tuple[str, ...],
        rule: str | None = None,
        expected: str = "",
        actual: str = "",
    ) -> None:
        self.report.add(
            Violation(
                kind=kind,
                message=message,
                rule=rule,
                packet=self.sample(p),
                expected=expected,
                actual=actual,
                trace=p.trace,
            ),
            (kind, *key),
        )

    # -- segment checks --------------------------------------------------------------------------

    def decide(self, p: _Piece, kind: str, switch: str, port: int | None, reason: str) -> None:
        """The segment of ``p`` ends in a decision: check it against its rule."""
        seg = p.seg
        if seg is None:
            return
        rule = seg.rule
        services = seg.services
        if rule is None:
            if services or seg.chained:
                self.violate(
                    p,
                    "steered",
                    f"{seg.switch}: packet matching no service rule was steered: services "
                    f"{list(services)}, then {kind} at {switch}",
                    key=(seg.switch, seg.action, str(services)),
                    expected="route, no service",
                    actual=f"{seg.action}; services {list(services)}",
                )
                return
            if kind != "route" or switch != seg.switch:
                what = f"{kind}({port})" if kind == "forward" else kind
                self.violate(
                    p,
                    "final",
                    f"{seg.switch}: packet matching no rule must be routed, got {what} at "
                    f"{switch} ({reason or seg.action})",
                    key=(seg.switch, kind, str(port), reason),
                    expected="route",
                    actual=f"{what} at {switch}",
                )
            return
        exp_services, blocked = self.expected(rule)
        where = f"rule {rule.name} at {seg.switch}"
        actual = f"{kind}" + (f"({port})" if port is not None else "") + f" at {switch}"
        if reason:
            actual += f" ({reason})"
        if blocked:
            if kind != "drop":
                self.violate(
                    p,
                    "final",
                    f"{where}: every PE of a 'block' service failed, so the rule must drop; "
                    f"got {actual}",
                    rule=rule.name,
                    key=(rule.name, "blocked", kind),
                    expected="drop",
                    actual=actual,
                )
            return
        fw_denied = (
            kind == "drop"
            and reason.endswith("fw deny")
            and services
            and services[-1] == "fw"
            and services == exp_services[: len(services)]
        )
        if services != exp_services and not fw_denied:
            self.violate(
                p,
                "services",
                f"{where}: services {list(services)} traversed, expected "
                f"{list(exp_services)}; ended {actual}",
                rule=rule.name,
                key=(rule.name, str(services), kind, reason),
                expected=str(list(exp_services)),
                actual=str(list(services)),
            )
            return
        if fw_denied:
            return
        final = rule.final
        anywhere = self.policy.chain_end is ChainEnd.LAST_PE and bool(exp_services)
        ok = True
        if final.kind is FinalKind.FORWARD:
            ok = kind == "forward" and port == final.port and switch == seg.switch
        elif final.kind is FinalKind.DROP:
            ok = kind == "drop" and reason in ("wp_classify drop", "wp_sff sff_drop")
        else:
            ok = kind == "route" and (switch == seg.switch or anywhere)
        if not ok:
            self.violate(
                p,
                "final",
                f"{where}: expected {final} at {seg.switch}, got {actual}; services "
                f"{list(services)}",
                rule=rule.name,
                key=(rule.name, "final", kind, str(port), switch, reason),
                expected=str(final),
                actual=actual,
            )

    # -- the walk --------------------------------------------------------------------------------

    def run(self) -> Report:
        r = self.report
        subscribers = set(self.rules)
        for sw in sorted(self.topo.switches):
            if sw not in subscribers:
                for _, e in self.switch(sw).classify:
                    r.add(
                        Violation(
                            kind="steered",
                            message=f"switch {sw} is no subscriber but has classifier entry "
                            f"{e.action.name} {dict(e.match)}",
                        ),
                        ("nosub", sw, str(e.key())),
                    )
        for sw in sorted(self.topo.switches):
            self.walk_from(sw)
        self.check_bookkeeping()
        self.check_rules_seen(self.rules)
        return r

    def walk_from(self, sw: str, region: Pred = ()) -> None:
        """Every packet (inside ``region``) entering any port of ``sw``."""
        r = self.report
        ports = sorted(self.topo.ports(sw))
        if not ports:
            return
        r.switches_checked += 1
        r.ports_checked += len(ports)
        for lo, hi in _runs(ports):
            # every protocol; ports are split from it where a table looks at them
            cube: Cube = ((lo, hi), (0, 2**32 - 1), (0, 2**32 - 1), (0, 255), *_ANY_PORTS)
            cubes = split(cube, (None,) * 6, region)[0] if region else [cube]
            for c in cubes:
                self.at_switch(sw, _Piece(cube=c, view=(None,) * 6, start=sw, switches=(sw,)))

    def check_rules_seen(self, by_sub: Mapping[str, Sequence[Rule]]) -> None:
        r = self.report
        for sub, rules in by_sub.items():
            r.rules_checked += len(rules)
            for rule in rules:
                if rule.name not in self.rules_seen:
                    cover = next(
                        (
                            o
                            for o in rules
                            if o is not rule
                            and o.priority >= rule.priority
                            and o.match.covers(rule.match)
                        ),
                        None,
                    )
                    if cover is not None:
                        r.warnings.append(
                            f"rule {rule.name} is shadowed by rule {cover.name}: it can never match"
                        )
                    else:
                        r.warnings.append(
                            f"rule {rule.name} on {sub}: no packet reaches it (shadowed by the "
                            "rules above it together, or its in_port has nothing attached)"
                        )

    def at_switch(self, sw: str, p: _Piece) -> None:
        """``p`` enters switch ``sw`` (its in_port in view or cube)."""
        self.steps += 1
        if len(p.trace) > MAX_STEPS:
            self.end(p, Outcome(kind="loop", switch=sw, reason=f"no end after {MAX_STEPS} steps"))
            return
        key = (sw, p.view, p.spi, p.si, p.vlan, p.enc)
        if key in p.seen:
            self.end(p, Outcome(kind="loop", switch=sw, reason="the packet came back"))
            return
        p = p._replace(seen=p.seen | {key})
        t = self.switch(sw)
        # proxy return: a VLAN-tagged packet from a legacy PE
        if p.vlan is not None:
            in_port = p.view[F_IN]
            assert in_port is not None
            self._looked_up(("proxy", sw, in_port, p.vlan), p)
            e = t.proxy.get((in_port, p.vlan))
            if e is not None:
                p = p._replace(
                    vlan=None,
                    spi=e.action.param("spi"),
                    si=e.action.param("si"),
                    ttl=NSH_TTL_INIT,
                    trace=(
                        *p.trace,
                        f"{sw}: proxy return vlan {p.vlan} -> spi {e.action.param('spi')} si {e.action.param('si')}",
                    ),
                )
            else:
                # the P4 program classifies it like any IPv4 packet, tag and all: whatever
                # chain it was on is lost here
                reason = f"no proxy return for port {in_port} vlan {p.vlan}"
                self.decide(p, "lost", sw, None, reason)
                p = p._replace(trace=(*p.trace, f"{sw}: {reason}: classified with the tag on"))
        if p.spi is None:
            self.classify(sw, t, p)
        else:
            self.chain(sw, t, p, 0)

    def _looked_up(self, key: tuple[Any, ...], p: _Piece) -> None:
        self.report.lookups.setdefault(key, {}).setdefault(p.start, set()).add((p.cube, p.view))

    def classify(self, sw: str, t: _Switch, p: _Piece) -> None:
        if sw != p.start:
            # a followed walk classified here: a change of this switch's classifier entries or
            # rules can change it (verify_change re-walks it); one passing with NSH cannot —
            # changed path entries are found through the classifiers whose chains reach them
            self.report.through.setdefault(sw, {}).setdefault(p.start, set()).add((p.cube, p.view))
        table: list[tuple[Pred, TableEntry | None]] = list(t.classify)
        for c, e in first_match(p.cube, p.view, table, None):
            self.classified(sw, t, p._replace(cube=c), e)

    def classified(self, sw: str, t: _Switch, p: _Piece, e: TableEntry | None) -> None:
        """Split further by the switch's policy rules: every part has one expected rule."""
        preds = self._rule_preds.get(sw)
        if preds is None:
            preds = [(match_pred(r.match), r) for r in self.rules.get(sw, ())]
            self._rule_preds[sw] = preds
        if not preds:
            self.start_segment(sw, t, p, e, None)
            return
        rules: list[tuple[Pred, Rule | None]] = list(preds)
        for c, rule in first_match(p.cube, p.view, rules, None):
            self.start_segment(sw, t, p._replace(cube=c), e, rule)

    def start_segment(
        self, sw: str, t: _Switch, p: _Piece, e: TableEntry | None, rule: Rule | None
    ) -> None:
        if rule is not None:
            self.rules_seen.add(rule.name)
        name = e.action.name if e is not None else "route"
        seg = _Seg(switch=sw, rule=rule, action=name, dst_view=p.view[F_DST])
        first_seg = p.seg is None
        first = (rule.name if rule else None) if first_seg else p.first_rule
        p = p._replace(
            seg=seg,
            first_rule=first,
            trace=(*p.trace, f"{sw}:{_port_text(p)} classify -> {_action_text(e)}"),
        )
        if name == "forward":
            assert e is not None
            port = e.action.param("port")
            self.decide(p, "forward", sw, port, "")
            self.leave(sw, port, p)
        elif name == "drop":
            self.decide(p, "drop", sw, None, "wp_classify drop")
            self.end(p, Outcome(kind="drop", switch=sw, reason="wp_classify drop"))
        elif name == "route":
            self.decide(p, "route", sw, None, "")
            self.route(sw, t, p)
        elif name == "start_chain":
            assert e is not None
            base = e.action.param("spi")
            paths = max(1, e.action.param("paths"))
            for j in range(paths):
                spi = base + j
                q = p._replace(
                    spi=spi,
                    si=SI_INIT,
                    ttl=NSH_TTL_INIT,
                    seg=replace(seg, chained=True),
                    first_spi=spi if first_seg else p.first_spi,
                )
                self.chain(sw, t, q, 0)
        else:
            self.decide(p, "drop", sw, None, f"wp_classify {name}")
            self.end(p, Outcome(kind="drop", switch=sw, reason=f"wp_classify action {name}"))

    def add_service(self, p: _Piece, service: str, where: str) -> _Piece:
        seg = p.seg
        if seg is not None:
            seg = replace(seg, services=(*seg.services, service))
        return p._replace(
            seg=seg,
            services=(*p.services, service),
            trace=(*p.trace, where),
        )

    def chain(self, sw: str, t: _Switch, p: _Piece, recirc: int) -> None:
        """A packet with NSH at ``sw``: TTL, in-switch services, then wp_sff."""
        assert p.spi is not None
        if p.ttl <= 0:
            reason = f"NSH TTL expired (spi {p.spi} si {p.si})"
            self.decide(p, "drop", sw, None, reason)
            self.end(p, Outcome(kind="drop", switch=sw, reason=reason))
            return
        self.in_switch(sw, t, p, 0, recirc)

    def in_switch(self, sw: str, t: _Switch, p: _Piece, idx: int, recirc: int) -> None:
        """In-switch services from IN_SWITCH_SERVICES[idx] on, then wp_sff."""
        assert p.spi is not None
        for i in range(idx, len(IN_SWITCH_SERVICES)):
            service = IN_SWITCH_SERVICES[i]
            self._looked_up(("tbl", sw, p.spi, p.si), p)
            entries = t.services[IN_SWITCH_TABLE[service]].get((p.spi, p.si))
            if not entries:
                continue
            hits: list[tuple[Pred, TableEntry | None]] = list(entries)
            for c, e in first_match(p.cube, p.view, hits, None):
                if e is None:  # a miss runs no service: on to the next table
                    self.in_switch(sw, t, p._replace(cube=c), i + 1, recirc)
                else:
                    self.in_switch_hit(sw, t, p._replace(cube=c), service, e, i, recirc)
            return
        self.sff(sw, t, p, recirc)

    def _in_switch_pe(self, sw: str, service: str) -> str | None:
        for pe in self.topo.pes_offering(service):
            if pe.kind is PEKind.IN_SWITCH and self.topo.waypoints[pe.waypoint].switch == sw:
                return pe.name
        return None

    def in_switch_hit(
        self, sw: str, t: _Switch, p: _Piece, service: str, e: TableEntry, idx: int, recirc: int
    ) -> None:
        pe = self._in_switch_pe(sw, service)
        p = self.add_service(p, service, f"{sw}: in-switch {service} -> {_action_text(e)}")
        if pe is None:
            self.violate(
                p,
                "pe",
                f"{sw}: {e.table} entry for spi {p.spi} si {p.si} but no in-switch PE of "
                f"{service} on {sw}",
                key=(sw, service, "nope"),
            )
        elif pe in self.failed:
            self.violate(
                p,
                "pe",
                f"{sw}: service {service} runs on failed PE {pe}",
                key=(sw, pe, "failed"),
            )
        name = e.action.name
        # the PE's parameters decide what the service must do: compare with the entry
        if service == "fw" and pe is not None:
            for c, permit in self._fw_decisions(p, pe):
                q = p._replace(cube=c)
                if permit != (name == P4.FW_PERMIT):
                    self.violate(
                        q,
                        "pe",
                        f"{sw}: in-switch fw {name} but the fw rules of {pe} say "
                        f"{'permit' if permit else 'deny'}",
                        key=(sw, "fw", str(e.key()), str(permit)),
                        expected="permit" if permit else "deny",
                        actual=name,
                    )
                self._after_in_switch(sw, t, q, e, idx, recirc)
            return
        if service == "nat" and pe is not None:
            for c, want in self._nat_decisions(p, pe):
                q = p._replace(cube=c)
                got = self._nat_action(e)
                if got != want:
                    self.violate(
                        q,
                        "pe",
                        f"{sw}: in-switch nat does {_nat_text(got)} but the mappings of {pe} "
                        f"say {_nat_text(want)}",
                        key=(sw, "nat", str(e.key()), str(want)),
                        expected=_nat_text(want),
                        actual=_nat_text(got),
                    )
                self._after_in_switch(sw, t, q, e, idx, recirc)
            return
        self._after_in_switch(sw, t, p, e, idx, recirc)

    def _after_in_switch(
        self, sw: str, t: _Switch, p: _Piece, e: TableEntry, idx: int, recirc: int
    ) -> None:
        name = e.action.name
        if name == P4.FW_DENY:
            self.decide(p, "drop", sw, None, "in-switch fw deny")
            self.end(p, Outcome(kind="drop", switch=sw, reason="in-switch fw deny"))
            return
        view = p.view
        if name == P4.NAT_SNAT:
            view = _set(view, F_SRC, e.action.param("addr"))
        elif name == P4.NAT_DNAT:
            view = _set(view, F_DST, e.action.param("addr"))
        # no service changes the SI: every chain table of the pass matches the entry SI, and
        # wp_sff sets the SI the packet leaves with (docs/dataplane.md "SI")
        self.in_switch(sw, t, p._replace(view=view), idx + 1, recirc)

    def _fw_decisions(self, p: _Piece, pe: str) -> Iterator[tuple[Cube, bool]]:
        rules, default = self.fw_rules(pe)
        return first_match(p.cube, p.view, rules, default)

    def _nat_decisions(self, p: _Piece, pe: str) -> Iterator[tuple[Cube, tuple[str, int] | None]]:
        # per mapping in order: SNAT when the source is inside, else DNAT when the destination
        # is outside (as wp_nat's entries and the software PE do it)
        table: list[tuple[Pred, tuple[str, int] | None]] = []
        for inside, outside in self.nat_maps(pe):
            table.append((((F_SRC, ((inside, inside),)),), ("snat", outside)))
            table.append((((F_DST, ((outside, outside),)),), ("dnat", inside)))
        yield from first_match(p.cube, p.view, table, None)

    @staticmethod
    def _nat_action(e: TableEntry) -> tuple[str, int] | None:
        if e.action.name == P4.NAT_SNAT:
            return ("snat", e.action.param("addr"))
        if e.action.name == P4.NAT_DNAT:
            return ("dnat", e.action.param("addr"))
        return None

    def sff(self, sw: str, t: _Switch, p: _Piece, recirc: int) -> None:
        assert p.spi is not None
        self._looked_up(("tbl", sw, p.spi, p.si), p)
        e = t.sff.get((p.spi, p.si))
        if e is None:
            reason = f"wp_sff miss (spi {p.spi} si {p.si})"
            self.decide(p, "drop", sw, None, reason)
            self.end(p, Outcome(kind="drop", switch=sw, reason=reason, nsh=True))
            return
        name = e.action.name
        step = f"{sw}: wp_sff spi {p.spi} si {p.si} -> {_action_text(e)}"
        p = p._replace(trace=(*p.trace, step))
        if name == P4.SFF_FORWARD:
            q = p._replace(si=e.action.param("si"), ttl=p.ttl - 1, routed=False)
            self.leave(sw, e.action.param("port"), q)
        elif name == P4.SFF_PROXY:
            q = p._replace(spi=None, si=0, ttl=0, vlan=e.action.param("vlan"), routed=False)
            self.leave(sw, e.action.param("port"), q)
        elif name == P4.SFF_RECIRCULATE:
            if recirc >= MAX_RECIRCULATIONS:
                reason = "recirculation loop"
                self.decide(p, "drop", sw, None, reason)
                self.end(p, Outcome(kind="loop", switch=sw, reason=reason))
                return
            self.chain(sw, t, p._replace(si=e.action.param("si"), ttl=p.ttl - 1), recirc + 1)
        elif name == P4.SFF_END_FORWARD:
            port = e.action.param("port")
            q = p._replace(spi=None, si=0, ttl=0, routed=False)
            self.decide(q, "forward", sw, port, "")
            self.leave(sw, port, q)
        elif name == P4.SFF_END_ROUTE:
            q = p._replace(spi=None, si=0, ttl=0)
            self.decide(q, "route", sw, None, "")
            self.route(sw, t, q)
        else:
            reason = f"wp_sff {name}"
            self.decide(p, "drop", sw, None, reason)
            self.end(p, Outcome(kind="drop", switch=sw, reason=reason))

    def _lpm_seg(self, sw: str, t: _Switch, i: int) -> _LpmSeg:
        """The i-th elementary destination interval of ``sw``'s ipv4_lpm: its entry, host and
        the routing checks (computed once per switch and interval, when first met)."""
        if t.lpm_info is None:
            t.lpm_info = [None] * len(t.lpm_segs)
        got = t.lpm_info[i]
        if got is not None:
            return got
        a, b, e = t.lpm_segs[i]
        host = self.hosts_by_ip.get(a) if a == b else None
        port = mac = None
        hop_ok = mac_ok = False
        if e is not None and e.action.name == P4.IPV4_FORWARD:
            port = e.action.param("port")
            mac = e.action.param("dst_mac")
            if host is not None:
                if host.switch == sw:
                    hop_ok = port == host.port
                else:
                    peer = self.topo.peer(sw, port)
                    d = self.dist(host.switch)
                    hop_ok = peer is not None and d.get(peer.switch, -9) == d.get(sw, 0) - 1
                mac_ok = mac == int(host.mac.replace(":", ""), 16)
        got = _LpmSeg(a, b, e, host, port, mac, hop_ok, mac_ok)
        t.lpm_info[i] = got
        return got

    def route(self, sw: str, t: _Switch, p: _Piece) -> None:
        """ipv4_lpm at ``sw``; every routed hop must go one hop closer to the host owning the
        destination and carry its MAC."""
        c = p.view[F_DST]
        lo, hi = (c, c) if c is not None else p.cube[F_DST]
        seg = p.seg
        # progressing: classified here, destination unchanged since, nothing hidden
        may_hand = (
            not p.follow
            and not p.enc
            and seg is not None
            and seg.switch == sw
            and seg.dst_view == c
        )
        for i in t.lpm_indices(lo, hi):
            g = self._lpm_seg(sw, t, i)
            a, b = max(g.lo, lo), min(g.hi, hi)
            host = g.host
            if g.port is None:  # miss or ipv4_drop
                if host is None and p.first_rule is None:
                    self.report.classes += 1  # dropped: no host owns the destination
                    continue
                q = p if c is not None else p._replace(cube=_set_iv(p.cube, F_DST, (a, b)))
                if host is not None:
                    self.violate(
                        q,
                        "routing",
                        f"{sw}: no route to host {host.name} ({host.ip.ip}): ipv4_lpm "
                        f"{'miss' if g.entry is None else g.entry.action.name}",
                        key=(sw, host.name, "noroute"),
                        expected=f"delivery to {host.name}",
                        actual="drop",
                    )
                self.end(q, Outcome(kind="drop", switch=sw, reason="no route"))
                continue
            port = g.port
            if (
                may_hand
                and host is not None
                and g.hop_ok
                and g.mac_ok
                and host.switch != sw
                and p.first_rule is None
            ):
                self.report.classes += 1  # handed to the next switch, walked from there
                continue
            q = p if c is not None else p._replace(cube=_set_iv(p.cube, F_DST, (a, b)))
            q = q._replace(
                mac=g.mac,
                routed=True,
                trace=(*q.trace, f"{sw}: ipv4_lpm {_ip(a)} -> port {port}"),
            )
            if host is None:
                self.violate(
                    q,
                    "routing",
                    f"{sw}: ipv4_lpm routes {_ip(a)}..{_ip(b)}, which no host owns, to port {port}",
                    key=(sw, str(a), "nohost"),
                    expected="drop (no host owns the destination)",
                    actual=f"port {port}",
                )
            else:
                if not g.hop_ok:
                    self.violate(
                        q,
                        "routing",
                        f"{sw}: ipv4_lpm sends traffic for {host.name} ({host.ip.ip}) to port "
                        f"{port}, not along a shortest path",
                        key=(sw, host.name, "port", str(port)),
                        expected=f"towards {host.switch}",
                        actual=f"port {port}",
                    )
                if not g.mac_ok:
                    assert g.mac is not None
                    self.violate(
                        q,
                        "routing",
                        f"{sw}: ipv4_lpm for {host.name} sets MAC {g.mac:012x}, the host has "
                        f"{host.mac}",
                        key=(sw, host.name, "mac"),
                        expected=host.mac,
                        actual=f"{g.mac:012x}",
                    )
                if may_hand and g.hop_ok and host.switch != sw:
                    self.end(q, Outcome(kind="handed", switch=sw, port=port))
                    continue
            assert port is not None
            self.leave(sw, port, q if q.follow else q._replace(follow=True))

    def leave(self, sw: str, port: int, p: _Piece) -> None:
        peer = self.topo.peer(sw, port)
        if peer is not None:
            q = p._replace(
                view=_set(p.view, F_IN, peer.port),
                switches=(*p.switches, peer.switch),
                trace=(*p.trace, f"link {sw}:{port} > {peer.switch}:{peer.port}"),
            )
            if q.spi is None and q.vlan is None and not q.follow:
                q = q._replace(follow=True)
            self.at_switch(peer.switch, q)
            return
        wp = self.topo.waypoint_at(sw, port)
        if wp is not None:
            self.at_waypoint(sw, port, wp.name, p)
            return
        host = self.topo.host_at(sw, port)
        if host is not None:
            self.deliver(sw, port, host, p)
            return
        self.end(p, Outcome(kind="forward", switch=sw, port=port, reason="nothing attached"))
        if p.routed:
            self.violate(
                p,
                "routing",
                f"{sw}: routed out of port {port}, where nothing is attached",
                key=(sw, str(port), "dangling"),
            )

    def deliver(self, sw: str, port: int, host: Host, p: _Piece) -> None:
        if p.spi is not None or p.vlan is not None:
            self.violate(
                p,
                "nsh",
                f"{sw}: packet delivered to host {host.name} with "
                f"{'NSH' if p.spi is not None else 'a proxy VLAN tag'} still on",
                key=(sw, host.name, "nsh"),
            )
        if p.routed:
            c = p.view[F_DST]
            lo, hi = (c, c) if c is not None else p.cube[F_DST]
            want = int(host.ip.ip)
            if not (lo == hi == want):
                self.violate(
                    p,
                    "delivery",
                    f"{sw}: routed traffic for {_ip(lo)} delivered to host {host.name} "
                    f"({host.ip.ip})",
                    key=(sw, host.name, str(lo), "wronghost"),
                    expected=f"the host owning {_ip(lo)}",
                    actual=host.name,
                )
        self.end(
            p._replace(trace=(*p.trace, f"{sw}:{port} > host {host.name}")),
            Outcome(kind="deliver", switch=sw, port=port, reason=host.name),
        )

    def at_waypoint(self, sw: str, port: int, wp: str, p: _Piece) -> None:
        if p.spi is not None:
            self._looked_up(("ctx", wp, p.spi, p.si), p)
            ctx = self.nsh_ctx.get((wp, p.spi, p.si))
            if ctx is None:
                reason = f"waypoint {wp} has no context for spi {p.spi} si {p.si}"
                self.decide(p, "drop", sw, None, reason)
                self.end(p, Outcome(kind="drop", switch=sw, reason=reason))
                return
        elif p.vlan is not None:
            self._looked_up(("vctx", wp, p.vlan), p)
            ctx = self.vlan_ctx.get((wp, p.vlan))
            if ctx is None:
                reason = f"legacy waypoint {wp} has no context for vlan {p.vlan}"
                self.decide(p, "drop", sw, None, reason)
                self.end(p, Outcome(kind="drop", switch=sw, reason=reason))
                return
        else:
            self.end(p, Outcome(kind="forward", switch=sw, port=port, reason=f"to waypoint {wp}"))
            if p.routed:
                self.violate(
                    p,
                    "routing",
                    f"{sw}: routed traffic sent into waypoint {wp} without NSH",
                    key=(sw, wp, "nonsh"),
                )
            return
        pe, service = ctx
        pe_obj = self.topo.pes.get(pe)
        p = self.add_service(p, service, f"{wp}/{pe}: {service}")
        if pe_obj is None or service not in pe_obj.services or pe_obj.waypoint != wp:
            self.violate(
                p,
                "pe",
                f"waypoint {wp} dispatches spi {p.spi} si {p.si} to {pe}, which does not offer "
                f"{service} there",
                key=(wp, pe, service, "bad"),
            )
        elif pe in self.failed:
            self.violate(p, "pe", f"service {service} runs on failed PE {pe}", key=(pe, "failed"))
        for q in self.pe_effect(p, pe, service):
            if q is None:
                continue
            if q.spi is not None:
                q = q._replace(si=q.si - 1)
            self.at_switch(sw, q._replace(view=_set(q.view, F_IN, port)))

    def pe_effect(self, p: _Piece, pe: str, service: str) -> Iterator[_Piece | None]:
        """What the PE's reference model does to the headers (None: it dropped the packet)."""
        if service == "nat" and pe in self.topo.pes:
            for c, act in self._nat_decisions(p, pe):
                q = p._replace(cube=c)
                if act is not None:
                    f = F_SRC if act[0] == "snat" else F_DST
                    q = q._replace(view=_set(q.view, f, act[1]))
                yield q
            return
        if service == "fw" and pe in self.topo.pes:
            for c, permit in self._fw_decisions(p, pe):
                q = p._replace(cube=c)
                if permit:
                    yield q
                else:
                    sw = self.topo.waypoints[self.topo.pes[pe].waypoint].switch
                    self.decide(q, "drop", sw, None, f"PE {pe} fw deny")
                    self.end(q, Outcome(kind="drop", switch=sw, reason=f"PE {pe} fw deny"))
            return
        if service == "encrypt":
            # the original values stay in the cube; the view hides them behind WP-ESP
            saved = (p.view[F_PROTO], p.view[F_SPORT], p.view[F_DPORT])
            view = _set(_set(_set(p.view, F_PROTO, PROTO_WPESP), F_SPORT, 0), F_DPORT, 0)
            yield p._replace(view=view, enc=(*p.enc, saved))
            return
        if service == "decrypt":
            pr = p.view[F_PROTO]
            if pr is None:
                ins, outs = split(p.cube, p.view, ((F_PROTO, ((PROTO_WPESP, PROTO_WPESP),)),))
                for c in outs:
                    yield p._replace(cube=c)  # not WP-ESP: passed unchanged
                for c in ins:
                    yield p._replace(cube=c)  # WP-ESP the walk did not make: rejected, passed
                return
            if pr == PROTO_WPESP and p.enc:
                view = p.view
                for f, v in zip((F_PROTO, F_SPORT, F_DPORT), p.enc[-1], strict=True):
                    view = _set(view, f, v)
                yield p._replace(view=view, enc=p.enc[:-1])
                return
            yield p
            return
        yield p

    def end(self, p: _Piece, outcome: Outcome) -> None:
        self.report.classes += 1
        if outcome.kind == "loop":
            seg = p.seg
            self.violate(
                p,
                "loop",
                f"forwarding loop: {outcome.reason} at {outcome.switch}"
                + (f" (rule {seg.rule.name} at {seg.switch})" if seg and seg.rule else ""),
                rule=seg.rule.name if seg and seg.rule else None,
                key=(p.start, outcome.switch, seg.rule.name if seg and seg.rule else ""),
                expected="no loop",
                actual="loop",
            )
        if p.first_rule is not None:
            self.report.walks.append(
                Walk(
                    rule=p.first_rule,
                    spi=p.first_spi,
                    services=p.services,
                    switches=p.switches,
                    outcome=outcome,
                )
            )

    # -- bookkeeping -----------------------------------------------------------------------------

    def check_bookkeeping(self, only: frozenset[str] | None = None) -> None:
        """The plan's bindings and paths against its entries and the policy (``only``: the
        bindings of these rules)."""
        r = self.report
        by_rule = (
            {rule.name: rule for rule in self.policy.rules}
            if only is None
            else {rule.name: rule for rule in self.policy.rules if rule.name in only}
        )
        bound: set[str] = set()
        bindings = self.plan.bindings
        if only is not None:
            bound = {b.rule for b in bindings}
            bindings = tuple(b for b in bindings if b.rule in only)
        for b in bindings:
            rule = by_rule.get(b.rule)
            where = f"binding of rule {b.rule}"
            if rule is None:
                r.add(
                    Violation(kind="bookkeeping", message=f"{where}: no such rule in the policy"),
                    ("bk", b.rule, "norule"),
                )
                continue
            bound.add(b.rule)
            exp_services, blocked = self.expected(rule)
            skipped = (
                tuple(s for s in rule.services if s not in exp_services) if not blocked else ()
            )
            problems = []
            if b.subscriber != rule.subscriber:
                problems.append(f"subscriber {b.subscriber}, the rule is on {rule.subscriber}")
            if b.priority != rule.priority:
                problems.append(f"priority {b.priority}, the rule has {rule.priority}")
            if not blocked and tuple(b.skipped) != skipped:
                problems.append(f"skipped {list(b.skipped)}, expected {list(skipped)}")
            if blocked and b.action != "drop":
                problems.append(f"action {b.action}, but the rule is blocked (must drop)")
            # the classifier entry the binding describes
            entry = self._classifier_entry(rule)
            if entry is None:
                problems.append("no classifier entry with the rule's match and priority")
            elif entry.action.name != b.action:
                problems.append(f"action {b.action}, the entry has {entry.action.name}")
            elif b.action == "start_chain" and (
                entry.action.param("spi") != b.spi or entry.action.param("paths") != b.paths
            ):
                problems.append(
                    f"spi {b.spi} paths {b.paths}, the entry has spi "
                    f"{entry.action.param('spi')} paths {entry.action.param('paths')}"
                )
            for text in problems:
                r.add(
                    Violation(kind="bookkeeping", message=f"{where}: {text}", rule=b.rule),
                    ("bk", b.rule, text),
                )
        for rule in by_rule.values():
            if rule.name not in bound:
                r.add(
                    Violation(
                        kind="bookkeeping",
                        message=f"rule {rule.name} has no binding in the plan",
                        rule=rule.name,
                    ),
                    ("bk", rule.name, "nobinding"),
                )
        # paths: each one's hops must be what walking its SPI meets
        path_walks: dict[int, list[Walk]] = {}
        for w in r.walks:
            if w.spi is not None:
                path_walks.setdefault(w.spi, []).append(w)
        for sp in self.plan.paths:
            if only is not None and sp.spi not in path_walks:
                continue
            hops = tuple(h.service for h in sp.hops)
            walks = path_walks.get(sp.spi, [])
            if not walks:
                continue
            wrong = set()
            for w in walks:
                denied = w.outcome.kind == "drop" and "fw deny" in w.outcome.reason
                got = w.services[: len(hops)]
                # a firewall that denied the packet ended the path early
                if got != hops and not (denied and hops[: len(got)] == got):
                    wrong.add(got)
            if wrong:
                r.add(
                    Violation(
                        kind="bookkeeping",
                        message=f"path spi {sp.spi}: lists services {list(hops)}, walking it "
                        f"meets {sorted(map(list, wrong))}",
                    ),
                    ("bk", "path", str(sp.spi)),
                )

    def _classifier_entry(self, rule: Rule) -> TableEntry | None:
        from wphw.plan import classify_match

        want = dict(classify_match(rule.match))
        for _, e in self.switch(rule.subscriber).classify:
            if e.priority == rule.priority and dict(e.match) == want:
                return e
        return None


def _overlaps(cube: Cube, view: View, pred: Pred) -> bool:
    """Whether some packet of ``cube`` (with ``view``'s constants) satisfies ``pred``, the
    ingress port aside (a walk passing a switch entered it on some port)."""
    for f, ivs in pred:
        if f == F_IN:
            continue
        c = view[f]
        lo, hi = (c, c) if c is not None else cube[f]
        if not any(a <= hi and lo <= b for a, b in ivs):
            return False
    return True


def _current(p: _Piece, f: int) -> int:
    """Field ``f`` of a one-packet piece as the walk left it."""
    c = p.view[f]
    return c if c is not None else p.cube[f][0]


def _runs(ports: list[int]) -> Iterator[Interval]:
    start = prev = ports[0]
    for p in ports[1:]:
        if p != prev + 1:
            yield (start, prev)
            start = p
        prev = p
    yield (start, prev)


def _set(view: View, f: int, value: int | None) -> View:
    return (*view[:f], value, *view[f + 1 :])


def _set_iv(cube: Cube, f: int, iv: Interval) -> Cube:
    return (*cube[:f], iv, *cube[f + 1 :])


def _port_text(p: _Piece) -> str:
    c = p.view[F_IN]
    if c is not None:
        return str(c)
    lo, hi = p.cube[F_IN]
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _action_text(e: TableEntry | None) -> str:
    if e is None:
        return "route (miss)"
    params = ", ".join(f"{k}={v}" for k, v in e.action.params)
    return f"{e.action.name}({params})"


def _nat_text(act: tuple[str, int] | None) -> str:
    return "nothing" if act is None else f"{act[0]} to {_ip(act[1])}"


# -- entry point -----------------------------------------------------------------------------------


def verify(
    plan: Plan,
    policy: Policy,
    topology: Topology,
    *,
    failed_pes: Iterable[str] = (),
    seed: int = 0,
) -> Report:
    """Check every packet class on every port of every switch against ``policy``.

    ``failed_pes``: the PEs to be treated as failed (their services follow their failure
    modes); pass the same set the plan was compiled with. ``seed`` is accepted for
    compatibility and unused (the check is exhaustive, not sampled)."""
    del seed
    failed = frozenset([failed_pes] if isinstance(failed_pes, str) else failed_pes)
    unknown = failed - set(topology.pes)
    if unknown:
        raise TopologyError(f"failed PE(s) {sorted(unknown)} are not in the topology")
    with gc_paused():  # many small, short-lived objects and no cycles: as in compile
        v = _Verifier(plan, policy, topology, failed)
        report = v.run()
        report._cache.update(
            topology=topology, switches=v._switches, dist=v.dist_cache, hosts=v.hosts_by_ip
        )
        return report


def verify_change(
    plan: Plan,
    policy: Policy,
    topology: Topology,
    *,
    previous_plan: Plan,
    previous_policy: Policy,
    baseline: Report,
    failed_pes: Iterable[str] = (),
    changed_switches: Iterable[str] | None = None,
    changed_rules: Iterable[str] | None = None,
) -> Report:
    """Re-verify after a change, walking only the packet classes it can affect.

    ``baseline`` is the report of a full :func:`verify` of ``previous_plan`` against
    ``previous_policy`` (with the same failed PEs). What changed is found, not trusted: the
    entries that differ between the plans and the rules that differ between the policies.
    A changed classifier entry or rule is walked again by its match from its switch, with the
    baseline's followed walks that were classified there; a changed path entry (wp_sff, proxy
    return, in-switch service) or waypoint context by exactly the classes that looked it up in
    the baseline (recorded per (SPI, SI) or VLAN key). A change of routes, the failed PEs, the
    service settings or chain_end falls back to a full :func:`verify`.

    Finding the changed entries compares every switch's entries, which costs time in
    proportion to the plan (tens of ms per 100k entries). ``changed_switches`` (what an
    installer's diff reports) limits that comparison to those switches; a switch left out of
    it is assumed unchanged. Likewise ``changed_rules`` (names of rules added, changed or
    removed, as a northbound API knows them) limits the comparison of the policies."""
    failed = frozenset([failed_pes] if isinstance(failed_pes, str) else failed_pes)
    if (
        set(baseline.failed_pes) != failed
        or policy.chain_end is not previous_policy.chain_end
        or dict(policy.services) != dict(previous_policy.services)
    ):
        return verify(plan, policy, topology, failed_pes=failed)
    regions: dict[str, list[Pred]] = {}
    # lookups whose entry changed: every class that made one of them in the baseline is walked
    # again; a class that reaches one only now got there through a changed entry or rule that
    # is walked again itself
    keys: set[tuple[Any, ...]] = set()
    candidates = (
        set(plan.entries) | set(previous_plan.entries)
        if changed_switches is None
        else set(changed_switches)
    )
    differ: set[str] = set()
    for sw in candidates:
        a, b = plan.entries_for(sw), previous_plan.entries_for(sw)
        if a is b or a == b:
            continue
        differ.add(sw)
        new, old = set(a), set(b)
        for e in new ^ old:
            if e.table == P4.IPV4_LPM or sw not in topology.switches:
                return verify(plan, policy, topology, failed_pes=failed)
            m = e.match_dict()
            if e.table == P4.WP_CLASSIFY:
                regions.setdefault(sw, []).append(entry_pred(e, f"{sw} wp_classify"))
            elif "spi" in m:  # wp_sff and the in-switch tables: looked up by (SPI, SI)
                keys.add(("tbl", sw, _val(m["spi"]), _val(m["si"])))
            elif e.table == P4.WP_PROXY_RETURN:
                keys.add(("proxy", sw, _val(m[P4.INGRESS_PORT]), _val(m[P4.VLAN_ID])))
    if plan.contexts != previous_plan.contexts:  # the waypoints' dispatch rows
        for c in set(plan.contexts) ^ set(previous_plan.contexts):
            keys.add(
                ("ctx", c.waypoint, c.spi, c.si) if c.vlan is None else ("vctx", c.waypoint, c.vlan)
            )
    if changed_rules is None:
        old_rules = {(r.name, r): r for r in previous_policy.rules}
        new_rules = {(r.name, r): r for r in policy.rules}
    else:
        given = set(changed_rules)
        old_rules = {(r.name, r): r for r in previous_policy.rules if r.name in given}
        new_rules = {(r.name, r): r for r in policy.rules if r.name in given}
    diff_rules = {
        r.name: r
        for k, r in (old_rules | new_rules).items()
        if (k in old_rules) != (k in new_rules)
    }
    for rule in diff_rules.values():
        regions.setdefault(rule.subscriber, []).append(match_pred(rule.match))
    with gc_paused():
        cache = baseline._cache
        same = cache.get("topology") is topology
        v = _Verifier(plan, policy, topology, failed, cache["hosts"] if same else None)
        if same:  # the same switches' tables (where unchanged), the same distances
            v._switches = {sw: t for sw, t in cache["switches"].items() if sw not in differ}
            v.dist_cache = cache["dist"]
        again: dict[str, set[Cube]] = {}
        for key in keys:
            for start, made in baseline.lookups.get(key, {}).items():
                again.setdefault(start, set()).update(cube for cube, _ in made)
        for sw, preds in regions.items():
            for start, passed in baseline.through.get(sw, {}).items():
                for cube, view in passed:
                    # a walk that passed sw with headers outside every changed region there
                    # behaves as before
                    if any(_overlaps(cube, view, pred) for pred in preds):
                        again.setdefault(start, set()).add(cube)
        for start, cubes in sorted(again.items()):
            for cube in sorted(cubes):
                v.walk_from(start, tuple((f, (cube[f],)) for f in range(6)))
        for sw, preds in sorted(regions.items()):
            for pred in preds:
                v.walk_from(sw, pred)
        names = frozenset(diff_rules)
        v.check_bookkeeping(only=names)
        by_sub: dict[str, list[Rule]] = {}
        for rule in diff_rules.values():
            if rule in policy.rules_of(rule.subscriber):
                by_sub.setdefault(rule.subscriber, []).append(rule)
        v.check_rules_seen(by_sub)
        # so the next change can build on this: the baseline's record, extended (shared)
        for where, by_start in v.report.through.items():
            into = baseline.through.setdefault(where, {})
            for start, made in by_start.items():
                into.setdefault(start, set()).update(made)
        for key, by_start in v.report.lookups.items():
            into = baseline.lookups.setdefault(key, {})
            for start, made in by_start.items():
                into.setdefault(start, set()).update(made)
        v.report.through = baseline.through
        v.report.lookups = baseline.lookups
        v.report._cache.update(
            topology=topology, switches=v._switches, dist=v.dist_cache, hosts=v.hosts_by_ip
        )
        return v.report


# -- one switch, one packet: the model beside a real switch ---------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelPacket:
    """A concrete packet at a switch port, as the model sees its headers."""

    in_port: int
    src: int
    dst: int
    proto: int
    sport: int = 0
    dport: int = 0
    spi: int | None = None  # NSH (MD type 2, no context headers) when set
    si: int = 0
    nsh_ttl: int = NSH_TTL_INIT
    vlan: int | None = None  # an 802.1Q tag (proxy return)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelEmission:
    """What the model says one switch does with a packet: out of ``port`` with these headers
    (``port`` None: dropped, ``reason`` says why)."""

    port: int | None
    src: int = 0
    dst: int = 0
    proto: int = 0
    sport: int = 0
    dport: int = 0
    spi: int | None = None
    si: int = 0
    nsh_ttl: int = 0
    vlan: int | None = None
    dst_mac: int | None = None  # set when ipv4_lpm forwarded it
    routed: bool = False  # IPv4 TTL one less
    reason: str = ""


class _Stepper(_Verifier):
    """The verifier's switch model stopped at the switch's ports."""

    def __init__(self, plan: Plan, topology: Topology) -> None:
        super().__init__(plan, Policy(rules=()), topology, frozenset())
        self.out: list[ModelEmission] = []

    def _emit(self, port: int | None, p: _Piece, reason: str = "") -> None:
        v = [_current(p, f) for f in range(6)]
        self.out.append(
            ModelEmission(
                port=port,
                src=v[F_SRC],
                dst=v[F_DST],
                proto=v[F_PROTO],
                sport=v[F_SPORT],
                dport=v[F_DPORT],
                spi=p.spi,
                si=p.si,
                nsh_ttl=p.ttl,
                vlan=p.vlan,
                dst_mac=p.mac,
                routed=p.routed,
                reason=reason,
            )
        )

    def leave(self, sw: str, port: int, p: _Piece) -> None:
        self._emit(port, p)

    def end(self, p: _Piece, outcome: Outcome) -> None:
        if outcome.kind == "deliver" or outcome.kind == "handed":  # pragma: no cover
            raise AssertionError("the stepper leaves at ports")
        self._emit(None, p, outcome.reason or outcome.kind)

    def violate(self, *args: Any, **kwargs: Any) -> None:
        pass

    def decide(self, p: _Piece, kind: str, switch: str, port: int | None, reason: str) -> None:
        pass


def step(plan: Plan, topology: Topology, switch: str, pkt: ModelPacket) -> list[ModelEmission]:
    """What ``switch`` does with ``pkt`` according to the model verify walks: one emission, or
    one per ``start_chain`` alternative (the switch hashes each flow onto one of them). For
    the differential test against a real switch (tests/test_verify_bmv2.py)."""
    s = _Stepper(plan, topology)
    l4 = pkt.proto in (PROTO_TCP, PROTO_UDP)
    cube: Cube = (
        (pkt.in_port, pkt.in_port),
        (pkt.src, pkt.src),
        (pkt.dst, pkt.dst),
        (pkt.proto, pkt.proto),
        (pkt.sport, pkt.sport) if l4 else (0, 0),
        (pkt.dport, pkt.dport) if l4 else (0, 0),
    )
    piece = _Piece(
        cube=cube,
        view=(pkt.in_port, None, None, None, None, None),
        start=switch,
        spi=pkt.spi,
        si=pkt.si if pkt.spi is not None else 0,
        ttl=pkt.nsh_ttl if pkt.spi is not None else 0,
        vlan=pkt.vlan,
        follow=True,
    )
    with gc_paused():
        s.at_switch(switch, piece)
    return s.out
