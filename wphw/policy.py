"""Logical policy: per-subscriber classification tables whose actions are services.

This is the paper's Table 1 as data. A :class:`Rule` lives on one subscriber switch, matches on
input port, IPv4 source/destination prefix, protocol and L4 port ranges, and applies an ordered
list of services followed by one final action: ``forward(port)``, ``drop`` or ``route``.

YAML format (see ``examples/table1/policy.yaml``)::

    metric: hops                    # hops | latency | bandwidth
    chain_end: subscriber           # subscriber | last-pe (see ChainEnd)
    services:
      ids: {failure: bypass}        # bypass | block (default block)
      nat: {instances: 1, params: {mappings: [...]}}
    subscribers:
      s1:
        - {match: {src: 192.168.0.0/24, proto: tcp}, actions: [ids, nat]}
        - {match: {in_port: 0}, actions: ["forward(1)"]}

Rules listed first win (the first rule of a switch gets the highest priority) unless a rule
gives ``priority`` explicitly (larger wins, as in P4Runtime). Two rules on one switch with the
same priority that can match the same packet are rejected.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from wphw._load import short
from wphw.errors import PolicyError
from wphw.topology import MAX_PORT, Metric

PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "esp": 50, "gre": 47, "sctp": 132}
MAX_PRIORITY = 2**31 - 1


LOG = logging.getLogger(__name__)


class FailureMode(StrEnum):
    BYPASS = "bypass"  # a failed service is skipped
    BLOCK = "block"  # traffic that needs a failed service is dropped


class ChainEnd(StrEnum):
    """Where a chain whose final action is ``route`` or ``drop`` ends.

    ``subscriber`` (default, the paper's model): the path returns to the subscriber switch,
    which pops NSH and takes the final action. ``last-pe``: the switch of the last PE takes it,
    so the path does not carry the packet back; paths then no longer depend on the subscriber
    and are shared by every subscriber that picked the same PEs. ``forward(port)`` always
    returns to the subscriber (the port is the subscriber's).
    """

    SUBSCRIBER = "subscriber"
    LAST_PE = "last-pe"


class FinalKind(StrEnum):
    FORWARD = "forward"
    DROP = "drop"
    ROUTE = "route"


@dataclass(frozen=True, slots=True, kw_only=True)
class Final:
    kind: FinalKind
    port: int | None = None

    def __post_init__(self) -> None:
        if (self.kind is FinalKind.FORWARD) != (self.port is not None):
            raise PolicyError(f"final action {self.kind}: a port is needed exactly for forward")

    def __str__(self) -> str:
        return f"forward({self.port})" if self.kind is FinalKind.FORWARD else self.kind.value


FORWARD = FinalKind.FORWARD
DROP = Final(kind=FinalKind.DROP)
ROUTE = Final(kind=FinalKind.ROUTE)


def forward(port: int) -> Final:
    return Final(kind=FinalKind.FORWARD, port=port)


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """Match fields; ``None`` is a wildcard. Port ranges are inclusive."""

    in_port: int | None = None
    src: ipaddress.IPv4Network | None = None
    dst: ipaddress.IPv4Network | None = None
    proto: int | None = None
    src_port: tuple[int, int] | None = None
    dst_port: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        for name, kind in (("src", ipaddress.IPv4Network), ("dst", ipaddress.IPv4Network)):
            v = getattr(self, name)
            if v is not None and not isinstance(v, kind):
                raise TypeError(
                    f"Match.{name}: want an ipaddress.IPv4Network or None, got "
                    f"{type(v).__name__} (parse text with wphw.policy.parse_match)"
                )
        for name in ("in_port", "proto"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                raise TypeError(f"Match.{name}: want an int or None, got {type(v).__name__}")
        for name in ("src_port", "dst_port"):
            v = getattr(self, name)
            if v is not None and not (
                isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, int) for x in v)
            ):
                raise TypeError(f"Match.{name}: want a (low, high) tuple of ints or None")
        if self.in_port is not None and not 0 <= self.in_port <= MAX_PORT:
            raise PolicyError(f"in_port {self.in_port} out of range 0..{MAX_PORT}")
        if self.proto is not None and not 0 <= self.proto <= 255:
            raise PolicyError(f"proto {self.proto} out of range 0..255")
        for name in ("src_port", "dst_port"):
            rng = getattr(self, name)
            if rng is not None:
                lo, hi = rng
                if not (0 <= lo <= hi <= 65535):
                    raise PolicyError(f"{name} range {lo}-{hi} invalid (0 <= low <= high <= 65535)")
        if (self.src_port or self.dst_port) and self.proto not in (6, 17):
            # The data plane (P4 parser, FPGA header parser, software PEs) reads L4 ports of
            # TCP and UDP only; any other protocol's ports read as 0, so an SCTP port match
            # would never match (issue 11).
            raise PolicyError(
                "L4 port matches need proto tcp or udp (the data plane reads no other ports)"
            )

    def overlaps(self, other: Match) -> bool:
        """True when some packet matches both."""
        if None not in (self.in_port, other.in_port) and self.in_port != other.in_port:
            return False
        if None not in (self.proto, other.proto) and self.proto != other.proto:
            return False
        for a, b in ((self.src, other.src), (self.dst, other.dst)):
            if a is not None and b is not None and not a.overlaps(b):
                return False
        for ra, rb in ((self.src_port, other.src_port), (self.dst_port, other.dst_port)):
            if ra is not None and rb is not None and (ra[1] < rb[0] or rb[1] < ra[0]):
                return False
        return True

    def covers(self, other: Match) -> bool:
        """True when every packet matching ``other`` also matches ``self``."""
        if self.in_port is not None and self.in_port != other.in_port:
            return False
        if self.proto is not None and self.proto != other.proto:
            return False
        for a, b in ((self.src, other.src), (self.dst, other.dst)):
            if a is not None and (b is None or not b.subnet_of(a)):
                return False
        for ra, rb in ((self.src_port, other.src_port), (self.dst_port, other.dst_port)):
            if ra is not None and (rb is None or rb[0] < ra[0] or rb[1] > ra[1]):
                return False
        return True

    def __str__(self) -> str:
        parts = []
        if self.in_port is not None:
            parts.append(f"in_port={self.in_port}")
        if self.src is not None:
            parts.append(f"src={self.src}")
        if self.dst is not None:
            parts.append(f"dst={self.dst}")
        if self.proto is not None:
            names = {v: k for k, v in PROTOCOLS.items()}
            parts.append(f"proto={names.get(self.proto, self.proto)}")
        for name in ("src_port", "dst_port"):
            rng = getattr(self, name)
            if rng is not None:
                parts.append(
                    f"{name}={rng[0]}" if rng[0] == rng[1] else f"{name}={rng[0]}-{rng[1]}"
                )
        return " ".join(parts) or "*"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One logical rule on a subscriber switch: match → services…, final action."""

    name: str
    subscriber: str
    priority: int
    match: Match
    services: tuple[str, ...] = ()
    final: Final = ROUTE

    def __post_init__(self) -> None:
        if not isinstance(self.match, Match):
            raise TypeError(
                f"Rule {self.name}: match must be a Match, got {type(self.match).__name__}"
            )
        if isinstance(self.services, str) or not all(isinstance(x, str) for x in self.services):
            raise TypeError(
                f"Rule {self.name}: services must be a tuple of service names, got "
                f"{short(self.services)}"
            )
        if not isinstance(self.final, Final):
            raise TypeError(
                f"Rule {self.name}: final must be a Final, got {type(self.final).__name__}"
            )

    def __str__(self) -> str:
        actions = [*self.services, str(self.final)]
        return f"{self.name} [{self.subscriber} prio {self.priority}] {self.match} -> {', '.join(actions)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSpec:
    """Per-service settings: failure mode, how many PE instances to balance over, parameters."""

    name: str
    failure: FailureMode = FailureMode.BLOCK
    instances: int | None = None  # None: every PE that offers the service and has capacity
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.failure, FailureMode):
            try:
                object.__setattr__(self, "failure", FailureMode(self.failure))
            except ValueError:
                raise PolicyError(
                    f"service {self.name}: failure {short(self.failure)} is not bypass or block"
                ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    rules: tuple[Rule, ...]
    services: Mapping[str, ServiceSpec] = field(default_factory=dict)
    metric: Metric = Metric.HOPS
    chain_end: ChainEnd = ChainEnd.SUBSCRIBER
    source: str = "<python>"
    # by_subscriber(), computed once (the policy is immutable)
    _by_sub: dict[str, tuple[Rule, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not all(isinstance(r, Rule) for r in self.rules):
            raise TypeError("Policy.rules: want a tuple of Rule")
        names: set[str] = set()
        by_switch: dict[str, list[Rule]] = {}
        for rule in self.rules:
            if rule.name in names:
                raise PolicyError(f"{self.source}: duplicate rule name {rule.name!r}")
            names.add(rule.name)
            if not 1 <= rule.priority <= MAX_PRIORITY:
                raise PolicyError(
                    f"{self.source}: rule {rule.name}: priority {rule.priority} out of range "
                    f"1..{MAX_PRIORITY}"
                )
            by_switch.setdefault(rule.subscriber, []).append(rule)
        for rules in by_switch.values():
            by_prio: dict[int, list[Rule]] = {}
            for rule in rules:
                by_prio.setdefault(rule.priority, []).append(rule)
            for same in by_prio.values():
                for i, a in enumerate(same):
                    for b in same[i + 1 :]:
                        if a.match.overlaps(b.match):
                            raise PolicyError(
                                f"{self.source}: rules {a.name} and {b.name} on {a.subscriber} "
                                f"have the same priority {a.priority} and overlap "
                                f"({a.match} / {b.match}); give them different priorities"
                            )

    def spec(self, service: str) -> ServiceSpec:
        return self.services.get(service) or ServiceSpec(name=service)

    def with_rule(self, name: str, rule: Rule | None, *, source: str | None = None) -> Policy:
        """This policy with rule ``name`` taken out and ``rule`` (named ``name``; None: none)
        put in — one rule added, changed or removed. It checks what the constructor checks,
        but only for ``rule`` (the others passed already), and derives ``by_subscriber`` from
        this policy's: a controller's rule change at 10,000 rules costs the rules of one
        switch, not all of them."""
        if rule is not None:
            if rule.name != name:
                raise ValueError(f"with_rule({name!r}): the rule is named {rule.name!r}")
            if not 1 <= rule.priority <= MAX_PRIORITY:
                raise PolicyError(
                    f"{source or self.source}: rule {rule.name}: priority {rule.priority} out"
                    f" of range 1..{MAX_PRIORITY}"
                )
        by_sub = self.by_subscriber()
        old = next((r for r in self.rules if r.name == name), None)
        if old is not None:
            left = tuple(r for r in by_sub[old.subscriber] if r.name != name)
            if left:
                by_sub[old.subscriber] = left
            else:
                del by_sub[old.subscriber]
        rules = tuple(r for r in self.rules if r.name != name)
        if rule is not None:
            mine = by_sub.get(rule.subscriber, ())
            for other in mine:
                if other.priority == rule.priority and other.match.overlaps(rule.match):
                    raise PolicyError(
                        f"{source or self.source}: rules {other.name} and {rule.name} on"
                        f" {rule.subscriber} have the same priority {rule.priority} and overlap"
                        f" ({other.match} / {rule.match}); give them different priorities"
                    )
            new_sub = rule.subscriber not in by_sub
            by_sub[rule.subscriber] = tuple(
                sorted((*mine, rule), key=lambda r: (-r.priority, r.name))
            )
            if new_sub:
                by_sub = dict(sorted(by_sub.items()))
            rules = (*rules, rule)
        out = object.__new__(Policy)
        for f, v in (
            ("rules", rules),
            ("services", self.services),
            ("metric", self.metric),
            ("chain_end", self.chain_end),
            ("source", source or self.source),
            ("_by_sub", by_sub),
        ):
            object.__setattr__(out, f, v)
        return out

    def subscribers(self) -> tuple[str, ...]:
        return tuple(sorted({r.subscriber for r in self.rules}))

    def rules_of(self, subscriber: str) -> tuple[Rule, ...]:
        """The rules of one subscriber, highest priority first."""
        return self.by_subscriber().get(subscriber, ())

    def by_subscriber(self) -> dict[str, tuple[Rule, ...]]:
        """Every subscriber's rules, highest priority first (computed once)."""
        if self._by_sub is None:
            groups: dict[str, list[Rule]] = {}
            for r in self.rules:
                groups.setdefault(r.subscriber, []).append(r)
            object.__setattr__(
                self,
                "_by_sub",
                {
                    sub: tuple(sorted(rs, key=lambda r: (-r.priority, r.name)))
                    for sub, rs in sorted(groups.items())
                },
            )
        assert self._by_sub is not None
        return dict(self._by_sub)


# -- parsing -----------------------------------------------------------------------------------

_FORWARD_RE = re.compile(
    r"^\s*forward\s*\(\s*(\d+)\s*\)\s*$|^\s*forward\s+(?:port\s+)?(\d+)\s*$", re.I
)


def parse_final(text: Any, where: str) -> Final | None:
    """``forward(3)``, ``forward port 3``, ``{forward: 3}``, ``drop``, ``route``; else None."""
    if isinstance(text, Mapping) and set(text) == {"forward"}:
        port = text["forward"]
        if isinstance(port, int) and not isinstance(port, bool):
            return _forward_checked(port, where)
        raise PolicyError(f"{where}: forward port must be an integer, got {port!r}")
    if not isinstance(text, str):
        raise PolicyError(f"{where}: bad action {text!r}")
    m = _FORWARD_RE.match(text)
    if m:
        return _forward_checked(int(m.group(1) or m.group(2)), where)
    low = text.strip().lower()
    if low == "drop":
        return DROP
    if low == "route":
        return ROUTE
    return None


def _forward_checked(port: int, where: str) -> Final:
    if not 0 <= port <= MAX_PORT:
        raise PolicyError(f"{where}: forward port {port} out of range 0..{MAX_PORT}")
    return forward(port)


def _prefix(value: Any, where: str) -> ipaddress.IPv4Network | None:
    if value is None or value == "*":
        return None
    try:
        net = ipaddress.IPv4Network(str(value), strict=False)
    except ValueError as exc:
        raise PolicyError(f"{where}: bad IPv4 prefix {short(value)}") from exc
    if str(value) != str(net) and "/" in str(value) and int(net.prefixlen) < 32:
        host = ipaddress.IPv4Interface(str(value)).ip
        if host != net.network_address:
            LOG.warning("%s: %s has host bits set; matching %s", where, value, net)
    return net


def _port_range(value: Any, where: str) -> tuple[int, int] | None:
    if value is None or value == "*":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        lo = hi = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+\s*(-\s*\d+\s*)?", value):
        parts = [int(x) for x in value.split("-")]
        lo, hi = parts[0], parts[-1]
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        lo, hi = int(value[0]), int(value[1])
    else:
        raise PolicyError(
            f"{where}: bad port or range {value!r} (want 80, '1000-2000' or [lo, hi])"
        )
    if lo > hi:
        raise PolicyError(f"{where}: port range {lo}-{hi} is reversed (write {hi}-{lo})")
    if not (0 <= lo <= hi <= 65535):
        raise PolicyError(f"{where}: port range {lo}-{hi} out of range 0..65535")
    return (lo, hi)


def _proto(value: Any, where: str) -> int | None:
    if value is None or value == "*":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= 255:
            raise PolicyError(f"{where}: protocol {value} out of range 0..255")
        return value
    name = str(value).lower()
    if name not in PROTOCOLS:
        raise PolicyError(
            f"{where}: unknown protocol {value!r} (a number or one of {sorted(PROTOCOLS)})"
        )
    return PROTOCOLS[name]


_MATCH_KEYS = {"in_port", "src", "dst", "proto", "src_port", "dst_port"}


def parse_match(raw: Any, where: str) -> Match:
    if raw is None or raw == "*":
        return Match()
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: match must be a mapping, got {raw!r}")
    unknown = set(raw) - _MATCH_KEYS
    if unknown:
        raise PolicyError(
            f"{where}: unknown match field(s) {sorted(unknown)} (known: {sorted(_MATCH_KEYS)})"
        )
    in_port = raw.get("in_port")
    if in_port == "*":
        in_port = None
    if in_port is not None and (isinstance(in_port, bool) or not isinstance(in_port, int)):
        raise PolicyError(f"{where}: in_port must be an integer, got {in_port!r}")
    try:
        return Match(
            in_port=in_port,
            src=_prefix(raw.get("src"), f"{where}: src"),
            dst=_prefix(raw.get("dst"), f"{where}: dst"),
            proto=_proto(raw.get("proto"), f"{where}: proto"),
            src_port=_port_range(raw.get("src_port"), f"{where}: src_port"),
            dst_port=_port_range(raw.get("dst_port"), f"{where}: dst_port"),
        )
    except PolicyError as exc:
        if str(exc).startswith(where):
            raise
        raise PolicyError(f"{where}: {exc}") from None


def parse_actions(raw: Any, where: str) -> tuple[tuple[str, ...], Final]:
    if isinstance(raw, str):
        raw = [a for a in re.split(r",(?![^(]*\))", raw) if a.strip()]
    if not isinstance(raw, list) or not raw:
        raise PolicyError(f"{where}: actions must be a non-empty list")
    services: list[str] = []
    final: Final | None = None
    for i, item in enumerate(raw):
        f = parse_final(item, f"{where}: actions[{i}]")
        if f is not None:
            if i != len(raw) - 1:
                raise PolicyError(f"{where}: final action {f} must come last")
            final = f
            continue
        name = str(item).strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise PolicyError(f"{where}: actions[{i}]: bad service name {item!r}")
        services.append(name)
    return tuple(services), final or ROUTE


def policy_from_dict(raw: Any, source: str = "<dict>") -> Policy:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{source}: expected a mapping at the top level")
    unknown = set(raw) - {"metric", "chain_end", "services", "subscribers"}
    if unknown:
        raise PolicyError(f"{source}: unknown top-level key(s) {sorted(unknown)}")
    metric_text = str(raw.get("metric", "hops"))
    try:
        metric = Metric(metric_text)
    except ValueError:
        raise PolicyError(
            f"{source}: unknown metric {metric_text!r} (one of {', '.join(m.value for m in Metric)})"
        ) from None
    end_text = str(raw.get("chain_end", "subscriber"))
    try:
        chain_end = ChainEnd(end_text)
    except ValueError:
        raise PolicyError(
            f"{source}: unknown chain_end {end_text!r} (one of {', '.join(e.value for e in ChainEnd)})"
        ) from None
    services: dict[str, ServiceSpec] = {}
    for name, obj in (raw.get("services") or {}).items():
        where = f"{source}: service {name}"
        if not isinstance(obj, Mapping):
            raise PolicyError(f"{where}: expected a mapping")
        unknown = set(obj) - {"failure", "instances", "params"}
        if unknown:
            raise PolicyError(f"{where}: unknown key(s) {sorted(unknown)}")
        try:
            failure = FailureMode(str(obj.get("failure", "block")))
        except ValueError:
            raise PolicyError(f"{where}: failure must be bypass or block") from None
        instances = obj.get("instances")
        if instances is not None and (not isinstance(instances, int) or instances < 1):
            raise PolicyError(f"{where}: instances must be a positive integer")
        params = obj.get("params") or {}
        if not isinstance(params, Mapping):
            raise PolicyError(f"{where}: params must be a mapping")
        services[str(name)] = ServiceSpec(
            name=str(name),
            failure=failure,
            instances=instances,
            params=tuple(sorted(params.items())),
        )
    rules: list[Rule] = []
    subs = raw.get("subscribers")
    if subs is None or (isinstance(subs, Mapping) and not any(subs.values())):
        raise PolicyError(
            f"{source}: subscribers: no rules (a policy needs at least one subscriber switch with"
            " a rule)"
        )
    if not isinstance(subs, Mapping):
        raise PolicyError(f"{source}: subscribers must map switch names to rule lists")
    for switch, rule_list in subs.items():
        if not isinstance(rule_list, list):
            raise PolicyError(f"{source}: subscriber {switch}: expected a list of rules")
        rules.extend(_parse_rules(str(switch), rule_list, source))
    return Policy(
        rules=tuple(rules), services=services, metric=metric, chain_end=chain_end, source=source
    )


def _parse_rules(switch: str, rule_list: list[Any], source: str) -> Iterable[Rule]:
    n = len(rule_list)
    for i, obj in enumerate(rule_list):
        where = f"{source}: {switch} rule {i}"
        if not isinstance(obj, Mapping):
            raise PolicyError(f"{where}: expected a mapping")
        unknown = set(obj) - {"name", "priority", "match", "actions"}
        if unknown:
            raise PolicyError(f"{where}: unknown key(s) {sorted(unknown)}")
        name = str(obj.get("name", f"{switch}#{i}"))
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.#:-]{0,63}", name):
            raise PolicyError(
                f"{where}: name {short(name)}: use 1-64 ASCII letters, digits, '_', '-', '.', '#'"
                " or ':', starting with a letter or digit"
            )
        where = f"{source}: rule {name}"
        prio = obj.get("priority", n - i)
        if isinstance(prio, bool) or not isinstance(prio, int):
            raise PolicyError(f"{where}: priority must be an integer")
        services, final = parse_actions(obj.get("actions"), where)
        try:
            yield Rule(
                name=name,
                subscriber=switch,
                priority=prio,
                match=parse_match(obj.get("match"), f"{where}: match"),
                services=services,
                final=final,
            )
        except PolicyError:
            raise


def load_policy(path: str | Path) -> Policy:
    from wphw._load import load

    path = Path(path)
    return policy_from_dict(load(path, PolicyError), str(path))
