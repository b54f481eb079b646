"""The lab runner: teardown that removes exactly what a lab made, the software waypoint's
dispatch, and (marked bmv2) every example scenario end to end on real simple_switch_grpc."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wphw.errors import LabError
from wphw.lab import Lab, bmv2_build, down, find_bmv2
from wphw.pe.waypoint import WaypointProcessor

REPO = Path(__file__).resolve().parent.parent
ROOT = os.geteuid() == 0 and shutil.which("ip") is not None
needs_root = pytest.mark.skipif(
    not ROOT, reason="needs root and iproute2 (`ip netns`) to create namespaces"
)


def _bmv2_missing() -> str | None:
    try:
        find_bmv2()
    except LabError as exc:
        return str(exc)
    return None


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False).stdout


def test_missing_bmv2_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WPHW_BMV2", "/nonexistent/simple_switch_grpc")
    with pytest.raises(
        LabError, match="WPHW_BMV2=/nonexistent/simple_switch_grpc is not an executable"
    ):
        find_bmv2()
    monkeypatch.delenv("WPHW_BMV2")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LabError, match=r"simple_switch_grpc not found.*build"):
        find_bmv2()


def test_bad_lab_id() -> None:
    import wphw

    topo = wphw.load_topology(REPO / "examples/table1/topology.yaml")
    policy = wphw.load_policy(REPO / "examples/table1/policy.yaml")
    with pytest.raises(LabError, match="lab id"):
        Lab(topo, policy, Path("/tmp/x"), lab_id="Bad-Id")


@pytest.mark.lab
@needs_root
def test_down_removes_only_what_carries_the_lab_id() -> None:
    ours_ns, other_ns = "wphw-t9-h1", "wphw-t8-h1"
    ours_if, other_if = "t9x0p1", "t8x0p1"
    try:
        for ns in (ours_ns, other_ns):
            subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(
            ["ip", "link", "add", ours_if, "type", "veth", "peer", "name", "t9x0p2"], check=True
        )
        subprocess.run(
            ["ip", "link", "add", other_if, "type", "veth", "peer", "name", "t8x0p2"], check=True
        )
        removed = down(lab_id="t9")
        assert f"netns {ours_ns}" in removed and f"link {ours_if}" in removed
        assert ours_ns not in _ip("netns", "list") and other_ns in _ip("netns", "list")
        links = _ip("-o", "link", "show")
        assert ours_if not in links and other_if in links
    finally:
        for ns in (ours_ns, other_ns):
            subprocess.run(["ip", "netns", "delete", ns], check=False, capture_output=True)
        for name in (ours_if, other_if):
            subprocess.run(["ip", "link", "delete", name], check=False, capture_output=True)


def _nsh_frame(spi: int, si: int, payload: bytes = b"x" * 20) -> bytes:
    from scapy.all import IP, UDP, Ether  # type: ignore[attr-defined]
    from scapy.contrib.nsh import NSH

    pkt = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / NSH(
        mdtype=2, nextproto=1, spi=spi, si=si, ttl=63
    )
    return bytes(pkt / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / payload)


def test_waypoint_dispatches_by_spi_and_si() -> None:
    contexts = [
        {"waypoint": "wp", "pe": "c1", "service": "count", "spi": 7, "si": 255, "vlan": None},
        {"waypoint": "wp", "pe": "f1", "service": "fw", "spi": 7, "si": 254, "vlan": None},
        {"waypoint": "other", "pe": "x", "service": "count", "spi": 9, "si": 255, "vlan": None},
    ]
    pes = [
        {"name": "c1", "services": ["count"], "params": {}},
        {"name": "f1", "services": ["fw"], "params": {"default": "deny"}},
    ]
    wp = WaypointProcessor("wp", contexts, pes)
    out = wp.process(_nsh_frame(7, 255))
    assert out is not None and out[21] == 254  # SI decremented by the count PE
    assert wp.process(_nsh_frame(7, 254)) is None  # the fw PE denies by default
    assert wp.process(_nsh_frame(9, 255)) is None  # another waypoint's context
    c = wp.counters()
    assert c["by_reason"] == {"no_context": 1}
    assert c["pes"]["c1/count"]["tx"] == 1 and c["pes"]["f1/fw"]["dropped"] == 1


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
@pytest.mark.parametrize("example", ["table1", "figure3", "figure4", "legacy"])
def test_scenario_end_to_end(example: str, tmp_path: Path) -> None:
    from wphw.lab.scenario import run_scenario

    failures = run_scenario(REPO / "examples" / example, tmp_path / example, lab_id="t1")
    assert failures == 0, (tmp_path / example / "evidence.json").read_text()
    assert "wphw-t1-" not in _ip("netns", "list")
    assert (tmp_path / example / "pcap").is_dir()


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
def test_down_after_a_killed_run_leaves_nothing(tmp_path: Path) -> None:
    import wphw

    topo = wphw.load_topology(REPO / "examples/table1/topology.yaml")
    policy = wphw.load_policy(REPO / "examples/table1/policy.yaml")
    lab = Lab(topo, policy, tmp_path, lab_id="t2")
    lab.up()
    pids = dict(lab.state.pids)
    lab._procs.clear()  # forget the children, as a killed controller would
    removed = down(tmp_path)
    assert removed
    assert "wphw-t2-" not in _ip("netns", "list")
    assert "t2x" not in _ip("-o", "link", "show")
    for pid in pids.values():
        assert (
            not Path(f"/proc/{pid}").exists()
            or b"simple_switch" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        )


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
def test_failover_restores_delivery(tmp_path: Path) -> None:
    from wphw.lab.experiments import failover

    res = failover(REPO / "examples/failover", tmp_path, rate=300, seconds=5, lab_id="t3")
    assert res.controller["reason"] == "PE(s) ids1 failed"
    assert res.kill_to_restored_ms is not None  # delivery came back
    # one outage and nothing else lost: the frames sent after the kill until the new path
    # carried them, plus any frame sent just before it that was still queued at the killed PE
    assert res.loss_windows == 1 and res.lost_after_kill > 0, res
    assert res.delivered == res.sent - res.lost
    assert res.delivered > res.sent // 2


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
def test_chain_change_under_traffic_is_per_packet_consistent(tmp_path: Path) -> None:
    from wphw.lab.experiments import consistency

    res = consistency(REPO / "examples/failover", tmp_path, rate=300, seconds=5, lab_id="t4")
    assert res.violations == []
    assert res.old_chain > 0 and res.new_chain > 0
    assert res.lost == 0


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
@pytest.mark.skipif(
    shutil.which("iverilog") is None, reason="needs Icarus Verilog (apt-get install iverilog)"
)
def test_figure4_with_the_co_simulated_verilog_waypoints(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The shared encryption waypoint and HQ's decryption are the Verilog waypoint + ChaCha20,
    simulated in Icarus and bridged to the lab's veths; real BMv2 steers real packets through."""
    import json

    from wphw.lab.scenario import run_scenario

    caplog.set_level(logging.WARNING)
    failures = run_scenario(REPO / "examples/figure4", tmp_path, lab_id="t5", pe_mode="rtl")
    assert failures == 0, (tmp_path / "evidence.json").read_text()
    # The co-simulated waypoints take their registers from plan.json; apply must not warn
    # that it has no register bus for them, and no asyncio callback may have failed.
    noise = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert noise == [], noise
    final = json.loads((tmp_path / "cosim-wp_core" / "counters.json").read_text())
    assert sum(e["pkts"] for e in final["rtl"]["entries"]) == 15  # 3 branches x 5 packets in RTL


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
def test_last_pe_chain_end_does_not_loop_on_bmv2(tmp_path: Path) -> None:
    """Issue 11: table1 with chain_end last-pe ended http-proxy's chain at s2, whose route back
    to lan0 passes s1, which classified the packet again: 3 UDP packets became 381 frames and
    none was delivered. The compiled plan now ends that chain back at s1 (verify checks it)."""
    import json

    import yaml

    import wphw
    from wphw.lab.scenario import run_scenario

    d = tmp_path / "table1-last-pe"
    d.mkdir()
    shutil.copy(REPO / "examples/table1/topology.yaml", d / "topology.yaml")
    raw = yaml.safe_load((REPO / "examples/table1/policy.yaml").read_text())
    raw["chain_end"] = "last-pe"
    (d / "policy.yaml").write_text(yaml.safe_dump(raw))
    flow = {
        "name": "lan1-udp-to-lan0",
        "rule": "http-proxy",
        "from": "lan1",
        "to": "lan0",
        "proto": "udp",
        "dst_port": 5000,
        "count": 3,
        "expect": {"delivered": 3},
    }
    (d / "scenario.yaml").write_text(yaml.safe_dump({"flows": [flow]}))
    topo, policy = wphw.load_topology(d / "topology.yaml"), wphw.load_policy(d / "policy.yaml")
    assert wphw.verify(wphw.compile(policy, topo), policy, topo).ok
    failures = run_scenario(d, tmp_path / "run", lab_id="t6")
    assert failures == 0, (tmp_path / "run" / "evidence.json").read_text()
    evidence = json.loads((tmp_path / "run" / "evidence.json").read_text())
    assert evidence


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (apt-get install curl)")
def test_bulk_tcp_through_the_encrypt_chain_at_lab_defaults(tmp_path: Path) -> None:
    """Issue 12: at the lab's defaults (hosts at MTU 9000), 1 MB over HTTP from hq to branch
    through figure3's encrypt/decrypt chain received 0 bytes in 60 s. Real kernel TCP: a Python
    HTTP server in hq, curl in branch; the bytes must arrive whole, and as fast as plain
    routing (to web, no chain) within an order of magnitude."""
    import hashlib
    import time

    import wphw

    d = REPO / "examples/figure3"
    topo, policy = wphw.load_topology(d / "topology.yaml"), wphw.load_policy(d / "policy.yaml")
    body = os.urandom(1 << 20)
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "blob").write_bytes(body)
    lab = Lab(topo, policy, tmp_path / "lab", lab_id="t7")
    lab.up()
    servers = []
    try:
        for host in ("hq", "web"):
            ns = lab.state.host_netns[host]
            servers.append(
                subprocess.Popen(
                    [
                        "ip",
                        "netns",
                        "exec",
                        ns,
                        "python3",
                        "-m",
                        "http.server",
                        "80",
                        "--bind",
                        "0.0.0.0",
                        "--directory",
                        str(tmp_path / "www"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(1.0)
        seconds = {}
        for host, ip in (("hq", "10.0.2.2"), ("web", "10.0.3.3")):
            out = tmp_path / f"got-{host}"
            t0 = time.monotonic()
            res = subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    lab.state.host_netns["branch"],
                    "curl",
                    "-s",
                    "--max-time",
                    "60",
                    "-o",
                    str(out),
                    f"http://{ip}/blob",
                ],
                capture_output=True,
                check=False,
            )
            seconds[host] = time.monotonic() - t0
            assert res.returncode == 0, (host, res.returncode, res.stderr)
            got = out.read_bytes()
            assert len(got) == len(body), (host, len(got))
            assert hashlib.sha256(got).digest() == hashlib.sha256(body).digest()
        assert seconds["hq"] < 10 * seconds["web"] + 1, seconds
    finally:
        for s in servers:
            s.terminate()
            s.wait(timeout=10)
        lab.down()
    assert "wphw-t7-" not in _ip("netns", "list")


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
def test_lab_switches_are_not_reachable_from_outside(tmp_path: Path) -> None:
    """Issue 12: BMv2's Thrift port (full control, no authentication) listens on every address.
    From another network namespace, over a veth to this machine's address, it must not answer;
    from loopback it still does; lab down removes the rule."""
    import socket

    import wphw

    topo = wphw.load_topology(REPO / "examples/legacy/topology.yaml")
    policy = wphw.load_policy(REPO / "examples/legacy/policy.yaml")
    lab = Lab(topo, policy, tmp_path / "lab", lab_id="t8")
    probe_ns, a, b = "wphwprobe-t8", "t8probea", "t8probeb"
    lab.up()
    try:
        pid = next(iter(lab.state.pids.values()))
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        thrift = int(cmdline[cmdline.index(b"--thrift-port") + 1])
        with socket.create_connection(("127.0.0.1", thrift), timeout=2):
            pass  # loopback: still there (simple_switch_CLI works)
        subprocess.run(["ip", "netns", "add", probe_ns], check=True)
        subprocess.run(
            ["ip", "link", "add", a, "type", "veth", "peer", "name", b, "netns", probe_ns],
            check=True,
        )
        subprocess.run(["ip", "addr", "add", "10.254.254.1/30", "dev", a], check=True)
        subprocess.run(["ip", "link", "set", a, "up"], check=True)
        subprocess.run(
            ["ip", "-n", probe_ns, "addr", "add", "10.254.254.2/30", "dev", b], check=True
        )
        subprocess.run(["ip", "-n", probe_ns, "link", "set", b, "up"], check=True)
        probe = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                probe_ns,
                "python3",
                "-c",
                "import socket,sys\n"
                f"s=socket.socket(); s.settimeout(2)\n"
                f"sys.exit(0 if s.connect_ex(('10.254.254.1', {thrift})) == 0 else 3)",
            ],
            capture_output=True,
            check=False,
        )
        assert probe.returncode == 3, "the Thrift port answered from outside the machine"
    finally:
        subprocess.run(["ip", "netns", "delete", probe_ns], check=False, capture_output=True)
        subprocess.run(["ip", "link", "delete", a], check=False, capture_output=True)
        lab.down()
    assert (
        "wphw_t8"
        not in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    )


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
@pytest.mark.skipif(shutil.which("nft") is None, reason="needs nft (apt-get install nftables)")
def test_a_legacy_nftables_waypoint_has_health_the_controller_watches(tmp_path: Path) -> None:
    """The lab starts the nftables middlebox's health endpoint beside it and lists it with the
    waypoints' control endpoints (what `--controller` watches): ok while the box is set up,
    down when its port goes down, up again after; lab down stops it."""
    import time

    import wphw
    from wphw.controller import query_health

    topo = wphw.load_topology(REPO / "examples/legacy/topology.yaml")
    policy = wphw.load_policy(REPO / "examples/legacy/policy.yaml")
    lab = Lab(topo, policy, tmp_path / "lab", lab_id="t9")
    lab.up()
    try:
        control = lab.state.pe_control["wp_nft"]
        assert query_health(control)
        ns = lab.state.waypoint_netns["wp_nft"]
        pid = lab.state.pids["pe:wp_nft"]

        def wait(want: bool) -> None:
            deadline = time.monotonic() + 5
            while query_health(control) != want:
                assert time.monotonic() < deadline, f"health never became {want}"
                time.sleep(0.05)

        subprocess.run(["ip", "-n", ns, "link", "set", "eth0", "down"], check=True)
        wait(False)
        subprocess.run(["ip", "-n", ns, "link", "set", "eth0", "up"], check=True)
        wait(True)
    finally:
        lab.down()
    assert (
        not Path(f"/proc/{pid}").exists()
        or b"legacy_nft" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    )


