"""Scenarios: real traffic through a BMv2 lab, with evidence per rule.

An example directory holds ``topology.yaml``, ``policy.yaml`` and ``scenario.yaml``::

    flows:
      - name: http-to-hq              # one line of evidence per flow
        rule: branch-http-to-hq       # the policy rule it exercises (its SPIs' counters are read)
        from: branch                  # sending host
        to: hq                        # receiving host
        proto: tcp                    # tcp | udp | icmp
        dst_port: 80
        payload: "GET / HTTP/1.1"     # the marker text is appended to it
        count: 5
        expect:
          delivered: 5                # packets that must reach the receiver (0: dropped)
          src: 203.0.113.10           # source address seen by the receiver (NAT)
          hidden_on: ["s2", "s3:2"]   # the plaintext marker must not appear on these switch ports

``run_scenario`` brings the lab up, captures every host's ``eth0`` and every switch port with
tcpdump (one pcap each, for Wireshark), sends each flow from inside the sender's namespace with
scapy, then checks the captures and reads the P4Runtime counters of every ``wp_sff`` hop of the
rule's service paths, prints the evidence, tears the lab down, and returns the number of failed
expectations (0 = all held).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wphw.errors import LabError
from wphw.policy import PROTOCOLS, load_policy
from wphw.resources import topology_file
from wphw.topology import load_topology

LOG = logging.getLogger("wphw.scenario")


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    name: str
    rule: str | None
    src: str
    dst: str
    proto: int
    dst_port: int = 0
    src_port: int = 40000
    payload: str = ""
    count: int = 5
    delivered: int | None = None
    expect_src: str | None = None
    expect_dst: str | None = None
    hidden_on: tuple[str, ...] = ()

    def marker(self, i: int) -> str:
        return f"wphw:{self.name}:{i}"


@dataclass(slots=True)
class Evidence:
    flow: str
    sent: int = 0
    delivered: int = 0
    seen_src: set[str] = field(default_factory=set)
    seen_dst: set[str] = field(default_factory=set)
    plaintext_on: list[str] = field(default_factory=list)
    frames_on_hidden: int = 0
    hop_counters: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "sent": self.sent,
            "delivered": self.delivered,
            "seen_src": sorted(self.seen_src),
            "seen_dst": sorted(self.seen_dst),
            "plaintext_on": self.plaintext_on,
            "frames_on_hidden_links": self.frames_on_hidden,
            "hop_counters": self.hop_counters,
            "failures": self.failures,
        }


def load_flows(path: Path) -> list[Flow]:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise LabError(f"{path}: cannot read scenario: {exc}") from exc
    flows = []
    for i, f in enumerate(raw.get("flows") or []):
        where = f"{path}: flows[{i}]"
        try:
            exp: Mapping[str, Any] = f.get("expect") or {}
            proto = f.get("proto", "tcp")
            flows.append(
                Flow(
                    name=str(f["name"]),
                    rule=f.get("rule"),
                    src=str(f["from"]),
                    dst=str(f["to"]),
                    proto=int(proto) if isinstance(proto, int) else PROTOCOLS[str(proto).lower()],
                    dst_port=int(f.get("dst_port", 0)),
                    src_port=int(f.get("src_port", 40000)),
                    payload=str(f.get("payload", "")),
                    count=int(f.get("count", 5)),
                    delivered=None if exp.get("delivered") is None else int(exp["delivered"]),
                    expect_src=exp.get("src"),
                    expect_dst=exp.get("dst"),
                    hidden_on=tuple(exp.get("hidden_on") or ()),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LabError(f"{where}: bad flow ({exc})") from exc
    return flows


# -- sending (runs inside the sender's namespace) ------------------------------------------------


def _send_main(argv: list[str]) -> int:
    from scapy.all import ICMP, IP, TCP, UDP, Ether, Raw, sendp  # type: ignore[attr-defined]

    ap = argparse.ArgumentParser(prog="python -m wphw.scenario send")
    ap.add_argument("--spec", required=True)
    args = ap.parse_args(argv)
    spec = json.loads(args.spec)
    frames = []
    for i in range(spec["count"]):
        payload = (spec["payload"] + " " + f"wphw:{spec['name']}:{i}").encode()
        ip = IP(src=spec["src_ip"], dst=spec["dst_ip"], id=(spec["id_base"] + i) & 0xFFFF, ttl=64)
        if spec["proto"] == 6:
            l4 = TCP(sport=spec["src_port"], dport=spec["dst_port"], flags="PA", seq=1000 + 100 * i)
        elif spec["proto"] == 17:
            l4 = UDP(sport=spec["src_port"], dport=spec["dst_port"])
        else:
            l4 = ICMP(id=7, seq=i)
        frames.append(Ether(src=spec["src_mac"], dst=spec["dst_mac"]) / ip / l4 / Raw(payload))
    sendp(frames, iface="eth0", verbose=False, inter=spec.get("interval", 0.02))
    return 0


# -- the run ---------------------------------------------------------------------------------------


def _start_capture(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def run_scenario(
    example: Path, workdir: Path, *, lab_id: str = "w0", pe_mode: str = "software"
) -> int:
    """Bring the example's lab up, run its flows, check and print the evidence, tear down.

    Returns the number of failed expectations; writes ``evidence.json`` and pcaps to workdir.
    """
    from wphw.lab import Lab

    topology = load_topology(topology_file(example))
    policy = load_policy(example / "policy.yaml")
    flows = load_flows(example / "scenario.yaml")
    for fl in flows:
        for host in (fl.src, fl.dst):
            if host not in topology.hosts:
                raise LabError(f"{example}/scenario.yaml: flow {fl.name}: unknown host {host!r}")
        if fl.rule is not None and fl.rule not in {r.name for r in policy.rules}:
            raise LabError(f"{example}/scenario.yaml: flow {fl.name}: unknown rule {fl.rule!r}")
    workdir.mkdir(parents=True, exist_ok=True)
    pcaps = workdir / "pcap"
    pcaps.mkdir(exist_ok=True)
    lab = Lab(topology, policy, workdir, lab_id=lab_id, pe_mode=pe_mode)
    evidence: list[Evidence] = []
    lab.up()
    captures: list[subprocess.Popen[bytes]] = []
    try:
        for host, ns in sorted(lab.state.host_netns.items()):
            cmd = [
                "ip",
                "netns",
                "exec",
                ns,
                "tcpdump",
                "-U",
                "-n",
                "-i",
                "eth0",
                "-w",
                str(pcaps / f"{host}.pcap"),
            ]
            captures.append(_start_capture(cmd, workdir / f"tcpdump-{host}.log"))
        for sw, ports in sorted(lab.state.switch_ports.items()):
            for port, iface in sorted(ports.items()):
                cmd = ["tcpdump", "-U", "-n", "-i", iface, "-w", str(pcaps / f"{sw}-p{port}.pcap")]
                captures.append(_start_capture(cmd, workdir / f"tcpdump-{sw}-p{port}.log"))
        time.sleep(1.5)  # tcpdump needs a moment before it captures
        before = _sff_counters(lab)
        for i, fl in enumerate(flows):
            src, dst = topology.hosts[fl.src], topology.hosts[fl.dst]
            spec = {
                "name": fl.name,
                "count": fl.count,
                "payload": fl.payload,
                "src_ip": str(src.ip.ip),
                "dst_ip": str(dst.ip.ip),
                "src_mac": src.mac,
                "dst_mac": dst.mac,
                "proto": fl.proto,
                "src_port": fl.src_port,
                "dst_port": fl.dst_port,
                "id_base": 1000 * (i + 1),
            }
            cmd = [
                "ip",
                "netns",
                "exec",
                lab.state.host_netns[fl.src],
                sys.executable,
                "-m",
                "wphw.scenario",
                "send",
                "--spec",
                json.dumps(spec),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
            if proc.returncode != 0:
                raise LabError(f"flow {fl.name}: sender failed: {proc.stderr.strip()[-500:]}")
        # Let the waypoints finish (co-simulated ones take seconds), then the last hops.
        time.sleep(0.5)
        busy = [wp for wp, ok in lab.wait_idle(timeout=90.0).items() if not ok]
        if busy:
            LOG.warning("waypoint(s) %s still busy or silent after 90 s", ", ".join(busy))
        time.sleep(1.0)
        after = _sff_counters(lab)
    finally:
        for cap in captures:
            with contextlib.suppress(ProcessLookupError):
                cap.send_signal(signal.SIGINT)
        for cap in captures:
            with contextlib.suppress(subprocess.TimeoutExpired):
                cap.wait(timeout=5)
        lab.down()
    plan = lab.plan
    assert plan is not None
    for fl in flows:
        evidence.append(_check(fl, pcaps, plan, before, after, topology))
    failures = sum(len(e.failures) for e in evidence)
    (workdir / "evidence.json").write_text(
        json.dumps([e.to_dict() for e in evidence], indent=1) + "\n"
    )
    _print(evidence, pcaps)
    return failures


def _sff_counters(lab: Any) -> dict[tuple[str, int, int], int]:
    """Packets counted by every wp_sff entry on every switch: (switch, spi, si) -> packets."""
    from wphw.p4rt.counters import read_stats
    from wphw.p4rt.fabric import Fabric, run_sync

    fabric = Fabric(lab.topology).connect(arbitrate=False)
    try:
        stats = run_sync(read_stats(fabric.aio))
    finally:
        fabric.close()
    return {(h.switch, h.spi, h.si): h.packets for h in stats.hops}


def _check(
    fl: Flow,
    pcaps: Path,
    plan: Any,
    before: Mapping[tuple[str, int, int], int],
    after: Mapping[tuple[str, int, int], int],
    topology: Any,
) -> Evidence:
    from scapy.all import IP, Raw, rdpcap  # type: ignore[attr-defined]

    ev = Evidence(flow=fl.name, sent=fl.count)
    markers = {fl.marker(i).encode() for i in range(fl.count)}

    def frames(name: str) -> list[Any]:
        path = pcaps / f"{name}.pcap"
        if not path.exists() or path.stat().st_size == 0:
            return []
        try:
            return list(rdpcap(str(path)))
        except Exception as exc:  # a truncated pcap from a killed tcpdump
            raise LabError(f"{path}: unreadable capture: {exc}") from exc

    got = set()
    receiver = str(topology.hosts[fl.dst].ip.ip)
    for pkt in frames(fl.dst):
        raw = bytes(pkt[Raw].load) if pkt.haslayer(Raw) else b""
        if not pkt.haslayer(IP) or pkt[IP].src == receiver:
            continue  # the receiver's own packets (e.g. its ICMP echo replies)
        for m in markers:
            if m in raw:
                got.add(m)
                ev.seen_src.add(pkt[IP].src)
                ev.seen_dst.add(pkt[IP].dst)
    ev.delivered = len(got)
    for where in fl.hidden_on:
        sw, _, port_text = where.partition(":")
        ports = [int(port_text)] if port_text else list(topology.ports(sw))
        for port in ports:
            name = f"{sw}-p{port}"
            for pkt in frames(name):
                data = bytes(pkt)
                if any(m in data for m in markers):
                    ev.plaintext_on.append(name)
                    break
                ev.frames_on_hidden += 1
    binding = next((b for b in plan.bindings if b.rule == fl.rule), None) if fl.rule else None
    if binding is not None and binding.spi is not None:
        spis = set(range(binding.spi, binding.spi + binding.paths))
        for key, value in sorted(after.items()):
            sw, spi, si = key
            if spi in spis:
                ev.hop_counters[f"{sw} spi {spi} si {si}"] = value - before.get(key, 0)
        hit = sum(ev.hop_counters.values())
        if hit == 0:
            ev.failures.append(f"no wp_sff counter of rule {fl.rule}'s paths moved")
    if fl.delivered is not None and ev.delivered != fl.delivered:
        ev.failures.append(f"delivered {ev.delivered}/{fl.count}, expected {fl.delivered}")
    if fl.expect_src is not None and ev.seen_src != {fl.expect_src}:
        ev.failures.append(f"receiver saw source {sorted(ev.seen_src)}, expected {fl.expect_src}")
    if fl.expect_dst is not None and ev.seen_dst != {fl.expect_dst}:
        ev.failures.append(
            f"receiver saw destination {sorted(ev.seen_dst)}, expected {fl.expect_dst}"
        )
    if ev.plaintext_on:
        ev.failures.append(f"plaintext seen on {', '.join(ev.plaintext_on)}")
    if fl.hidden_on and ev.frames_on_hidden == 0 and (fl.delivered or 0) > 0:
        ev.failures.append(f"no frames captured on {', '.join(fl.hidden_on)}: ciphertext not shown")
    with contextlib.suppress(ValueError):
        for addr in (fl.expect_src, fl.expect_dst):
            if addr is not None:
                ipaddress.IPv4Address(addr)
    return ev


def _print(evidence: list[Evidence], pcaps: Path) -> None:
    for ev in evidence:
        state = "ok" if not ev.failures else "FAILED"
        print(
            f"flow {ev.flow:<24} {state:<6} delivered {ev.delivered}/{ev.sent}  src {sorted(ev.seen_src)} dst {sorted(ev.seen_dst)}"
        )
        if ev.frames_on_hidden:
            print(f"    {ev.frames_on_hidden} frames on the protected links, none with plaintext")
        for hop, n in ev.hop_counters.items():  # totals over all flows of the same rule
            print(f"    {hop:<28} +{n} packets")
        for f in ev.failures:
            print(f"    FAILED: {f}")
    print(f"pcaps (one per host and per switch port) in {pcaps}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "send":
        return _send_main(argv[1:])
    raise SystemExit("usage: python -m wphw.scenario send --spec JSON (used by the lab)")


if __name__ == "__main__":
    sys.exit(main())
