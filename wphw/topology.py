"""The network: switches, hosts, waypoints with their PEs, and links.

A :class:`Topology` is a value built once (from YAML, from a p4lang/tutorials ``topology.json``
or from Python) and validated at construction: every port is used once, every link end names a
known switch, every PE sits on a known waypoint. The switch graph is a networkx graph held by
composition; path computations (:meth:`Topology.route`) are cached per (source, target, metric).

YAML format (see ``examples/*/topology.yaml``)::

    switches:
      s1: {address: 127.0.0.1:50051, device_id: 0}
    hosts:
      h1: {ip: 10.0.1.1/24, mac: "08:00:00:00:01:11", switch: s1, port: 1}
    links:
      - {a: s1:2, b: s2:1, latency_ms: 1.0, bandwidth_gbps: 10}
    waypoints:
      wp1:
        switch: s2
        port: 3                       # omit for in-switch PEs
        pes:
          - {name: crypto1, services: [encrypt, decrypt], kind: fpga, capacity: 64}
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import networkx as nx

from wphw._load import short
from wphw.errors import TopologyError

MAX_PORT = 511  # bit<9> ports on v1model and TNA
_MAC_RE = re.compile(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_ADDRESS_RE = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")


class PEKind(StrEnum):
    FPGA = "fpga"
    SOFTWARE = "software"
    IN_SWITCH = "in-switch"
    LEGACY = "legacy"


class Metric(StrEnum):
    HOPS = "hops"
    LATENCY = "latency"
    BANDWIDTH = "bandwidth"


@dataclass(frozen=True, slots=True, kw_only=True)
class PortRef:
    switch: str
    port: int

    def __str__(self) -> str:
        return f"{self.switch}:{self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Switch:
    name: str
    address: str
    device_id: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Host:
    name: str
    ip: ipaddress.IPv4Interface
    mac: str
    switch: str
    port: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PE:
    """A processing element: one instance implementing one or more services."""

    name: str
    services: tuple[str, ...]
    kind: PEKind
    capacity: int
    waypoint: str
    params: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Waypoint:
    """A place attached to a switch (through ``port``, or inside it for in-switch PEs)."""

    name: str
    switch: str
    port: int | None
    pes: tuple[str, ...]
    # Where an FPGA waypoint's registers are: "pcie:<bdf>[:bar<N>]" (a PCIe BAR through sysfs)
    # or "mmap:<path>" (any mappable register file: a BAR resource file, a UIO map).
    # `wphw apply` writes the plan's register writes there (wphw/netfpga/install.py).
    regs: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    a: PortRef
    b: PortRef
    latency_ms: float = 0.0
    bandwidth_gbps: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """A computed route between two switches: the switches in order and the egress ports."""

    switches: tuple[str, ...]
    ports: tuple[int, ...]  # ports[i] leaves switches[i] towards switches[i + 1]
    cost: float


@dataclass(slots=True)
class _RouteCache:
    by_key: dict[tuple[str, str, Metric], Route] = field(default_factory=dict)
    adjacency: dict[str, list[str]] = field(default_factory=dict)
    trees: dict[tuple[str, Metric], dict[str, str | None]] = field(default_factory=dict)
    # (switch, port) -> what is attached there; built on first use (the topology is immutable)
    attached: dict[tuple[str, int], PortRef | Waypoint | Host] | None = None


class Topology:
    """Switches, hosts, waypoints, PEs and links; validated at construction."""

    def __init__(
        self,
        *,
        switches: Iterable[Switch],
        hosts: Iterable[Host] = (),
        links: Iterable[Link] = (),
        waypoints: Iterable[Waypoint] = (),
        pes: Iterable[PE] = (),
        source: str = "<python>",
    ) -> None:
        self.source = source
        self.switches: dict[str, Switch] = {}
        self.hosts: dict[str, Host] = {}
        self.waypoints: dict[str, Waypoint] = {}
        self.pes: dict[str, PE] = {}
        self.links: tuple[Link, ...] = tuple(links)
        self._port_owner: dict[tuple[str, int], str] = {}
        self._graph: nx.Graph = nx.Graph()
        self._routes = _RouteCache()
        self._adj_port: dict[tuple[str, str], int] = {}
        self._adj_latency: dict[tuple[str, str], float] = {}
        self._adj_bandwidth: dict[tuple[str, str], float] = {}
        self._ports_of: dict[str, list[int]] = {}
        self._by_service: dict[str, tuple[PE, ...]] = {}

        by_address: dict[tuple[str, int], str] = {}
        for sw in switches:
            self._add_name(sw.name, "switch")
            m = _ADDRESS_RE.fullmatch(sw.address)
            if m is None or not 0 < int(m.group(2)) < 65536:
                raise TopologyError(
                    f"{source}: switch {sw.name}: address {short(sw.address)} is not host:port"
                    " (e.g. 127.0.0.1:50051)"
                )
            key = (sw.address, sw.device_id)
            if key in by_address:
                raise TopologyError(
                    f"{source}: switch {sw.name}: address {sw.address} (device id {sw.device_id})"
                    f" is already switch {by_address[key]}'s"
                )
            by_address[key] = sw.name
            self.switches[sw.name] = sw
            self._graph.add_node(sw.name)
        by_ip: dict[ipaddress.IPv4Address, str] = {}
        for host in hosts:
            self._add_name(host.name, "host")
            self._need_switch(host.switch, f"host {host.name}")
            if not _MAC_RE.match(host.mac):
                raise TopologyError(f"{source}: host {host.name}: bad MAC address {host.mac!r}")
            self._claim_port(host.switch, host.port, f"host {host.name}")
            if host.ip.ip in by_ip:
                raise TopologyError(
                    f"{source}: host {host.name}: address {host.ip.ip} is already host "
                    f"{by_ip[host.ip.ip]}'s"
                )
            by_ip[host.ip.ip] = host.name
            self.hosts[host.name] = host
        for link in self.links:
            what = f"link {link.a}-{link.b}"
            for end in (link.a, link.b):
                self._need_switch(end.switch, what)
                self._claim_port(end.switch, end.port, what)
            if link.a.switch == link.b.switch:
                raise TopologyError(f"{source}: {what}: both ends on switch {link.a.switch}")
            if self._graph.has_edge(link.a.switch, link.b.switch):
                raise TopologyError(
                    f"{source}: {what}: a second link between {link.a.switch} and "
                    f"{link.b.switch} (parallel links are not supported)"
                )
            if link.latency_ms < 0 or link.bandwidth_gbps <= 0:
                raise TopologyError(f"{source}: {what}: latency must be >= 0, bandwidth > 0")
            for x, y in ((link.a, link.b), (link.b, link.a)):
                self._adj_port[(x.switch, y.switch)] = x.port
                self._adj_latency[(x.switch, y.switch)] = link.latency_ms
                self._adj_bandwidth[(x.switch, y.switch)] = link.bandwidth_gbps
            self._graph.add_edge(
                link.a.switch,
                link.b.switch,
                ports={link.a.switch: link.a.port, link.b.switch: link.b.port},
                latency=link.latency_ms,
                bandwidth=link.bandwidth_gbps,
            )
        pe_list = list(pes)
        pe_names = {pe.name for pe in pe_list}
        for wp in waypoints:
            self._add_name(wp.name, "waypoint")
            self._need_switch(wp.switch, f"waypoint {wp.name}")
            if wp.port is not None:
                self._claim_port(wp.switch, wp.port, f"waypoint {wp.name}")
            for pe_name in wp.pes:
                if pe_name not in pe_names:
                    raise TopologyError(f"{source}: waypoint {wp.name}: unknown PE {pe_name!r}")
            self.waypoints[wp.name] = wp
        for pe in pe_list:
            self._add_name(pe.name, "PE")
            wp_ = self.waypoints.get(pe.waypoint)
            if wp_ is None:
                raise TopologyError(f"{source}: PE {pe.name}: unknown waypoint {pe.waypoint!r}")
            if pe.name not in wp_.pes:
                raise TopologyError(f"{source}: PE {pe.name}: not listed by waypoint {wp_.name}")
            if not pe.services:
                raise TopologyError(f"{source}: PE {pe.name}: offers no service")
            if pe.capacity < 1:
                raise TopologyError(f"{source}: PE {pe.name}: capacity must be >= 1")
            if (pe.kind is PEKind.IN_SWITCH) != (wp_.port is None):
                raise TopologyError(
                    f"{source}: PE {pe.name}: in-switch PEs sit on a waypoint without a port, "
                    f"all other kinds on a waypoint with one (waypoint {wp_.name})"
                )
            self.pes[pe.name] = pe
        for wp in self.waypoints.values():
            if wp.regs is not None and not any(self.pes[p].kind is PEKind.FPGA for p in wp.pes):
                raise TopologyError(
                    f"{source}: waypoint {wp.name}: regs {wp.regs!r} given but it has no FPGA PE"
                )

    # -- construction helpers ------------------------------------------------------------------

    def _add_name(self, name: str, what: str) -> None:
        if not name or not isinstance(name, str):
            raise TopologyError(f"{self.source}: a {what} has no name")
        if not _NAME_RE.fullmatch(name):
            raise TopologyError(
                f"{self.source}: {what} name {short(name)}: use 1-64 ASCII letters, digits,"
                " '_', '-' or '.', starting with a letter or digit"
            )
        for table, kind in (
            (self.switches, "switch"),
            (self.hosts, "host"),
            (self.waypoints, "waypoint"),
            (self.pes, "PE"),
        ):
            if name in table:
                raise TopologyError(
                    f"{self.source}: {what} {name!r}: name already used by a {kind}"
                )

    def _need_switch(self, name: str, what: str) -> None:
        if name not in self.switches:
            raise TopologyError(f"{self.source}: {what}: unknown switch {short(name)}")

    def _claim_port(self, switch: str, port: int, what: str) -> None:
        if not isinstance(port, int) or not 0 <= port <= MAX_PORT:
            raise TopologyError(f"{self.source}: {what}: port {port!r} out of range 0..{MAX_PORT}")
        owner = self._port_owner.get((switch, port))
        if owner is not None:
            raise TopologyError(
                f"{self.source}: {what}: duplicate port {switch}:{port} (already used by {owner})"
            )
        self._port_owner[(switch, port)] = what
        self._ports_of.setdefault(switch, []).append(port)

    # -- queries ---------------------------------------------------------------------------------

    @property
    def graph(self) -> nx.Graph:
        """The switch graph (read-only by convention); edges carry ports, latency, bandwidth."""
        return self._graph

    def ports(self, switch: str) -> tuple[int, ...]:
        return tuple(sorted(self._ports_of.get(switch, ())))

    def port_owner(self, switch: str, port: int) -> str | None:
        return self._port_owner.get((switch, port))

    def _attached(self) -> dict[tuple[str, int], PortRef | Waypoint | Host]:
        got = self._routes.attached
        if got is None:
            got = {}
            for a, b, data in self._graph.edges(data=True):
                got[(a, data["ports"][a])] = PortRef(switch=b, port=data["ports"][b])
                got[(b, data["ports"][b])] = PortRef(switch=a, port=data["ports"][a])
            for wp in self.waypoints.values():
                if wp.port is not None:
                    got.setdefault((wp.switch, wp.port), wp)
            for host in self.hosts.values():
                got.setdefault((host.switch, host.port), host)
            self._routes.attached = got
        return got

    def peer(self, switch: str, port: int) -> PortRef | None:
        """The switch port at the other end of a link, if ``switch:port`` is a link end."""
        got = self._attached().get((switch, port))
        return got if isinstance(got, PortRef) else None

    def link_port(self, a: str, b: str) -> int:
        """The port on ``a`` of the link between ``a`` and ``b``."""
        try:
            port: int = self._graph.edges[a, b]["ports"][a]
        except KeyError as exc:
            raise TopologyError(f"{self.source}: no link between {a} and {b}") from exc
        return port

    def pes_offering(self, service: str) -> tuple[PE, ...]:
        """The PEs offering ``service``, by name."""
        if not self._by_service:
            for pe in sorted(self.pes.values(), key=lambda p: p.name):
                for svc in pe.services:
                    self._by_service[svc] = (*self._by_service.get(svc, ()), pe)
        return self._by_service.get(service, ())

    def services(self) -> frozenset[str]:
        return frozenset(s for pe in self.pes.values() for s in pe.services)

    def waypoint_of(self, pe: str) -> Waypoint:
        return self.waypoints[self.pes[pe].waypoint]

    def waypoint_at(self, switch: str, port: int) -> Waypoint | None:
        got = self._attached().get((switch, port))
        return got if isinstance(got, Waypoint) else None

    def host_at(self, switch: str, port: int) -> Host | None:
        got = self._attached().get((switch, port))
        return got if isinstance(got, Host) else None

    # -- routing ---------------------------------------------------------------------------------

    def route(self, source: str, target: str, metric: Metric = Metric.HOPS) -> Route:
        """The best route from switch ``source`` to switch ``target`` under ``metric``.

        ``hops`` and ``latency`` minimise the sum (latency ties broken by hops); ``bandwidth``
        maximises the bottleneck bandwidth (ties broken by hops). Deterministic: equal-cost
        choices go to the lexicographically smallest neighbour. Every route to ``target``
        follows one shortest-path tree rooted at ``target``, so routes of different sources to
        the same target never disagree on a shared switch. Raises TopologyError when
        ``target`` cannot be reached.
        """
        key = (source, target, metric)
        cached = self._routes.by_key.get(key)
        if cached is not None:
            return cached
        for name in (source, target):
            if name not in self.switches:
                raise TopologyError(f"{self.source}: unknown switch {name!r}")
        hops = self._tree_walk(target, source, metric)
        ports = tuple(self._adj_port[(a, b)] for a, b in itertools.pairwise(hops))
        route = Route(switches=tuple(hops), ports=ports, cost=self._cost(hops, metric))
        self._routes.by_key[key] = route
        return route

    def route_from(self, source: str, target: str, metric: Metric = Metric.HOPS) -> Route:
        """The route from ``source`` to ``target`` along ``source``'s tree: the reverse of
        ``route(target, source)``. Links are undirected and costs symmetric, so it is as good
        as ``route(source, target)``, and it needs no tree rooted at ``target``."""
        there = self.route(target, source, metric)
        hops = list(reversed(there.switches))
        ports = tuple(self._adj_port[(a, b)] for a, b in itertools.pairwise(hops))
        return Route(switches=tuple(hops), ports=ports, cost=there.cost)

    def _tree_walk(self, root: str, start: str, metric: Metric) -> list[str]:
        """Switches from ``start`` to ``root`` along ``root``'s shortest-path tree."""
        tree_key = (root, metric)
        parent = self._routes.trees.get(tree_key)
        if parent is None:
            parent = self._shortest_tree(root, metric)
            self._routes.trees[tree_key] = parent
        if start not in parent:
            raise TopologyError(f"{self.source}: switch {root} is unreachable from {start}")
        hops = [start]
        node = start
        while node != root:
            nxt = parent[node]
            assert nxt is not None
            hops.append(nxt)
            node = nxt
        return hops

    def _cost(self, hops: list[str], metric: Metric) -> float:
        pairs = list(itertools.pairwise(hops))
        if metric is Metric.HOPS:
            return float(len(pairs))
        if metric is Metric.LATENCY:
            return float(sum(self._adj_latency[p] for p in pairs))
        return float(min((self._adj_bandwidth[p] for p in pairs), default=float("inf")))

    def _adjacency(self) -> dict[str, list[str]]:
        adj = self._routes.adjacency
        if not adj:
            for node in self._graph:
                adj[node] = sorted(self._graph[node])
        return adj

    def _shortest_tree(self, target: str, metric: Metric) -> dict[str, str | None]:
        """Next hop towards ``target`` for every switch that can reach it.

        Hops: breadth-first search visiting neighbours in name order. Latency and bandwidth:
        Dijkstra on keys compared lexicographically (primary, hops, node name); bandwidth
        minimises the negated bottleneck.
        """
        adj = self._adjacency()
        parent: dict[str, str | None] = {target: None}
        if metric is Metric.HOPS:
            frontier = [target]
            while frontier:
                nxt_frontier: list[str] = []
                for node in frontier:
                    for nbr in adj[node]:
                        if nbr not in parent:
                            parent[nbr] = node
                            nxt_frontier.append(nbr)
                frontier = nxt_frontier
            return parent
        start = -float("inf") if metric is Metric.BANDWIDTH else 0.0
        best: dict[str, tuple[float, int]] = {target: (start, 0)}
        heap: list[tuple[float, int, str]] = [(start, 0, target)]
        done: set[str] = set()
        while heap:
            primary, nhops, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            for nbr in adj[node]:
                if nbr in done:
                    continue
                if metric is Metric.LATENCY:
                    cand = (primary + self._adj_latency[(node, nbr)], nhops + 1)
                else:
                    cand = (max(primary, -self._adj_bandwidth[(node, nbr)]), nhops + 1)
                old = best.get(nbr)
                if old is None or cand < old:
                    best[nbr] = cand
                    parent[nbr] = node
                    heapq.heappush(heap, (cand[0], cand[1], nbr))
        return parent


