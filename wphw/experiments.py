"""Measurements in a BMv2 lab: PE failover time and consistent updates under traffic.

Both run ``examples/failover`` (or any example with the same shape): host ``h1`` streams
numbered UDP packets to ``h2`` at a steady rate while the controller (:mod:`wphw.controller`)
watches the waypoints' health.

* :func:`failover`: the PE process of waypoint ``wpA`` is killed (SIGKILL) mid-stream; the
  controller notices, re-plans without it and installs the new paths. Measured: the time from
  the kill to restored delivery (send time of the first packet delivered after the last one
  lost, minus the kill time), the packets lost, and the controller's own detect/compile/apply
  times.
* :func:`consistency`: mid-stream the policy changes the rule's chain (``policy-next.yaml``:
  a ``count`` service added in front). Every PE stamps every packet it handles (IPv4 id, SPI);
  every delivered packet must carry exactly the old chain's stamps or exactly the new chain's.
  Measured: violations (with the packet and its stamps), and packets lost.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wphw.controller import Controller
from wphw.errors import LabError
from wphw.lab import Lab
from wphw.policy import Policy, load_policy
from wphw.resources import P4_BUILD, example_dir, topology_file
from wphw.topology import load_topology

LOG = logging.getLogger("wphw.experiments")
MARK = b"wphw-seq:"


@dataclass(slots=True)
class StreamResult:
    sent: int
    delivered: list[int]
    send_times: dict[int, float]
    recv_times: dict[int, float]


@dataclass(slots=True)
class FailoverResult:
    rate_pps: float
    sent: int
    delivered: int
    lost: int
    lost_after_kill: int
    kill_to_restored_ms: float | None
    controller: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ConsistencyResult:
    rate_pps: float
    sent: int
    delivered: int
    lost: int
    old_chain: int
    new_chain: int
    violations: list[str]
    update_apply_ms: float  # the switches
    update_contexts_ms: float  # waypoint contexts (old+new before, new after)


# -- the stream (runs inside h1's namespace) -----------------------------------------------------


def _stream_main(argv: list[str]) -> int:
    """Send ``count`` numbered UDP frames at ``rate`` per second; log each send time."""
    from scapy.all import IP, UDP, Ether, Raw  # type: ignore[attr-defined]

    spec = json.loads(argv[0])
    base = Ether(src=spec["src_mac"], dst=spec["dst_mac"]) / IP(
        src=spec["src_ip"], dst=spec["dst_ip"]
    )
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind(("eth0", 0))
    period = 1.0 / float(spec["rate"])
    times = []
    start = time.time()
    for seq in range(spec["count"]):
        target = start + seq * period
        delay = target - time.time()
        if delay > 0:
            time.sleep(delay)
        pkt = base / UDP(sport=40000, dport=spec["dst_port"]) / Raw(MARK + b"%08d" % seq)
        pkt[IP].id = seq & 0xFFFF
        sock.send(bytes(pkt))
        times.append(time.time())
    Path(spec["log"]).write_text(json.dumps(times))
    return 0


def _start_stream(
    lab: Lab, src: str, dst: str, rate: float, seconds: float, log: Path
) -> subprocess.Popen[bytes]:
    topo = lab.topology
    s, d = topo.hosts[src], topo.hosts[dst]
    spec = {
        "src_mac": s.mac,
        "dst_mac": d.mac,
        "src_ip": str(s.ip.ip),
        "dst_ip": str(d.ip.ip),
        "dst_port": 5000,
        "rate": rate,
        "count": int(rate * seconds),
        "log": str(log),
    }
    cmd = [
        "ip",
        "netns",
        "exec",
        lab.state.host_netns[src],
        sys.executable,
        "-m",
        "wphw.experiments",
        "stream",
        json.dumps(spec),
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _capture(lab: Lab, host: str, pcap: Path) -> subprocess.Popen[bytes]:
    cmd = [
        "ip",
        "netns",
        "exec",
        lab.state.host_netns[host],
        "tcpdump",
        "-U",
        "-n",
        "-i",
        "eth0",
        "-w",
        str(pcap),
        "udp",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    time.sleep(1.0)
    return proc


def _wait_for_traffic(lab: Lab, sender: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until the waypoints have passed on a first packet of the stream. The sender is a
    fresh Python process (scapy takes a second or more to import on a loaded machine), so the
    experiments time their change from here, not from the sender's start."""
    from wphw.errors import PEError
    from wphw.pe.runtime import query

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sender.poll() is not None:
            raise LabError(f"the traffic sender exited ({sender.returncode}) before any packet")
        tx = 0
        for control in lab.state.pe_control.values():
            with contextlib.suppress(PEError, OSError):
                tx += int(query(control, "/counters", timeout=0.5).get("tx", 0))
        if tx:
            return
        time.sleep(0.02)
    raise LabError(f"no packet reached a waypoint within {timeout:.0f} s of starting the sender")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _received(pcap: Path) -> dict[int, float]:
    from scapy.all import Raw, rdpcap

    out: dict[int, float] = {}
    if not pcap.exists() or pcap.stat().st_size == 0:
        return out
    for pkt in rdpcap(str(pcap)):
        if pkt.haslayer(Raw):
            load = bytes(pkt[Raw].load)
            i = load.find(MARK)
            if i >= 0:
                seq = int(load[i + len(MARK) : i + len(MARK) + 8])
                out.setdefault(seq, float(pkt.time))
    return out


