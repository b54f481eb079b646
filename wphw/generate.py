"""Generated topologies and policies: k-ary fat trees with waypoints, and random rule sets.

Used by ``examples/fattree`` and ``bench/plan_scale.py``. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from typing import Any

CHAINS: tuple[tuple[str, ...], ...] = (
    ("ids",),
    ("encrypt",),
    ("ids", "nat"),
    ("fw", "ids"),
    ("count",),
)


def fat_tree(
    k: int,
    *,
    waypoint_pods: int | None = None,
    capacity: int = 100_000,
    crypto_keys: bool = False,
) -> dict[str, Any]:
    """A k-ary fat tree (5k²/4 switches, one host per edge switch) in our YAML structure.

    Every one of the first ``waypoint_pods`` pods (default: all) gets a waypoint on its first
    aggregation switch with an FPGA PE (encrypt), a software PE (ids), and an in-switch PE
    (nat, fw, count) inside that switch.
    """
    if k < 2 or k % 2:
        raise ValueError("fat-tree arity k must be an even number >= 2")
    half = k // 2
    switches: dict[str, Any] = {}
    next_port: dict[str, int] = {}

    def sw(name: str) -> str:
        if name not in switches:
            switches[name] = {"address": f"127.0.0.1:{50051 + len(switches)}", "device_id": 0}
            next_port[name] = 1
        return name

    def port(name: str) -> int:
        p = next_port[name]
        next_port[name] = p + 1
        return p

    links: list[dict[str, Any]] = []

    def link(a: str, b: str) -> None:
        links.append({"a": f"{a}:{port(a)}", "b": f"{b}:{port(b)}"})

    cores = [sw(f"c{i}_{j}") for i in range(half) for j in range(half)]
    hosts: dict[str, Any] = {}
    waypoints: dict[str, Any] = {}
    wp_pods = k if waypoint_pods is None else waypoint_pods
    for pod in range(k):
        aggs = [sw(f"p{pod}a{i}") for i in range(half)]
        edges = [sw(f"p{pod}e{i}") for i in range(half)]
        for i, agg in enumerate(aggs):
            for j in range(half):
                link(agg, cores[i * half + j])
        for e_i, edge in enumerate(edges):
            for agg in aggs:
                link(edge, agg)
            n = pod * half + e_i
            hosts[f"h{pod}_{e_i}"] = {
                "ip": f"10.{pod}.{e_i}.2/24",
                "mac": f"08:00:00:{pod:02x}:{e_i:02x}:02",
                "switch": edge,
                "port": port(edge),
            }
            del n
        if pod < wp_pods:
            agg = aggs[0]
            waypoints[f"wp{pod}"] = {
                "switch": agg,
                "port": port(agg),
                "pes": [
                    {
                        "name": f"crypto{pod}",
                        "services": ["encrypt"],
                        "kind": "fpga",
                        "capacity": capacity,
                        # a per-pod demo key (real deployments give their own); with a key the
                        # plan programs the FPGA waypoint, whose context table holds 64 rows
                        **(
                            {"params": {"key": f"{pod + 1:02x}" * 32, "key_id": pod + 1}}
                            if crypto_keys
                            else {}
                        ),
                    },
                    {
                        "name": f"ids{pod}",
                        "services": ["ids"],
                        "kind": "software",
                        "capacity": capacity,
                    },
                ],
            }
            waypoints[f"wp{pod}_in"] = {
                "switch": agg,
                "pes": [
                    {
                        "name": f"insw{pod}",
                        "services": ["nat", "fw", "count"],
                        "kind": "in-switch",
                        "capacity": capacity,
                    }
                ],
            }
    return {"switches": switches, "hosts": hosts, "links": links, "waypoints": waypoints}


def random_policy(
    topology: dict[str, Any],
    n_rules: int,
    *,
    seed: int = 1,
    instances: int = 2,
    subscribers: int | None = None,
    chain_end: str = "subscriber",
) -> dict[str, Any]:
    """``n_rules`` rules spread over the edge switches (the first ``subscribers`` of them, or
    all): each steers TCP to one destination host (and port) through one of :data:`CHAINS`,
    or (one in ten) drops plainly."""
    rng = random.Random(seed)
    hosts = sorted(topology["hosts"].items())
    edges = sorted({h["switch"] for _, h in hosts})[:subscribers]
    by_sub: dict[str, list[dict[str, Any]]] = {e: [] for e in edges}
    for i in range(n_rules):
        sub = edges[i % len(edges)]
        _, dst = hosts[rng.randrange(len(hosts))]
        rule: dict[str, Any] = {
            "name": f"r{i}",
            "match": {
                "dst": dst["ip"].split("/")[0] + "/32",
                "proto": "tcp",
                "dst_port": 1024 + i // len(edges),
            },
        }
        if rng.random() < 0.1:
            rule["actions"] = ["drop"]
        else:
            rule["actions"] = [*CHAINS[rng.randrange(len(CHAINS))], "route"]
        by_sub[sub].append(rule)
    services = {s: {"instances": instances} for s in ("ids", "encrypt", "nat", "fw", "count")}
    return {
        "metric": "hops",
        "chain_end": chain_end,
        "services": services,
        "subscribers": {k: v for k, v in by_sub.items() if v},
    }
