"""The health endpoint of an unmodified nftables middlebox (wphw/pe/legacy_nft.py
``NftHealth``), on a real one: Linux bridge + nftables in a network namespace (root). It
answers ``/health`` as the software PEs do — ok, or HTTP 503 naming what is wrong, read from
the kernel (``ip -j``, ``nft -j``) — and the controller's health poller
(``wphw.controller.query_health``) fails the legacy waypoint over and brings it back."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wphw.controller import query_health
from wphw.errors import PEError
from wphw.pe import legacy_nft
from wphw.pe.runtime import query


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    for tool in ("ip", "bridge", "nft"):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install iproute2 nftables)"
    return None


pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason())),
]

RULES = {"rules": [{"dst": "10.9.0.0/16", "proto": "udp", "dst_port": 53, "action": "deny"}]}


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


@dataclass
class Box:
    ns: str  # the middlebox's namespace
    iface: str  # its port (towards the switch)
    peer_ns: str
    peer: str  # the switch side
    ruleset: str


@pytest.fixture
def box() -> Iterator[Box]:
    tag = f"{os.getpid() % 100000}"
    ns, peer_ns = f"wphw-h{tag}-mb", f"wphw-h{tag}-sw"
    iface, peer = f"wph{tag}m", f"wph{tag}n"
    made: list[str] = []
    try:
        for n in (ns, peer_ns):
            sh("ip", "netns", "add", n)
            made.append(n)
        sh("ip", "link", "add", iface, "netns", ns, "type", "veth", "peer", "name", peer,
           "netns", peer_ns)  # fmt: skip
        sh("ip", "-n", peer_ns, "link", "set", peer, "up")
        ruleset = legacy_nft.attach(ns, iface, RULES)
        yield Box(ns, iface, peer_ns, peer, ruleset)
    finally:
        for n in made:
            subprocess.run(["ip", "netns", "del", n], check=False, capture_output=True)


def _wait_ok(control: str, want: bool, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while query_health(control) != want:
        assert time.monotonic() < deadline, f"health never became {want}"
        time.sleep(0.05)


def test_health_answers_what_the_kernel_says(box: Box, tmp_path: Path) -> None:
    h = legacy_nft.NftHealth(box.ns, box.iface, name="wp_legacy").start(str(tmp_path / "h.sock"))
    control = h.control_address
    try:
        _wait_ok(control, True)  # the veth's carrier comes up a moment after the link
        body = query(control, "/health")
        assert body["ok"] and body["legacy"] and body["problems"] == []
        assert body["middlebox"] == "nftables" and body["name"] == "wp_legacy"
        c = query(control, "/counters")
        assert c["rx"] == c["tx"] + c["dropped"] and {r["verdict"] for r in c["rules"]} == {
            "accept",
            "drop",
        }

        breakages = [
            (("ip", "-n", box.ns, "link", "set", box.iface, "down"),
             ("ip", "-n", box.ns, "link", "set", box.iface, "up"),
             f"interface {box.iface} is down"),
            (("ip", "-n", box.peer_ns, "link", "set", box.peer, "down"),
             ("ip", "-n", box.peer_ns, "link", "set", box.peer, "up"),
             f"interface {box.iface} has no carrier"),
            (("ip", "netns", "exec", box.ns, "nft", "delete", "table", "bridge", legacy_nft.TABLE),
             None,
             f"nftables table bridge {legacy_nft.TABLE} is missing"),
            (("ip", "netns", "exec", box.ns, "bridge", "link", "set", "dev", box.iface,
              "hairpin", "off"),
             ("ip", "netns", "exec", box.ns, "bridge", "link", "set", "dev", box.iface,
              "hairpin", "on"),
             f"interface {box.iface}: hairpin mode is off"),
            (("ip", "-n", box.ns, "link", "set", legacy_nft.BRIDGE, "down"),
             ("ip", "-n", box.ns, "link", "set", legacy_nft.BRIDGE, "up"),
             f"bridge {legacy_nft.BRIDGE} is down"),
        ]  # fmt: skip
        for breaks, repairs, problem in breakages:
            sh(*breaks)
            _wait_ok(control, False)
            with pytest.raises(PEError, match="HTTP 503") as info:
                query(control, "/health")
            assert problem in str(info.value)
            if repairs is None:
                legacy_nft.apply_ruleset(box.ns, box.ruleset)
            else:
                sh(*repairs)
            _wait_ok(control, True)
        # the namespace gone (the middlebox removed)
        sh("ip", "netns", "del", box.ns)
        _wait_ok(control, False)
    finally:
        h.stop()
    assert not query_health(control)  # nothing answers: down, as a dead software PE


def test_the_health_process_serves_until_sigterm(box: Box, tmp_path: Path) -> None:
    import sys

    control = str(tmp_path / "p.sock")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wphw.pe.legacy_nft", "--netns", box.ns, "--iface", box.iface,
         "--control", control, "--name", "wp_legacy"],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )  # fmt: skip
    try:
        _wait_ok(control, True, timeout=15)
        proc.terminate()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_controller_fails_a_legacy_waypoint_over_and_back(box: Box, tmp_path: Path) -> None:
    """The controller watching wp_legacy through its real health endpoint (misses 2): the
    middlebox's port goes down → proxy1 failed → the http-proxy rule follows its failure mode
    (block: drop); the port comes back → proxy1 back on the path."""
    from controller_harness import running_controller
    from p4rt_testserver import P4RuntimeTestServer

    h = legacy_nft.NftHealth(box.ns, box.iface, name="wp_legacy").start(str(tmp_path / "h.sock"))
    try:
        _wait_ok(h.control_address, True)
        with (
            P4RuntimeTestServer() as a,
            P4RuntimeTestServer() as b,
            running_controller(
                (a, b),
                tmp_path / "c.db",
                controls={"wp_legacy": h.control_address},
                alive=query_health,
            ) as rc,
        ):

            def action() -> str:
                plan = rc.service.ctl.plan
                assert plan is not None
                return {x.rule: x for x in plan.bindings}["http-proxy"].action

            assert rc.service.ctl.failed == frozenset() and action() != "drop"
            sh("ip", "-n", box.ns, "link", "set", box.iface, "down")
            assert rc.service.poll_health() is None  # one miss
            change = rc.service.poll_health()
            assert change is not None and change.failed == frozenset({"proxy1"})
            assert action() == "drop" and rc.matches_plan()
            health = {x["pe"]: x for x in rc.request("GET", "/api/v1/health")[1]}
            assert health["proxy1"]["watched"] and not health["proxy1"]["up"]
            sh("ip", "-n", box.ns, "link", "set", box.iface, "up")
            _wait_ok(h.control_address, True)
            change = rc.service.poll_health()
            assert change is not None and change.failed == frozenset()
            assert action() != "drop" and rc.matches_plan()
    finally:
        h.stop()