def _controller(lab: Lab, policy: Policy, drain: float = 0.05) -> tuple[Controller, Any]:
    from wphw.p4rt.fabric import Fabric, Pipeline

    fabric = Fabric(
        lab.topology,
        pipeline=Pipeline.load(P4_BUILD / "wphw.p4info.txtpb", P4_BUILD / "wphw.json"),
        election_id=2,  # the lab installer (id 1) may not be forgotten by the switch yet
        drain=drain,
    )
    fabric.connect()
    ctl = Controller(
        lab.topology,
        policy,
        fabric,
        controls=lab.state.pe_control,
        publish_contexts=lab.write_contexts,
    )
    ctl.plan = lab.plan  # what the lab installed
    return ctl, fabric


def failover(
    example: Path,
    workdir: Path,
    *,
    rate: float = 400.0,
    seconds: float = 6.0,
    kill_after: float = 2.0,
    lab_id: str = "w3",
    daemon: str | None = None,
) -> FailoverResult:
    """``daemon``: HOST:PORT — the controller runs as ``wphw controller run`` beside the lab
    (health every 50 ms, one miss), instead of a :class:`Controller` in this process."""
    example = example_dir(example)
    topo = load_topology(topology_file(example))
    policy = load_policy(example / "policy.yaml")
    workdir.mkdir(parents=True, exist_ok=True)
    lab = Lab(topo, policy, workdir, lab_id=lab_id)
    lab.up()
    try:
        if daemon is not None:
            from wphw.controller.cli import Client, start_beside_lab

            url = start_beside_lab(
                example,
                lab,
                daemon,
                extra=("--health-interval", "0.05", "--misses", "1", "--reconcile-interval", "0"),
            )
            client = Client(url, (workdir / "admin.token").read_text().strip())
        ctl, fabric = (None, None) if daemon is not None else _controller(lab, policy)
        stop = threading.Event()
        try:
            if ctl is not None:
                ctl.watch(stop, interval=0.05)
            cap = _capture(lab, "h2", workdir / "h2.pcap")
            sender = _start_stream(lab, "h1", "h2", rate, seconds, workdir / "send.json")
            _wait_for_traffic(lab, sender)
            time.sleep(kill_after)
            pid = lab.state.pids["pe:wpA"]
            t_kill = time.time()
            os.kill(pid, signal.SIGKILL)
            sender.wait(timeout=seconds + 30)
            time.sleep(1.0)
            _stop(cap)
            if daemon is not None:
                health = [e for e in client.call("GET", "/api/v1/events") if e["kind"] == "health"]
        finally:
            stop.set()
            if fabric is not None:
                fabric.close()
    finally:
        lab.down()
    sends = json.loads((workdir / "send.json").read_text())
    recv = _received(workdir / "h2.pcap")
    lost = [i for i in range(len(sends)) if i not in recv]
    lost_after = [i for i in lost if sends[i] >= t_kill]
    restored: float | None = None
    if lost_after:
        nxt = [i for i in range(max(lost_after) + 1, len(sends)) if i in recv]
        if nxt:
            restored = (sends[nxt[0]] - t_kill) * 1000.0
    elif lost == []:
        restored = 0.0
    change = ctl.history[-1] if ctl is not None and ctl.history else None
    controller: dict[str, Any] = (
        {}
        if change is None
        else {
            "reason": change.reason,
            "compile_verify_ms": change.compile_s * 1000,
            "apply_ms": change.apply_s * 1000,
            "contexts_ms": change.contexts_s * 1000,
        }
    )
    if daemon is not None and health:
        e = health[-1]
        controller = {
            "reason": e["reason"],
            "compile_verify_ms": (e["compile_s"] + e["verify_s"]) * 1000,
            "apply_ms": e["apply_s"] * 1000,
            "contexts_ms": (e.get("contexts_s") or 0.0) * 1000,
            "daemon": True,
        }
    return FailoverResult(
        rate_pps=rate,
        sent=len(sends),
        delivered=len(recv),
        lost=len(lost),
        lost_after_kill=len(lost_after),
        kill_to_restored_ms=restored,
        controller=controller,
    )


