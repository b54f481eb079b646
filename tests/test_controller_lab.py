"""The controller process beside a real BMv2 lab (marked bmv2 + lab: needs root, network
namespaces and simple_switch_grpc). What the switches hold is read back with a separate,
read-only P4Runtime session — not taken from the controller's word.

* a PE killed under traffic: the daemon re-steers and delivery comes back (the failover
  experiment, with ``wphw controller run`` instead of an in-process Controller);
* a rule added over the API is on the switches; a refused rule changes nothing;
* a restarted simple_switch_grpc is reconciled by the running controller;
* SIGTERM stops it; started again on the same database it writes nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_lab import _bmv2_missing, needs_root

import wphw
from wphw.errors import WphwError

REPO = Path(__file__).resolve().parent.parent


def _stop(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM ``pid`` (a child of this process or not) and wait until it is gone."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child (no zombie left)
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not stop within {timeout} s")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
def test_daemon_failover_restores_delivery(tmp_path: Path) -> None:
    from wphw.lab.experiments import failover

    res = failover(
        REPO / "examples/failover",
        tmp_path,
        rate=300,
        seconds=5,
        lab_id="t8",
        daemon=f"127.0.0.1:{_free_port()}",
    )
    assert res.controller["daemon"] and res.controller["reason"] == "PE(s) ids1 failed"
    assert res.kill_to_restored_ms is not None  # delivery came back through ids2
    assert res.delivered > res.sent // 2


def _read_back(topo: wphw.Topology) -> dict[str, set[object]]:
    from wphw.p4rt import Fabric, Pipeline
    from wphw.resources import BMV2_JSON, P4INFO

    f = Fabric(topo, pipeline=Pipeline.load(P4INFO, BMV2_JSON))
    f.connect(arbitrate=False)  # read-only: does not take the primary role
    try:
        return {sw: {e for e in f.read(sw) if not e.is_default} for sw in topo.switches}
    finally:
        f.close()


def _planned(plan: wphw.Plan, topo: wphw.Topology) -> dict[str, set[object]]:
    return {sw: {e for e in plan.entries_for(sw) if not e.is_default} for sw in topo.switches}


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
def test_lab_controller_rules_reconcile_and_restart(tmp_path: Path) -> None:
    import json

    from wphw.controller.cli import Client, start_beside_lab
    from wphw.lab import Lab

    topo = wphw.load_topology(REPO / "examples/table1/topology.yaml")
    policy = wphw.load_policy(REPO / "examples/table1/policy.yaml")
    lab = Lab(topo, policy, tmp_path, lab_id="t9")
    lab.up()
    extra = ("--reconcile-interval", "0.5")
    listen = f"127.0.0.1:{_free_port()}"
    try:
        url = start_beside_lab(REPO / "examples/table1", lab, listen, extra=extra)
        api = Client(url, (tmp_path / "admin.token").read_text().strip())

        def plan() -> wphw.Plan:
            return wphw.Plan.from_json(json.dumps(api.call("GET", "/api/v1/plan")))

        assert api.call("GET", "/api/v1/status")["last_change"]["written"] == 0
        assert _read_back(topo) == _planned(plan(), topo)

        rule = {
            "name": "web-ids",
            "subscriber": "s1",
            "priority": 50,
            "match": {"dst": "198.51.100.0/24", "proto": "tcp", "dst_port": 443},
            "actions": ["ids", "route"],
        }
        out = api.call("POST", "/api/v1/rules", rule)
        assert out["change"]["written"] >= 1
        now = _read_back(topo)
        assert now == _planned(plan(), topo)
        with pytest.raises(WphwError, match="422 PolicyError"):
            api.call("POST", "/api/v1/rules", {**rule, "name": "x", "actions": ["nosuch"]})
        assert _read_back(topo) == now

        # restart s2 (same command line, as a crashed switch comes back): reconciled
        pid = lab.state.pids["s2"]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        _stop(pid)
        with (tmp_path / "s2-restarted.log").open("wb") as log:
            proc = subprocess.Popen(
                [c.decode() for c in cmdline], stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        lab.state.pids["s2"] = proc.pid  # so that lab down stops it
        lab.state.save()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ev = [e for e in api.call("GET", "/api/v1/events") if e["kind"] == "reconcile"]
            if ev and ev[-1]["result"] == "ok":
                break
            time.sleep(0.2)
        assert ev and ev[-1]["switches"] == ["s2"] and ev[-1]["written"] > 0
        assert _read_back(topo) == _planned(plan(), topo)

        # SIGTERM, then start again on the same database: nothing written
        _stop(lab.state.pids["controller"])
        url = start_beside_lab(REPO / "examples/table1", lab, listen, extra=extra)
        api = Client(url, (tmp_path / "admin.token").read_text().strip())
        kinds = [e["kind"] for e in api.call("GET", "/api/v1/events")]
        assert kinds[-2:] == ["stop", "start"]
        assert api.call("GET", "/api/v1/status")["last_change"]["written"] == 0
        assert "web-ids" in {r["name"] for r in api.call("GET", "/api/v1/rules")}
        assert _read_back(topo) == _planned(plan(), topo)
    finally:
        lab.down()
