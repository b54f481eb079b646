"""The controller against the P4Runtime TEST DOUBLE (a real gRPC server answering like BMv2):
install, PE failure and recovery (failover and failure modes), policy change, and that a plan
failing verification is never written."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from p4rt_common import TEST_P4INFO
from p4rt_testserver import P4RuntimeTestServer

import wphw
from wphw.controller import Controller
from wphw.errors import VerificationError
from wphw.p4rt.encode import Encoder
from wphw.p4rt.fabric import Fabric, Pipeline
from wphw.p4rt.schema import Schema

REPO = Path(__file__).resolve().parent.parent


def table1_with_two_ids(servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer]) -> dict[str, Any]:
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
    enc = Encoder(Schema.load(TEST_P4INFO))
    return {
        enc.encode(e).SerializeToString(deterministic=True)
        for e in plan.entries_for(switch)
        if not e.is_default
    }


def test_failover_failure_modes_and_updates(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer],
) -> None:
    topo = wphw.topology_from_dict(table1_with_two_ids(servers))
    policy = wphw.load_policy(REPO / "examples/table1/policy.yaml")
    down: set[str] = set()
    controls = {"wp_s2": "wp_s2.sock", "wp_s2b": "wp_s2b.sock", "wp_legacy": "wp_legacy.sock"}
    with Fabric(topo, pipeline=Pipeline.load(TEST_P4INFO), retries=1, backoff=0.01) as fabric:
        ctl = Controller(topo, policy, fabric, controls=controls, alive=lambda c: c not in down)
        ctl.install()
        assert ctl.plan is not None
        first = ctl.plan
        by = {b.rule: b for b in first.bindings}
        assert by["ids-nat"].paths == 2  # balanced over ids1 and ids2
        for i, sw in enumerate(("s1", "s2")):
            assert installed(servers[i]) == expected(first, sw)
        assert ctl.poll() is None  # nothing changed, nothing written

        # one IDS dies: its paths move to the other instance (fresh SPI, make-before-break)
        down.add("wp_s2.sock")
        change = ctl.poll()
        assert change is not None and change.failed == frozenset({"ids1"})
        b = {x.rule: x for x in ctl.plan.bindings}["ids-nat"]
        assert b.paths == 1 and b.spi not in first.spis()
        assert {h.pe for p in ctl.plan.paths for h in p.hops if h.service == "ids"} == {"ids2"}
        for i, sw in enumerate(("s1", "s2")):
            assert installed(servers[i]) == expected(ctl.plan, sw)

        # both die: ids has failure mode bypass, so the chain keeps only nat
        down.add("wp_s2b.sock")
        ctl.poll()
        b = {x.rule: x for x in ctl.plan.bindings}["ids-nat"]
        assert b.skipped == ("ids",) and b.action == "start_chain"
        # the legacy proxy dies: http_proxy has failure mode block, so that rule drops
        down.add("wp_legacy.sock")
        ctl.poll()
        assert {x.rule: x for x in ctl.plan.bindings}["http-proxy"].action == "drop"
        for i, sw in enumerate(("s1", "s2")):
            assert installed(servers[i]) == expected(ctl.plan, sw)

        # everything comes back
        down.clear()
        ctl.poll()
        assert {x.rule: x for x in ctl.plan.bindings}["ids-nat"].paths == 2
        for i, sw in enumerate(("s1", "s2")):
            assert installed(servers[i]) == expected(ctl.plan, sw)
        assert len(ctl.history) == 5


def test_a_plan_that_fails_verification_is_never_written(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    topo = wphw.topology_from_dict(table1_with_two_ids(servers))
    policy = wphw.load_policy(REPO / "examples/table1/policy.yaml")
    with Fabric(topo, pipeline=Pipeline.load(TEST_P4INFO), retries=1, backoff=0.01) as fabric:
        ctl = Controller(topo, policy, fabric)
        ctl.install()
        before = (installed(servers[0]), installed(servers[1]))
        import wphw.controller as controller_module

        real_compile = controller_module.compile

        def broken_compile(*args: Any, **kwargs: Any) -> wphw.Plan:
            plan = real_compile(*args, **kwargs)
            entries = dict(plan.entries)
            entries["s2"] = tuple(e for e in entries["s2"] if e.table != "wp_sff")
            return dataclasses.replace(plan, entries=entries)

        monkeypatch.setattr(controller_module, "compile", broken_compile)
        changed = wphw.policy_from_dict(
            {
                "subscribers": {
                    "s1": [{"name": "only", "match": {"proto": "tcp"}, "actions": ["ids"]}]
                }
            }
        )
        with pytest.raises(VerificationError, match="rule only"):
            ctl.install(changed)
        assert (installed(servers[0]), installed(servers[1])) == before
        assert ctl.policy is policy  # the refused policy did not become the desired state


def test_a_failed_reinstall_is_retried_on_the_next_poll(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: poll recorded the failed PEs before installing; when the install raised,
    every later poll saw no change and the dead PE was never re-steered."""
    topo = wphw.topology_from_dict(table1_with_two_ids(servers))
    policy = wphw.load_policy(REPO / "examples/table1/policy.yaml")
    down: set[str] = set()
    controls = {"wp_s2": "wp_s2.sock", "wp_s2b": "wp_s2b.sock", "wp_legacy": "wp_legacy.sock"}
    with Fabric(topo, pipeline=Pipeline.load(TEST_P4INFO), retries=1, backoff=0.01) as fabric:
        ctl = Controller(topo, policy, fabric, controls=controls, alive=lambda c: c not in down)
        ctl.install()
        first = ctl.plan
        real_apply = fabric.apply
        calls = {"n": 0}

        def flaky_apply(plan: Any, **kw: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 1:
                raise wphw.WphwError("switch went away (test)")
            return real_apply(plan, **kw)

        monkeypatch.setattr(fabric, "apply", flaky_apply)
        down.add("wp_s2.sock")
        with pytest.raises(wphw.WphwError, match="went away"):
            ctl.poll()
        assert ctl.failed == frozenset() and ctl.plan is first
        change = ctl.poll()  # sees the dead PE again and retries
        assert change is not None and change.failed == frozenset({"ids1"})
        assert installed(servers[0]) == expected(ctl.plan, "s1")