def consistency(
    example: Path,
    workdir: Path,
    *,
    rate: float = 400.0,
    seconds: float = 6.0,
    change_after: float = 2.0,
    lab_id: str = "w4",
    drain: float = 0.05,
) -> ConsistencyResult:
    from wphw.pe.runtime import query

    example = example_dir(example)
    topo = load_topology(topology_file(example))
    policy = load_policy(example / "policy.yaml")
    nxt = load_policy(example / "policy-next.yaml")
    workdir.mkdir(parents=True, exist_ok=True)
    lab = Lab(topo, policy, workdir, lab_id=lab_id, stamp=True)
    lab.up()
    try:
        ctl, fabric = _controller(lab, policy, drain)
        try:
            assert lab.plan is not None
            old_plan = lab.plan
            cap = _capture(lab, "h2", workdir / "h2.pcap")
            sender = _start_stream(lab, "h1", "h2", rate, seconds, workdir / "send.json")
            _wait_for_traffic(lab, sender)
            time.sleep(change_after)
            change = ctl.install(nxt, reason="chain change under traffic")
            sender.wait(timeout=seconds + 30)
            time.sleep(1.0)
            _stop(cap)
            stamps: list[dict[str, Any]] = []
            for control in lab.state.pe_control.values():
                stamps.extend(query(control, "/stamps?since=0", timeout=2.0)["stamps"])
            new_plan = ctl.plan
        finally:
            fabric.close()
    finally:
        lab.down()
    assert new_plan is not None
    sends = json.loads((workdir / "send.json").read_text())
    recv = _received(workdir / "h2.pcap")
    chains = {}
    for plan in (old_plan, new_plan):
        for p in plan.paths:
            chains[p.spi] = tuple(sorted(h.pe for h in p.hops))
    old = {tuple(sorted(h.pe for h in p.hops)) for p in old_plan.paths}
    new = {tuple(sorted(h.pe for h in p.hops)) for p in new_plan.paths}
    by_id: dict[int, list[dict[str, Any]]] = {}
    for s in stamps:
        if s.get("verdict") == "tx":
            by_id.setdefault(int(s["ip_id"]), []).append(s)
    violations: list[str] = []
    n_old = n_new = 0
    for seq in sorted(recv):
        seen = by_id.get(seq & 0xFFFF, [])
        pes = tuple(sorted(s["pe"] for s in seen))
        spis = {s["spi"] for s in seen}
        if pes in old and len(spis) == 1:
            n_old += 1
        elif pes in new and len(spis) == 1:
            n_new += 1
        else:
            violations.append(
                f"packet {seq}: stamped by {list(pes)} with SPIs {sorted(spis)}; chains old {sorted(old)} new {sorted(new)}"
            )
    return ConsistencyResult(
        rate_pps=rate,
        sent=len(sends),
        delivered=len(recv),
        lost=len(sends) - len(recv),
        old_chain=n_old,
        new_chain=n_new,
        violations=violations,
        update_apply_ms=change.apply_s * 1000,
        update_contexts_ms=change.contexts_s * 1000,
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "stream":
        return _stream_main(argv[1:])
    ap = argparse.ArgumentParser(
        prog="python -m wphw.experiments",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("what", choices=["failover", "consistency"])
    ap.add_argument(
        "--example",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "examples" / "failover",
    )
    ap.add_argument("--workdir", type=Path, default=Path("out/experiments"))
    ap.add_argument("--rate", type=float, default=400.0)
    ap.add_argument(
        "--daemon",
        metavar="HOST:PORT",
        help="failover: run `wphw controller run` beside the lab (its API on HOST:PORT)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.what == "failover":
        res: Any = failover(
            args.example, args.workdir / "failover", rate=args.rate, daemon=args.daemon
        )
    else:
        res = consistency(args.example, args.workdir / "consistency", rate=args.rate)
    print(json.dumps(asdict(res), indent=1))
    if isinstance(res, ConsistencyResult) and res.violations:
        raise LabError(f"{len(res.violations)} consistency violations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
