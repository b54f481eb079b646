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
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wphw.errors import LabError
from wphw.lab.wait import captures_listening, stable
from wphw.model_args import load_example
from wphw.policy import PROTOCOLS

LOG = logging.getLogger("wphw.lab.scenario")
IPERF3_SECONDS = 2


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
    from wphw._load import load

    raw = load(path, LabError) or {}
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

    ap = argparse.ArgumentParser(prog="python -m wphw.lab.scenario send")
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
    from wphw.lab.network import Lab

    topology, policy = load_example(example).model
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
        pcaps_logs = list(workdir.glob("tcpdump-*.log"))
        captures_listening(pcaps_logs)
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
                "wphw.lab.scenario",
                "send",
                "--spec",
                json.dumps(spec),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
            if proc.returncode != 0:
                raise LabError(f"flow {fl.name}: sender failed: {proc.stderr.strip()[-500:]}")
        # Let the waypoints finish (co-simulated ones take seconds), then the last hops: the
        # switches' per-hop counters stop changing.
        busy = [wp for wp, ok in lab.wait_idle(timeout=90.0).items() if not ok]
        if busy:
            LOG.warning("waypoint(s) %s still busy or silent after 90 s", ", ".join(busy))
        after = stable(lambda: _sff_counters(lab), "the switches' hop counters",
                            quiet=1.0, timeout=30.0)  # fmt: skip
        _stop_captures(captures)  # bulk transfers are not captured (the pcaps stay small)
        # through a co-simulated Verilog waypoint a megabyte would take hours of simulation
        transfers = (
            [
                run_transfer(lab, topology, t, workdir / "transfers")
                for t in load_transfers(example / "scenario.yaml")
            ]
            if pe_mode == "software"
            else []
        )
    finally:
        _stop_captures(captures)
        lab.down()
    plan = lab.plan
    assert plan is not None
    for fl in flows:
        evidence.append(_check(fl, pcaps, plan, before, after, topology))
    failures = sum(len(e.failures) for e in evidence) + sum(len(t.failures) for t in transfers)
    (workdir / "evidence.json").write_text(
        json.dumps([e.to_dict() for e in evidence] + [t.to_dict() for t in transfers], indent=1)
        + "\n"
    )
    lines = report_lines(evidence, transfers, pcaps)
    (workdir / "report.txt").write_text("\n".join(lines) + "\n")
    for line in lines:
        LOG.info("%s", line)
    return failures


def main_job(out: Path) -> tuple[int, Path]:
    """The README's main job when BMv2 is present: run the richest scenario; returns the
    number of failed expectations and the folder with evidence.json and report.txt."""
    from wphw.resources import EXAMPLES

    workdir = out / "lab-table1"
    return run_scenario(EXAMPLES / "table1", workdir), workdir


def _stop_captures(captures: list[subprocess.Popen[bytes]]) -> None:
    for cap in captures:
        if cap.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                cap.send_signal(signal.SIGINT)
    for cap in captures:
        with contextlib.suppress(subprocess.TimeoutExpired):
            cap.wait(timeout=5)


