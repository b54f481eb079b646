"""Measurements in a BMv2 lab: PE failover time and consistent updates under traffic.

Both run on any example (default ``examples/failover``): :func:`pick_stream` finds the first
policy rule whose service chain a UDP stream to port 5000 takes, a source host behind its
subscriber and a destination host it matches, and the waypoint of the chain's first PE (or take
``src``/``dst``/``waypoint`` as given). The source streams numbered UDP packets to the
destination at a steady rate while the controller (:mod:`wphw.controller`) watches the
waypoints' health.

* :func:`failover`: the PE process of that waypoint is killed (SIGKILL) mid-stream; the
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
from wphw.lab.network import Lab
from wphw.lab.wait import captures_listening, stable
from wphw.model_args import load_example
from wphw.plan import Plan
from wphw.policy import Policy, load_policy
from wphw.resources import P4_BUILD
from wphw.topology import Topology

LOG = logging.getLogger("wphw.lab.experiments")
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
    # runs of consecutive lost sequence numbers: 1 when the only loss is the outage (frames
    # queued at the killed PE, sent just before the kill, belong to it)
    loss_windows: int = 0


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
    """Send ``count`` numbered UDP frames at ``rate`` per second; log each send time.

    The frames are built before the clock starts (scapy per frame took about as long as the
    gap between frames at a few hundred per second on a loaded machine). A sender that fell
    behind (descheduled) does not catch up in a burst: it re-anchors its schedule, so the
    stream never exceeds ``rate``. At load ≈ 5 the failover test saw, after the new path
    worked, runs of ~20 lost frames alternating with delivered ones; catch-up bursts of dozens
    of frames into a starved BMv2 (64-frame egress queues) are the suspected cause — not
    proven, but the pattern has not recurred since (5 of 5 runs at the same load)."""
    from scapy.all import IP, UDP, Ether, Raw  # type: ignore[attr-defined]

    spec = json.loads(argv[0])
    base = Ether(src=spec["src_mac"], dst=spec["dst_mac"]) / IP(
        src=spec["src_ip"], dst=spec["dst_ip"]
    )
    frames = []
    for seq in range(spec["count"]):
        pkt = base / UDP(sport=40000, dport=spec["dst_port"]) / Raw(MARK + b"%08d" % seq)
        pkt[IP].id = seq & 0xFFFF
        frames.append(bytes(pkt))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind(("eth0", 0))
    period = 1.0 / float(spec["rate"])
    times = []
    target = time.time()
    for frame in frames:
        now = time.time()
        if target > now:
            time.sleep(target - now)
        elif now - target > period:  # behind: start the schedule again from now
            target = now
        sock.send(frame)
        times.append(time.time())
        target += period
    Path(spec["log"]).write_text(json.dumps(times))
    return 0


STREAM_PORT = 5000


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamTarget:
    """Who streams to whom, through which rule's chain, and the waypoint of its first PE."""

    src: str
    dst: str
    rule: str
    waypoint: str


def pick_stream(
    topology: Topology,
    policy: Policy,
    plan: Plan,
    *,
    src: str | None = None,
    dst: str | None = None,
    waypoint: str | None = None,
) -> StreamTarget:
    """The first rule (in plan order) that starts a chain for UDP to :data:`STREAM_PORT` between
    two hosts (``src``/``dst`` when given), and the waypoint of that chain's first PE."""
    paths = {p.spi: p for p in plan.paths}
    rules = {(r.subscriber, r.name): r for r in policy.rules}
    for b in plan.bindings:
        if b.action != "start_chain" or b.spi not in paths:
            continue
        rule = rules[(b.subscriber, b.rule)]
        hosts = sorted(topology.hosts.values(), key=lambda h: h.name)
        srcs = [h for h in hosts if h.switch == b.subscriber and (src is None or h.name == src)]
        for s in srcs:
            for d in hosts:
                if d.name == s.name or (dst is not None and d.name != dst):
                    continue
                if not _matches(rule.match, s, d):
                    continue
                first = paths[b.spi].hops[0]
                wp = waypoint or topology.pes[first.pe].waypoint
                return StreamTarget(src=s.name, dst=d.name, rule=b.rule, waypoint=wp)
    raise LabError(
        "no policy rule starts a service chain for UDP to port "
        f"{STREAM_PORT} between two hosts{f' (src {src})' if src else ''}"
        f"{f' (dst {dst})' if dst else ''}: give --src/--dst, or another example"
    )