def test_bmv2_build_is_told_by_the_debug_message_text(tmp_path: Path) -> None:
    default = tmp_path / "default"
    default.write_bytes(b"\x7fELF...[{}] Looking up key:\n{}...")
    perf = tmp_path / "perf"
    perf.write_bytes(b"\x7fELF...Table '{}': {}...")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert bmv2_build(default) == "default"
    assert bmv2_build(perf) == "performance"
    assert bmv2_build(empty) == "performance"


@pytest.mark.bmv2
@pytest.mark.lab
@needs_root
@pytest.mark.skipif(_bmv2_missing() is not None, reason=str(_bmv2_missing()))
def test_bmv2_build_matches_what_the_switch_logs(tmp_path: Path) -> None:
    """The oracle is the switch itself: at log level debug a default build logs "Looking up
    key" for a table lookup, a build without logging macros logs no per-packet message."""
    import sys

    sys.path.insert(0, str(REPO / "tests"))
    import bmv2_harness as harness
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    build = bmv2_build(find_bmv2())
    with harness.Bmv2Lab(harness.WPHW, n_ports=2, log_level="debug", workdir=tmp_path) as lab:
        lab.send(0, Ether() / IP(src="10.0.1.1", dst="10.0.2.2") / UDP(sport=1, dport=2))
        lab.recv_all(timeout=1.0)
    log = "".join(p.read_text(errors="replace") for p in tmp_path.glob("bmv2*"))
    assert "Processing packet received on port 0" in log or build == "performance", log[-2000:]
    assert ("Looking up key" in log) == (build == "default")