# -- bulk TCP transfers: real kernel TCP through the lab ------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    """``transfers[]`` of scenario.yaml: ``client`` fetches ``bytes`` over HTTP from a server
    in ``server`` on ``port``, through whatever the policy does to it; with ``plain_port`` the
    same download again on a port no rule matches, as the baseline (plain routing)."""

    name: str
    client: str
    server: str
    port: int = 80
    size: int = 1 << 20
    plain_port: int | None = None
    rule: str | None = None


@dataclass(slots=True)
class TransferResult:
    name: str
    size: int
    received: int = 0
    seconds: float = 0.0
    plain_seconds: float | None = None
    iperf3_mbit_s: float | None = None
    iperf3_plain_mbit_s: float | None = None
    # CPU milliseconds per megabyte received during each iperf3 run, by lab process kind
    # ("switches", "pes", and "pes_kernel": the PEs' system time): where a chain's cost goes,
    # next to plain routing's
    iperf3_cpu_ms_per_mb: dict[str, float] | None = None
    iperf3_plain_cpu_ms_per_mb: dict[str, float] | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def mbit_s(self) -> float:
        return self.received * 8 / self.seconds / 1e6 if self.seconds else 0.0

    @property
    def plain_mbit_s(self) -> float | None:
        if not self.plain_seconds:
            return None
        return self.size * 8 / self.plain_seconds / 1e6

    def line(self) -> str:
        text = f"transfer {self.name}: {self.received}/{self.size} bytes, {self.mbit_s:.1f} Mbit/s"
        if self.plain_mbit_s:
            text += f" (plain routing {self.plain_mbit_s:.1f} Mbit/s, ratio {self.mbit_s / self.plain_mbit_s:.2f})"
        if self.iperf3_mbit_s is not None:
            text += f"; iperf3 {self.iperf3_mbit_s:.1f} Mbit/s"
            if self.iperf3_plain_mbit_s:
                ratio = self.iperf3_mbit_s / self.iperf3_plain_mbit_s
                text += f" (plain {self.iperf3_plain_mbit_s:.1f}, ratio {ratio:.2f})"
        return text + ("" if not self.failures else f"; FAILED: {'; '.join(self.failures)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "transfer": self.name,
            "bytes": self.size,
            "received": self.received,
            "seconds": self.seconds,
            "mbit_s": self.mbit_s,
            "plain_seconds": self.plain_seconds,
            "plain_mbit_s": self.plain_mbit_s,
            "iperf3_mbit_s": self.iperf3_mbit_s,
            "iperf3_plain_mbit_s": self.iperf3_plain_mbit_s,
            "iperf3_cpu_ms_per_mb": self.iperf3_cpu_ms_per_mb,
            "iperf3_plain_cpu_ms_per_mb": self.iperf3_plain_cpu_ms_per_mb,
            "failures": self.failures,
        }


def load_transfers(path: Path) -> list[Transfer]:
    from wphw._load import load

    raw = load(path, LabError) or {}
    out = []
    for i, t in enumerate(raw.get("transfers") or []):
        where = f"{path}: transfers[{i}]"
        try:
            out.append(
                Transfer(
                    name=str(t["name"]),
                    client=str(t["client"]),
                    server=str(t["server"]),
                    port=int(t.get("port", 80)),
                    size=int(t.get("bytes", 1 << 20)),
                    plain_port=None if t.get("plain_port") is None else int(t["plain_port"]),
                    rule=t.get("rule"),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LabError(f"{where}: bad transfer ({exc})") from None
    return out


def run_transfer(lab: Any, topology: Any, t: Transfer, workdir: Path) -> TransferResult:
    """An HTTP server (python3 -m http.server) in the server's namespace, curl in the
    client's; the body is random bytes, checked by SHA-256 on arrival."""
    import hashlib

    res = TransferResult(name=t.name, size=t.size)
    for host in (t.client, t.server):
        if host not in topology.hosts:
            res.failures.append(f"unknown host {host!r}")
            return res
    if shutil.which("curl") is None:
        res.failures.append("curl not found (apt-get install curl)")
        return res
    www = workdir / t.name
    www.mkdir(parents=True, exist_ok=True)
    body = os.urandom(t.size)
    (www / "blob").write_bytes(body)
    want = hashlib.sha256(body).hexdigest()
    server_ip = str(topology.hosts[t.server].ip.ip)
    ports = [t.port] + ([t.plain_port] if t.plain_port is not None else [])
    servers = [
        subprocess.Popen(
            ["ip", "netns", "exec", lab.state.host_netns[t.server], sys.executable, "-m",
             "http.server", str(port), "--bind", server_ip, "--directory", str(www)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]  # fmt: skip
    try:
        for port in ports:
            _wait_listening(lab.state.host_netns[t.server], port, timeout=10.0)
        for port in ports:
            out = www / f"got-{port}"
            t0 = time.monotonic()
            proc = subprocess.run(
                ["ip", "netns", "exec", lab.state.host_netns[t.client], "curl", "-s",
                 "--max-time", "60", "-o", str(out), f"http://{server_ip}:{port}/blob"],
                capture_output=True,
                check=False,
            )  # fmt: skip
            dt = time.monotonic() - t0
            got = out.read_bytes() if out.exists() else b""
            if port == t.port:
                res.received, res.seconds = len(got), dt
            else:
                res.plain_seconds = dt
            if proc.returncode != 0:
                res.failures.append(f"curl on port {port} exited {proc.returncode}")
            elif hashlib.sha256(got).hexdigest() != want:
                res.failures.append(f"port {port}: {len(got)} bytes arrived, not the body sent")
    finally:
        for srv in servers:
            srv.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                srv.wait(timeout=5)
    if shutil.which("iperf3") is None:
        res.failures.append("iperf3 not found (apt-get install iperf3)")
        return res
    for port in ports:  # the same ports, so the same rule (or none) steers iperf3's TCP
        cpu0 = _lab_cpu_ticks(lab)
        rate = _iperf3(lab, topology, t, port, res)
        cpu = _cpu_ms_per_mb(cpu0, _lab_cpu_ticks(lab), rate)
        if port == t.port:
            res.iperf3_mbit_s, res.iperf3_cpu_ms_per_mb = rate, cpu
        else:
            res.iperf3_plain_mbit_s, res.iperf3_plain_cpu_ms_per_mb = rate, cpu
    return res


def _lab_cpu_ticks(lab: Any) -> dict[str, int]:
    """User + system clock ticks of the lab's switches and PEs so far, by kind (/proc); and
    the PEs' system time alone (their packet socket I/O)."""
    out = {"switches": 0, "pes": 0, "pes_kernel": 0}
    for name, pid in lab.state.pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone: it does not count
        utime, stime = int(fields[11]), int(fields[12])
        if name.startswith("pe:"):
            out["pes"] += utime + stime
            out["pes_kernel"] += stime
        else:
            out["switches"] += utime + stime
    return out


def _cpu_ms_per_mb(
    before: dict[str, int], after: dict[str, int], mbit_s: float | None
) -> dict[str, float] | None:
    if not mbit_s:
        return None
    mbytes = mbit_s * IPERF3_SECONDS / 8
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    return {k: round((after[k] - before[k]) * tick_ms / mbytes, 2) for k in after}


def _iperf3(lab: Any, topology: Any, t: Transfer, port: int, res: TransferResult) -> float | None:
    """iperf3 (kernel TCP, IPERF3_SECONDS) from the client to a one-off server; received Mbit/s."""
    server_ip = str(topology.hosts[t.server].ip.ip)
    ns_server, ns_client = lab.state.host_netns[t.server], lab.state.host_netns[t.client]
    srv = subprocess.Popen(
        ["ip", "netns", "exec", ns_server, "iperf3", "-s", "-1", "-B", server_ip, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(ns_server, port, timeout=10.0)
        proc = subprocess.run(
            ["ip", "netns", "exec", ns_client, "iperf3", "-c", server_ip, "-p", str(port),
             "-t", str(IPERF3_SECONDS), "--json", "--connect-timeout", "5000"],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        try:
            report = json.loads(proc.stdout)
            bps = float(report["end"]["sum_received"]["bits_per_second"])
        except (ValueError, KeyError, TypeError):
            res.failures.append(
                f"iperf3 on port {port} failed: {proc.stdout[-300:]}{proc.stderr[-300:]}"
            )
            return None
        if bps <= 0:
            res.failures.append(f"iperf3 on port {port}: nothing received")
        return bps / 1e6
    finally:
        srv.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            srv.wait(timeout=5)


def _wait_listening(netns: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["ip", "netns", "exec", netns, "ss", "-Hltn", f"sport = :{port}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if out.strip():
            return
        time.sleep(0.05)
    raise LabError(f"HTTP server on port {port} in {netns} did not start within {timeout:.0f} s")


def _sff_counters(lab: Any) -> dict[tuple[str, int, int], int]:
    """Packets counted by every wp_sff entry on every switch: (switch, spi, si) -> packets."""
    from wphw.p4rt import Fabric, run_sync
    from wphw.p4rt.counters import read_stats

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


def report_lines(
    evidence: list[Evidence], transfers: list[TransferResult], pcaps: Path
) -> list[str]:
    """The scenario's outcome as text (written to report.txt; ``wphw lab run`` prints it)."""
    out = []
    for ev in evidence:
        state = "ok" if not ev.failures else "FAILED"
        out.append(
            f"flow {ev.flow:<24} {state:<6} delivered {ev.delivered}/{ev.sent}  src {sorted(ev.seen_src)} dst {sorted(ev.seen_dst)}"
        )
        if ev.frames_on_hidden:
            out.append(
                f"    {ev.frames_on_hidden} frames on the protected links, none with plaintext"
            )
        for hop, n in ev.hop_counters.items():  # totals over all flows of the same rule
            out.append(f"    {hop:<28} +{n} packets")
        out.extend(f"    FAILED: {f}" for f in ev.failures)
    out.append(f"pcaps (one per host and per switch port) in {pcaps}")
    out.extend(t.line() for t in transfers)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "send":
        return _send_main(argv[1:])
    raise SystemExit("usage: python -m wphw.lab.scenario send --spec JSON (used by the lab)")


if __name__ == "__main__":
    sys.exit(main())