def _matches(m: Any, s: Any, d: Any) -> bool:
    return (
        (m.src is None or s.ip.ip in m.src)
        and (m.dst is None or d.ip.ip in m.dst)
        and m.proto in (None, 17)
        and (m.dst_port is None or m.dst_port[0] <= STREAM_PORT <= m.dst_port[1])
        and m.src_port is None
    )


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
        "dst_port": STREAM_PORT,
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
        "wphw.lab.experiments",
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
    log = pcap.with_suffix(".log")
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=out, start_new_session=True)
    captures_listening([log])
    return proc


def _pcap_settled(pcap: Path) -> None:
    """The capture has taken the stream's last packets (its file stopped growing)."""
    stable(lambda: pcap.stat().st_size if pcap.exists() else 0, f"capture {pcap.name}",
           quiet=1.5, timeout=60.0)  # fmt: skip


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
    from wphw.p4rt import Fabric, Pipeline

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
    src: str | None = None,
    dst: str | None = None,
    waypoint: str | None = None,
    daemon: str | None = None,
) -> FailoverResult:
    """``daemon``: HOST:PORT — the controller runs as ``wphw controller run`` beside the lab
    (health every 50 ms, one miss), instead of a :class:`Controller` in this process."""
    ex = load_example(example)
    example = ex.dir
    topo, policy = ex.model
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
            assert lab.plan is not None
            t = pick_stream(topo, policy, lab.plan, src=src, dst=dst, waypoint=waypoint)
            LOG.info(
                "failover: %s -> %s (rule %s), killing waypoint %s",
                t.src,
                t.dst,
                t.rule,
                t.waypoint,
            )
            cap = _capture(lab, t.dst, workdir / "dst.pcap")
            sender = _start_stream(lab, t.src, t.dst, rate, seconds, workdir / "send.json")
            _wait_for_traffic(lab, sender)
            time.sleep(kill_after)
            pid = lab.state.pids.get(f"pe:{t.waypoint}")
            if pid is None:
                raise LabError(f"waypoint {t.waypoint} has no PE process in this lab")
            t_kill = time.time()
            os.kill(pid, signal.SIGKILL)
            sender.wait(timeout=seconds + 30)
            _pcap_settled(workdir / "dst.pcap")
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
    recv = _received(workdir / "dst.pcap")
    lost = [i for i in range(len(sends)) if i not in recv]
    lost_set = set(lost)
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
        loss_windows=sum(1 for i in lost if i - 1 not in lost_set),
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
    src: str | None = None,
    dst: str | None = None,
) -> ConsistencyResult:
    from wphw.pe.runtime import query

    ex = load_example(example)
    topo, policy = ex.model
    nxt = load_policy(ex.dir / "policy-next.yaml")
    workdir.mkdir(parents=True, exist_ok=True)
    lab = Lab(topo, policy, workdir, lab_id=lab_id, stamp=True)
    lab.up()
    try:
        ctl, fabric = _controller(lab, policy, drain)
        try:
            assert lab.plan is not None
            old_plan = lab.plan
            t = pick_stream(topo, policy, old_plan, src=src, dst=dst)
            cap = _capture(lab, t.dst, workdir / "dst.pcap")
            sender = _start_stream(lab, t.src, t.dst, rate, seconds, workdir / "send.json")
            _wait_for_traffic(lab, sender)
            time.sleep(change_after)
            change = ctl.install(nxt, reason="chain change under traffic")
            sender.wait(timeout=seconds + 30)
            _pcap_settled(workdir / "dst.pcap")
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
    recv = _received(workdir / "dst.pcap")
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
        prog="python -m wphw.lab.experiments",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("what", choices=["failover", "consistency"])
    ap.add_argument("--example", type=Path, default=Path("failover"),
                    help="example folder or built-in name (default: failover); consistency "
                    "also needs its policy-next.yaml")  # fmt: skip
    ap.add_argument("--src", help="host that streams (default: picked from the policy)")
    ap.add_argument("--dst", help="host that receives (default: picked from the policy)")
    ap.add_argument("--waypoint", help="failover: the waypoint whose PE is killed")
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
            args.example,
            args.workdir / "failover",
            rate=args.rate,
            src=args.src,
            dst=args.dst,
            waypoint=args.waypoint,
            daemon=args.daemon,
        )
    else:
        res = consistency(
            args.example, args.workdir / "consistency", rate=args.rate, src=args.src, dst=args.dst
        )
    print(json.dumps(asdict(res), indent=1))
    if isinstance(res, ConsistencyResult) and res.violations:
        raise LabError(f"{len(res.violations)} consistency violations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
