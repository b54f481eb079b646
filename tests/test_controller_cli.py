"""``wphw controller run`` as a real process (against two P4Runtime TEST DOUBLE switches over
gRPC) driven by ``wphw ctl``: status, add, rules, rm, events, counters; a switch restarted
under it is reconciled by the running loop; SIGTERM stops it cleanly (exit 0, an event logged);
started again on the same database it writes nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from controller_harness import ADMIN, TOKENS, VIEWER, installed, topology_raw
from p4rt_common import TEST_P4INFO
from p4rt_testserver import P4RuntimeTestServer, free_port

from wphw.errors import WphwError

REPO = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wphw(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, "-m", "wphw.cli", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    if check:
        assert p.returncode == 0, p.stderr
    return p


class Daemon:
    def __init__(self, tmp: Path, port: int, extra: tuple[str, ...] = ()) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(tmp / "controller.log", "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wphw.cli",
                "controller",
                "run",
                "--topo",
                str(tmp / "topology.yaml"),
                "--policy",
                str(REPO / "examples/table1/policy.yaml"),
                "--listen",
                f"127.0.0.1:{port}",
                "--db",
                str(tmp / "c.db"),
                "--tokens",
                str(tmp / "tokens.yaml"),
                "--p4info",
                str(TEST_P4INFO),
                "--reconcile-interval",
                "0.3",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "listening on ..." once installed
        assert "listening on" in line, (line, (tmp / "controller.log").read_text())

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        assert self.proc.stdout is not None
        rest = self.proc.stdout.read()
        self.proc.stdout.close()
        self.log.close()
        return rc, rest


def test_run_ctl_reconcile_sigterm_and_resume(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(topology_raw(servers)))
    (tmp_path / "tokens.yaml").write_text(yaml.safe_dump(TOKENS))
    (tmp_path / "admin.token").write_text(ADMIN + "\n")
    (tmp_path / "viewer.token").write_text(VIEWER + "\n")
    port = free_port()
    d = Daemon(tmp_path, port)
    try:
        ctl = ("ctl", "--url", d.url, "--token-file", str(tmp_path / "admin.token"))
        status = json.loads(_wphw(*ctl, "--json", "status").stdout)
        assert status["policy_version"] == 1 and status["entries"] > 0
        out = _wphw(
            *ctl,
            "add",
            "web-ids",
            "--subscriber",
            "s1",
            "--match",
            "dst=198.51.100.0/24",
            "--match",
            "proto=tcp",
            "--actions",
            "ids,route",
            "--priority",
            "50",
        ).stdout
        assert "rule-add web-ids by ops: policy version 2" in out
        assert "web-ids" in _wphw(*ctl, "rules").stdout
        # a refused rule: one line, exit 2, nothing written
        writes = servers[0].write_rpcs + servers[1].write_rpcs
        bad = _wphw(*ctl, "add", "x", "--subscriber", "s1", "--actions", "nosuch", check=False)
        assert (
            bad.returncode == 2 and bad.stderr.count("\n") == 1 and "422 PolicyError" in bad.stderr
        )
        viewer = ("ctl", "--url", d.url, "--token-file", str(tmp_path / "viewer.token"))
        ro = _wphw(*viewer, "rm", "web-ids", check=False)
        assert ro.returncode == 2 and "403 AccessError" in ro.stderr
        assert servers[0].write_rpcs + servers[1].write_rpcs == writes
        assert (
            "rule-remove udp-drop by ops: policy version 3" in _wphw(*ctl, "rm", "udp-drop").stdout
        )
        # a switch restarts under the running controller: the loop repairs it
        servers[1].crash()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not installed(servers[1]):
            time.sleep(0.1)
        assert installed(servers[1])
        events = json.loads(_wphw(*ctl, "--json", "events").stdout)
        assert [e["kind"] for e in events][:4] == ["start", "rule-add", "rule-add", "rule-remove"]
        assert any(e["kind"] == "reconcile" and e["switches"] == ["s2"] for e in events)
        assert "SPI" in _wphw(*ctl, "counters").stdout
    finally:
        rc, rest = d.stop()
    assert rc == 0 and "stopped" in rest
    # started again: the same desired state, nothing written
    writes = servers[0].write_rpcs + servers[1].write_rpcs
    d = Daemon(tmp_path, port)
    try:
        ctl = ("ctl", "--url", d.url, "--token-file", str(tmp_path / "admin.token"))
        status = json.loads(_wphw(*ctl, "--json", "status").stdout)
        assert status["policy_version"] == 3 and status["last_change"]["written"] == 0
        assert servers[0].write_rpcs + servers[1].write_rpcs == writes
        events = json.loads(_wphw(*ctl, "--json", "events", "--limit", "2").stdout)
        assert [e["kind"] for e in events] == ["stop", "start"]
    finally:
        assert d.stop()[0] == 0


def test_non_loopback_without_tokens_is_refused(tmp_path: Path) -> None:
    p = _wphw(
        "controller",
        "run",
        "table1",
        "--listen",
        "0.0.0.0:0",
        "--db",
        str(tmp_path / "c.db"),
        check=False,
    )
    assert p.returncode == 2 and "needs --tokens" in p.stderr
    assert not (tmp_path / "c.db").exists()  # refused before anything was created


def test_tenant_roles_need_tokens(tmp_path: Path) -> None:
    p = _wphw(
        "controller", "run", "table1", "--tenant-roles", "--db", str(tmp_path / "c.db"),
        check=False,
    )  # fmt: skip
    assert p.returncode == 2 and "--tenant-roles" in p.stderr and "--tokens" in p.stderr
    assert not (tmp_path / "c.db").exists()


def test_run_with_tenant_roles(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    """``--tenant-roles`` on switches with per-role elections: the process holds each tenant's
    role beside its own, as status says."""
    for srv in servers:
        srv.per_role = True
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(topology_raw(servers)))
    (tmp_path / "tokens.yaml").write_text(yaml.safe_dump(TOKENS))
    (tmp_path / "admin.token").write_text(ADMIN + "\n")
    d = Daemon(tmp_path, free_port(), ("--tenant-roles",))
    try:
        ctl = ("ctl", "--url", d.url, "--token-file", str(tmp_path / "admin.token"))
        status = json.loads(_wphw(*ctl, "--json", "status").stdout)
        assert status["tenant_roles"] == {
            "s1": {"wphw-tenant-acme": True},
            "s2": {"wphw-tenant-beta": True},
        }
        assert {role for role, _ in servers[0].role_log} == {"", "wphw-tenant-acme"}
    finally:
        assert d.stop()[0] == 0


def test_sigkill_mid_apply_ends_at_exactly_the_old_plan(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    """The controller is SIGKILLed while a rule change is half written (s2 already holds the new
    path's entries, s1 answers its Writes late so its classifier has not flipped — a rule
    change is written as a delta, without Reads); started again,
    it applies the installed plan from its database: the switches end at exactly the old plan,
    and the interrupted rule is not part of the desired state."""
    import threading

    from controller_harness import expected

    import wphw
    from wphw.controller.cli import Client

    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(topology_raw(servers)))
    (tmp_path / "tokens.yaml").write_text(yaml.safe_dump(TOKENS))
    port = free_port()
    d = Daemon(tmp_path, port)
    try:
        api = Client(d.url, ADMIN)
        old = wphw.Plan.from_json(json.dumps(api.call("GET", "/api/v1/plan")))
        before = (installed(servers[0]), installed(servers[1]))
        assert before == (expected(old, "s1"), expected(old, "s2"))
        s2_writes = len(servers[1].write_log)
        servers[0].write_delay = 3.0  # s1 answers its Writes late: the apply stops half-way
        rule = {
            "name": "web-ids",
            "subscriber": "s1",
            "priority": 50,
            "match": {"dst": "198.51.100.0/24", "proto": "tcp", "dst_port": 443},
            "actions": ["ids", "route"],
        }
        threading.Thread(target=_post_quietly, args=(api, rule), daemon=True).start()
        deadline = time.monotonic() + 10
        while len(servers[1].write_log) == s2_writes and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(servers[1].write_log) > s2_writes  # s2 got the new path's entries
        assert installed(servers[1]) != before[1]
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(timeout=10)
    finally:
        if d.proc.poll() is None:
            d.stop()
        else:
            d.log.close()
            assert d.proc.stdout is not None
            d.proc.stdout.close()
    servers[0].write_delay = 0.0
    d = Daemon(tmp_path, port)
    try:
        api = Client(d.url, ADMIN)
        assert (installed(servers[0]), installed(servers[1])) == before  # exactly the old plan
        assert "web-ids" not in {r["name"] for r in api.call("GET", "/api/v1/rules")}
        status = api.call("GET", "/api/v1/status")
        assert status["policy_version"] == 1 and status["last_change"]["written"] > 0
    finally:
        assert d.stop()[0] == 0


def _post_quietly(api: Any, rule: dict[str, Any]) -> None:
    with contextlib.suppress(WphwError):
        api.call("POST", "/api/v1/rules", rule)
