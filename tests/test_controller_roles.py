"""Tenants as P4Runtime roles (``--tenant-roles``) on the P4Runtime TEST DOUBLE over real gRPC.

With ``per_role`` the test double runs the P4Runtime spec's per-role arbitration (each role
name its own election and primary), which BMv2 does not (tests/test_p4rt_roles_bmv2.py shows
BMv2's one primary per device): the controller is primary of its own role and of each tenant's
role at once, and a tenant's switch's classifier updates arrive through the tenant's role while
the service paths come through the controller's. Without it (BMv2's behaviour) the tenant role
streams are refused, everything goes through the controller's stream, and status says so."""

from __future__ import annotations

import time
from pathlib import Path

from controller_harness import ACME, BETA, TOKENS, WEB, running_controller
from p4rt_testserver import P4RuntimeTestServer

from wphw.controller.service import Token, tenant_roles

ACME_ROLE, BETA_ROLE = "wphw-tenant-acme", "wphw-tenant-beta"


def _classify_id(server: P4RuntimeTestServer) -> int:
    return next(
        t.preamble.id for t in server.state.p4info.tables if t.preamble.name.endswith("wp_classify")
    )


def _roles_by_table(server: P4RuntimeTestServer, since: int = 0) -> dict[str, set[bool]]:
    """role → {is wp_classify} for each update written since Write number ``since``."""
    cid = _classify_id(server)
    out: dict[str, set[bool]] = {}
    for role, tables in server.role_log[since:]:
        out.setdefault(role, set()).update(t == cid for t in tables)
    return out


def test_tenant_roles_map_each_writing_tenant_to_its_switches_classifier() -> None:
    toks = [
        Token(name="ops", secret="o" * 16, access="admin", write=True),
        Token(name="a", secret="a" * 16, access="tenant", switches=frozenset({"s1", "s3"}),
              write=True),
        Token(name="b", secret="b" * 16, access="tenant", switches=frozenset({"s3"}), write=True),
        Token(name="c", secret="c" * 16, access="tenant", switches=frozenset({"s2"})),
    ]  # fmt: skip
    # s3 is shared by two writing tenants (roles scope tables, not entries): no role;
    # c only reads: no role
    assert tenant_roles(toks) == {"s1": {"wphw-tenant-a": ("wp_classify",)}}


def test_tenant_roles_on_a_switch_with_per_role_primaries(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    for s in servers:
        s.per_role = True
    with running_controller(servers, tmp_path / "c.db", roles=True) as rc:
        status = rc.request("GET", "/api/v1/status")[1]
        assert status["tenant_roles"] == {"s1": {ACME_ROLE: True}, "s2": {BETA_ROLE: True}}
        # both primaries at once on each switch: the controller's role and the tenant's
        for srv, role in zip(servers, (ACME_ROLE, BETA_ROLE), strict=True):
            assert {k: p.election_id for k, p in srv._primaries.items()} == {"": 1, role: 1}
        # the start: paths through the controller's role, the classifier through the tenant's
        assert _roles_by_table(servers[0]) == {"": {False}, ACME_ROLE: {True}}
        assert _roles_by_table(servers[1]) == {"": {False}}  # no rule on s2 yet
        n = len(servers[0].role_log)
        status_code, out = rc.request("POST", "/api/v1/rules", WEB, token=ACME)
        assert status_code == 201 and out["change"]["delta_apply"], out
        got = _roles_by_table(servers[0], n)
        assert got[ACME_ROLE] == {True} and got.get("", {False}) == {False}
        n = len(servers[1].role_log)
        status_code, out = rc.request(
            "POST", "/api/v1/rules", {**WEB, "name": "beta-web", "subscriber": "s2"}, token=BETA
        )
        assert status_code == 201 and out["change"]["delta_apply"], out
        assert _roles_by_table(servers[1], n)[BETA_ROLE] == {True}
        assert rc.matches_plan()
        # the controller's reconnect (a restarted switch) takes the roles again
        servers[0].crash()
        assert rc.service.reconcile() > 0 and rc.matches_plan()
        assert rc.request("GET", "/api/v1/status")[1]["tenant_roles"]["s1"] == {ACME_ROLE: True}


def test_a_tenant_role_taken_by_another_client_is_no_longer_used(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    """Another client arbitrates for acme's role on s1 with a higher election id: the switch
    tells the controller's role stream it is a backup now; status says the role is not held,
    and acme's next rule is written through the controller's own stream."""
    import grpc
    from finsy.proto import p4r, p4r_grpc

    for s in servers:
        s.per_role = True
    with running_controller(servers, tmp_path / "c.db", roles=True) as rc:
        assert rc.request("GET", "/api/v1/status")[1]["tenant_roles"]["s1"] == {ACME_ROLE: True}
        channel = grpc.insecure_channel(servers[0].address)
        req = p4r.StreamMessageRequest()
        req.arbitration.device_id = servers[0].device_id
        req.arbitration.election_id.low = 9
        req.arbitration.role.name = ACME_ROLE
        call = p4r_grpc.P4RuntimeStub(channel).StreamChannel(iter([req]))
        try:
            assert next(call).arbitration.status.code == 0  # the other client: primary
            deadline = time.monotonic() + 5
            while rc.request("GET", "/api/v1/status")[1]["tenant_roles"]["s1"][ACME_ROLE]:
                assert time.monotonic() < deadline, "the controller still thinks it holds it"
                time.sleep(0.02)
            n = len(servers[0].role_log)
            status_code, out = rc.request("POST", "/api/v1/rules", WEB, token=ACME)
            assert status_code == 201, out
            assert {role for role, _ in servers[0].role_log[n:]} == {""}
            assert rc.matches_plan()
        finally:
            call.cancel()
            channel.close()


def test_tenant_roles_on_a_switch_with_one_primary_per_device(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    """BMv2's (PI's) arbitration: the tenant role stream, with the controller's election id, is
    refused ("Election id already exists"), nothing else changes, and every update goes
    through the controller's stream."""
    assert not servers[0].per_role
    with running_controller(servers, tmp_path / "c.db", roles=True) as rc:
        status = rc.request("GET", "/api/v1/status")[1]
        assert status["tenant_roles"] == {"s1": {ACME_ROLE: False}, "s2": {BETA_ROLE: False}}
        assert set(_roles_by_table(servers[0])) == {""}
        status_code, out = rc.request("POST", "/api/v1/rules", WEB, token=ACME)
        assert status_code == 201, out
        assert {role for role, _ in servers[0].role_log} == {""}
        assert rc.matches_plan()


def test_without_tenant_roles_status_names_none(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    with running_controller(servers, tmp_path / "c.db") as rc:
        assert rc.request("GET", "/api/v1/status")[1]["tenant_roles"] == {}
    assert TOKENS["tokens"]  # the harness's tenants: acme on s1, beta on s2
