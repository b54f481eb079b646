"""Shared set-up of the controller tests: Table 1 with a second IDS, both switches served by the
P4Runtime TEST DOUBLE (real gRPC), a SQLite store in a temporary folder, and the HTTP API on
a free loopback port. HTTP requests go through the standard library's http.client."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from p4rt_common import TEST_P4INFO
from p4rt_testserver import P4RuntimeTestServer

import wphw
from wphw.controller.api import Api, ApiServer
from wphw.controller.metrics import render
from wphw.controller.service import Service, Tokens, tenant_roles, tokens_from_dict
from wphw.controller.store import Store
from wphw.controller.view import page
from wphw.p4rt import Fabric, Pipeline

REPO = Path(__file__).resolve().parent.parent
POLICY = yaml.safe_load((REPO / "examples/table1/policy.yaml").read_text())
CONTROLS = {"wp_s2": "wp_s2.sock", "wp_s2b": "wp_s2b.sock", "wp_legacy": "wp_legacy.sock"}

# the rule most tests add: Table 1's web traffic through the IDS, on subscriber switch s1
WEB = {
    "name": "web-ids",
    "subscriber": "s1",
    "priority": 50,
    "match": {"dst": "198.51.100.0/24", "proto": "tcp", "dst_port": 443},
    "actions": ["ids", "route"],
}

ADMIN = "admin-token-0123456789"
VIEWER = "viewer-token-0123456789"
ACME = "acme-token-0123456789ab"  # tenant on s1
BETA = "beta-token-0123456789ab"  # tenant on s2
TOKENS = {
    "tokens": [
        {"name": "ops", "token": ADMIN, "access": "admin"},
        {"name": "viewer", "token": VIEWER, "access": "read"},
        {"name": "acme", "token": ACME, "access": "tenant", "switches": ["s1"], "write": True},
        {"name": "beta", "token": BETA, "access": "tenant", "switches": ["s2"], "write": True},
    ]
}


def topology_raw(servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer]) -> dict[str, Any]:
    raw = yaml.safe_load((REPO / "examples/table1/topology.yaml").read_text())
    raw["switches"]["s1"] = {"address": servers[0].address, "device_id": 1}
    raw["switches"]["s2"] = {"address": servers[1].address, "device_id": 1}
    raw["waypoints"]["wp_s2b"] = {
        "switch": "s2",
        "port": 6,
        "pes": [{"name": "ids2", "services": ["ids"], "kind": "software"}],
    }
    return raw


def installed(server: P4RuntimeTestServer) -> set[bytes]:
    return {te.SerializeToString(deterministic=True) for te in server.entries()}


def expected(plan: wphw.Plan, switch: str) -> set[bytes]:
    from wphw.p4rt import Encoder, Schema

    enc = Encoder(Schema.load(TEST_P4INFO))
    return {
        enc.encode(e).SerializeToString(deterministic=True)
        for e in plan.entries_for(switch)
        if not e.is_default
    }


@dataclass
class Running:
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer]
    topo: wphw.Topology
    service: Service
    fabric: Fabric
    server: ApiServer
    store: Store
    down: set[str] = field(default_factory=set)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = ADMIN,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        host, port = self.server.server_address[:2]
        conn = http.client.HTTPConnection(str(host), int(port), timeout=30)
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        ctype = resp.getheader("Content-Type") or ""
        return resp.status, json.loads(text) if ctype.startswith(
            "application/json"
        ) else text.decode()

    def matches_plan(self) -> bool:
        plan = self.service.ctl.plan
        assert plan is not None
        return all(
            installed(self.servers[i]) == expected(plan, sw) for i, sw in enumerate(("s1", "s2"))
        )

    def snapshot(self) -> tuple[set[bytes], set[bytes], int, int]:
        a, b = self.servers
        return installed(a), installed(b), a.write_rpcs, b.write_rpcs


@contextmanager
def running_controller(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer],
    db: Path,
    *,
    policy: dict[str, Any] | None = None,
    tokens: bool = True,
    misses: int = 2,
    down: set[str] | None = None,
    roles: bool = False,
    controls: dict[str, str] | None = None,
    alive: Callable[[str], bool] | None = None,
) -> Iterator[Running]:
    """``roles``: the tenants' P4Runtime roles (``tenant_roles``), as ``--tenant-roles``.
    ``controls``/``alive``: the watched waypoints and the health check (default: CONTROLS,
    down when named in ``down``)."""
    topo = wphw.topology_from_dict(topology_raw(servers))
    down = set() if down is None else down
    with (
        Store(db) as store,
        Fabric(
            topo,
            pipeline=Pipeline.load(TEST_P4INFO),
            retries=1,
            backoff=0.01,
            drain=0,
            roles=tenant_roles(tokens_from_dict(TOKENS, topo)) if roles else None,
        ) as fabric,
    ):
        service = Service(
            topo,
            policy or POLICY,
            fabric,
            store,
            controls=CONTROLS if controls is None else controls,
            alive=(lambda c: c not in down) if alive is None else alive,
            misses=misses,
        )
        service.start()
        toks = Tokens(tokens_from_dict(TOKENS, topo) if tokens else None)
        api = Api(
            service,
            toks,
            read_counters=fabric.read_direct_counters,
            read_counters_many=fabric.read_direct_counters_many,
            metrics=lambda t: render(
                service, fabric.read_direct_counters, t, fabric.read_direct_counters_many
            ),
            page=page,
        )
        server = ApiServer(("127.0.0.1", 0), api)
        server.start()
        try:
            yield Running(servers, topo, service, fabric, server, store, down)
        finally:
            server.shutdown()
            server.server_close()