# -- loading -------------------------------------------------------------------------------------


def _parse_portref(text: Any, where: str) -> PortRef:
    if isinstance(text, str):
        m = re.fullmatch(r"([^:\s]+):(\d+)", text) or re.fullmatch(r"([^:\s]+)-p(\d+)", text)
        if m:
            return PortRef(switch=m.group(1), port=int(m.group(2)))
    raise TopologyError(
        f"{where}: bad port reference {short(text)} (want 'switch:port' or 'sN-pK')"
    )


def _need(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise TopologyError(f"{where}: missing '{key}'")
    return obj[key]


def _as_mapping(obj: Any, where: str) -> Mapping[str, Any]:
    if obj is None:
        return {}
    if not isinstance(obj, Mapping):
        raise TopologyError(f"{where}: expected a mapping, got {type(obj).__name__}")
    return obj


def _ip(text: Any, where: str) -> ipaddress.IPv4Interface:
    try:
        return ipaddress.IPv4Interface(str(text))
    except ValueError as exc:
        raise TopologyError(f"{where}: bad IPv4 address {text!r}") from exc


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TopologyError(f"{where}: expected an integer, got {value!r}")
    return value


def _float(value: Any, where: str) -> float:
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|us|s|gbps|mbps|kbps)?\s*", value.lower())
        if not m:
            raise TopologyError(f"{where}: bad number {value!r}")
        num = float(m.group(1))
        scale = {"ms": 1.0, "us": 1e-3, "s": 1e3, "gbps": 1.0, "mbps": 1e-3, "kbps": 1e-6}
        return num * scale.get(m.group(2) or "", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TopologyError(f"{where}: expected a number, got {value!r}")
    return float(value)


_REGS_RE = re.compile(
    r"^(?:pcie:(?P<bdf>[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])(?::bar(?P<bar>[0-5]))?"
    r"|mmap:(?P<path>/.+))$"
)


def _regs(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _REGS_RE.match(value):
        raise TopologyError(
            f"{where}: regs {value!r} is not 'pcie:DDDD:BB:DD.F[:barN]' or 'mmap:/absolute/path'"
        )
    return value


def _waypoints_and_pes(raw: Mapping[str, Any], src: str) -> tuple[list[Waypoint], list[PE]]:
    waypoints: list[Waypoint] = []
    pes: list[PE] = []
    for wname, wobj in _as_mapping(raw, f"{src}: waypoints").items():
        where = f"{src}: waypoint {wname}"
        wobj = _as_mapping(wobj, where)
        port = wobj.get("port")
        names: list[str] = []
        for i, pobj in enumerate(wobj.get("pes") or []):
            pwhere = f"{where}: pes[{i}]"
            pobj = _as_mapping(pobj, pwhere)
            pname = str(_need(pobj, "name", pwhere))
            kind_text = str(pobj.get("kind", "software"))
            try:
                kind = PEKind(kind_text)
            except ValueError:
                raise TopologyError(
                    f"{pwhere} ({pname}): unknown kind {kind_text!r} "
                    f"(one of {', '.join(k.value for k in PEKind)})"
                ) from None
            services = pobj.get("services")
            if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
                raise TopologyError(f"{pwhere} ({pname}): 'services' must be a list of names")
            params = _as_mapping(pobj.get("params"), f"{pwhere}: params")
            pes.append(
                PE(
                    name=pname,
                    services=tuple(services),
                    kind=kind,
                    capacity=_int(pobj.get("capacity", 1024), f"{pwhere}: capacity"),
                    waypoint=str(wname),
                    params=tuple(sorted(params.items())),
                )
            )
            names.append(pname)
        waypoints.append(
            Waypoint(
                name=str(wname),
                switch=str(_need(wobj, "switch", where)),
                port=None if port is None else _int(port, f"{where}: port"),
                pes=tuple(names),
                regs=_regs(wobj.get("regs"), where),
            )
        )
    return waypoints, pes


def topology_from_dict(raw: Mapping[str, Any], source: str = "<dict>") -> Topology:
    """Build a Topology from our YAML structure (already parsed)."""
    raw = _as_mapping(raw, source)
    unknown = set(raw) - {"switches", "hosts", "links", "waypoints"}
    if unknown:
        raise TopologyError(f"{source}: unknown top-level key(s) {sorted(unknown)}")
    switches = []
    if not raw.get("switches"):
        raise TopologyError(f"{source}: switches: none given (a topology needs at least one)")
    for i, (name, obj) in enumerate(
        _as_mapping(raw.get("switches"), f"{source}: switches").items()
    ):
        obj = _as_mapping(obj, f"{source}: switch {name}")
        switches.append(
            Switch(
                name=str(name),
                address=str(obj.get("address", f"127.0.0.1:{50051 + i}")),
                device_id=_int(obj.get("device_id", 0), f"{source}: switch {name}: device_id"),
            )
        )
    hosts = []
    for name, obj in _as_mapping(raw.get("hosts"), f"{source}: hosts").items():
        where = f"{source}: host {name}"
        obj = _as_mapping(obj, where)
        hosts.append(
            Host(
                name=str(name),
                ip=_ip(_need(obj, "ip", where), where),
                mac=str(_need(obj, "mac", where)),
                switch=str(_need(obj, "switch", where)),
                port=_int(_need(obj, "port", where), f"{where}: port"),
            )
        )
    links = []
    for i, obj in enumerate(raw.get("links") or []):
        where = f"{source}: links[{i}]"
        if isinstance(obj, list | tuple):
            obj = {"a": obj[0], "b": obj[1]} if len(obj) == 2 else {}
        obj = _as_mapping(obj, where)
        links.append(
            Link(
                a=_parse_portref(_need(obj, "a", where), where),
                b=_parse_portref(_need(obj, "b", where), where),
                latency_ms=_float(obj.get("latency_ms", obj.get("latency", 0.0)), where),
                bandwidth_gbps=_float(obj.get("bandwidth_gbps", obj.get("bandwidth", 10.0)), where),
            )
        )
    waypoints, pes = _waypoints_and_pes(raw.get("waypoints") or {}, source)
    return Topology(
        switches=switches, hosts=hosts, links=links, waypoints=waypoints, pes=pes, source=source
    )


def topology_from_tutorials_json(raw: Mapping[str, Any], source: str = "<json>") -> Topology:
    """Build a Topology from a p4lang/tutorials ``topology.json``.

    Host links are ``["h1", "s1-p1"]``; switch links ``["s1-p2", "s2-p2", "0ms", 100]`` with an
    optional latency and bandwidth (Mb/s, as in the tutorials). Switch P4Runtime addresses default
    to ``127.0.0.1:50051`` upwards in the order switches are listed, device id 0 (as the
    tutorials' run_exercise does). An extra top-level ``waypoints`` key in our YAML form is
    accepted so that a tutorials topology can be given PEs.
    """
    raw = _as_mapping(raw, source)
    hosts_raw = _as_mapping(raw.get("hosts"), f"{source}: hosts")
    switches = [
        Switch(name=str(name), address=f"127.0.0.1:{50051 + i}", device_id=0)
        for i, name in enumerate(_as_mapping(raw.get("switches"), f"{source}: switches"))
    ]
    hosts: list[Host] = []
    links: list[Link] = []
    for i, obj in enumerate(raw.get("links") or []):
        where = f"{source}: links[{i}]"
        if not isinstance(obj, list) or len(obj) < 2:
            raise TopologyError(f"{where}: expected [a, b, latency?, bandwidth?], got {obj!r}")
        a, b = str(obj[0]), str(obj[1])
        if a in hosts_raw or b in hosts_raw:
            hname, sref = (a, b) if a in hosts_raw else (b, a)
            ref = _parse_portref(sref, where)
            hobj = _as_mapping(hosts_raw[hname], f"{source}: host {hname}")
            hwhere = f"{source}: host {hname}"
            hosts.append(
                Host(
                    name=hname,
                    ip=_ip(_need(hobj, "ip", hwhere), hwhere),
                    mac=str(_need(hobj, "mac", hwhere)),
                    switch=ref.switch,
                    port=ref.port,
                )
            )
            continue
        latency = _float(obj[2], where) if len(obj) > 2 else 0.0
        bandwidth = _float(obj[3], where) / 1000.0 if len(obj) > 3 and obj[3] else 10.0
        links.append(
            Link(
                a=_parse_portref(a, where),
                b=_parse_portref(b, where),
                latency_ms=latency,
                bandwidth_gbps=bandwidth,
            )
        )
    missing = set(hosts_raw) - {h.name for h in hosts}
    if missing:
        raise TopologyError(f"{source}: host(s) {sorted(missing)} have no link to a switch")
    waypoints, pes = _waypoints_and_pes(raw.get("waypoints") or {}, source)
    return Topology(
        switches=switches, hosts=hosts, links=links, waypoints=waypoints, pes=pes, source=source
    )


def load_topology(path: str | Path) -> Topology:
    """Load a topology from our YAML format or a p4lang/tutorials ``topology.json``."""
    from wphw._load import load

    path = Path(path)
    raw = _as_mapping(load(path, TopologyError), str(path))
    links = raw.get("links") or []
    tutorials = any(
        isinstance(link, list) and any(isinstance(x, str) and "-p" in x for x in link[:2])
        for link in links
    )
    if tutorials:
        return topology_from_tutorials_json(raw, str(path))
    return topology_from_dict(raw, str(path))
