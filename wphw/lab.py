"""BMv2 labs: a topology brought up for real on one machine.

Every switch is a ``simple_switch_grpc`` process in the root network namespace whose ports are
veth interfaces; every host is a network namespace with its address, a default route and static
ARP entries for the other hosts; every waypoint with a port is a namespace whose ``eth0`` is
wired to that switch port, where its PEs run (``wphw pe run``). The pipeline is pushed and the
policy's plan applied over P4Runtime (:mod:`wphw.p4rt`).

Everything a lab creates carries its lab id: namespaces ``wphw-<id>-<name>``, root-namespace
interfaces ``<id>x<switch index>p<port>``, and a state file ``<workdir>/lab.json`` written
*before* each resource is created, so :func:`down` (also run on any error, Ctrl-C or SIGTERM
during ``up``) removes exactly what the lab made and nothing else, even after a killed run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wphw.errors import LabError
from wphw.plan import Plan, WaypointContext, compile
from wphw.policy import Policy
from wphw.resources import P4_BUILD
from wphw.topology import PEKind, Topology

LOG = logging.getLogger("wphw.lab")
STATE_FILE = "lab.json"
NETNS_PREFIX = "wphw-"
_ID_RE = re.compile(r"^[a-z][a-z0-9]{0,3}$")

BMV2_HINT = (
    "simple_switch_grpc (BMv2 with P4Runtime) is in no package registry: build "
    "p4lang/behavioral-model with PI from source (docs/p4.md), then put it on PATH or set "
    "WPHW_BMV2=/path/to/simple_switch_grpc"
)


def find_bmv2() -> str:
    """The simple_switch_grpc binary, or LabError saying how to get one."""
    env = os.environ.get("WPHW_BMV2")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise LabError(f"WPHW_BMV2={env} is not an executable file")
        return env
    found = shutil.which("simple_switch_grpc")
    if found is None:
        raise LabError(f"simple_switch_grpc not found. {BMV2_HINT}")
    return found


def preflight() -> str:
    """Check everything a lab needs before touching the system; returns the BMv2 binary."""
    bmv2 = find_bmv2()
    if os.geteuid() != 0:
        raise LabError("a lab creates network namespaces and veth pairs: run it as root")
    for tool, package in (
        ("ip", "iproute2"),
        ("ethtool", "ethtool"),
        ("tcpdump", "tcpdump"),
        ("nft", "nftables"),  # keeps the switches' Thrift ports off the network
    ):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} not found: apt-get install {package}")
    for name in ("wphw.json", "wphw.p4info.txtpb"):
        if not (P4_BUILD / name).exists():
            raise LabError(
                f"{P4_BUILD / name} is missing: the compiled P4 program is part of the package"
            )
    return bmv2


def run(cmd: Sequence[str], *, check: bool = True, netns: str | None = None) -> str:
    full = ["ip", "netns", "exec", netns, *cmd] if netns else list(cmd)
    proc = subprocess.run(full, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise LabError(f"`{' '.join(full)}` failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


@dataclass(slots=True)
class LabState:
    """What a lab created; saved to ``lab.json`` before each creation."""

    lab_id: str
    workdir: Path
    netns: list[str] = field(default_factory=list)
    ifaces: list[str] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)
    switch_ports: dict[str, dict[int, str]] = field(default_factory=dict)
    host_netns: dict[str, str] = field(default_factory=dict)
    waypoint_netns: dict[str, str] = field(default_factory=dict)
    pe_control: dict[str, str] = field(default_factory=dict)
    nft_table: str | None = None

    def save(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        tmp = self.workdir / (STATE_FILE + ".tmp")
        obj = {
            "lab_id": self.lab_id,
            "netns": self.netns,
            "ifaces": self.ifaces,
            "pids": self.pids,
            "switch_ports": {
                k: {str(p): i for p, i in v.items()} for k, v in self.switch_ports.items()
            },
            "host_netns": self.host_netns,
            "waypoint_netns": self.waypoint_netns,
            "pe_control": self.pe_control,
            "nft_table": self.nft_table,
        }
        tmp.write_text(json.dumps(obj, indent=1))
        tmp.replace(self.workdir / STATE_FILE)

    @staticmethod
    def load(workdir: Path) -> LabState:
        path = workdir / STATE_FILE
        try:
            obj = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise LabError(f"{path}: no lab state to read ({exc})") from exc
        return LabState(
            lab_id=obj["lab_id"],
            workdir=workdir,
            netns=list(obj["netns"]),
            ifaces=list(obj["ifaces"]),
            pids={k: int(v) for k, v in obj["pids"].items()},
            switch_ports={
                k: {int(p): i for p, i in v.items()} for k, v in obj["switch_ports"].items()
            },
            host_netns=dict(obj["host_netns"]),
            waypoint_netns=dict(obj["waypoint_netns"]),
            pe_control=dict(obj.get("pe_control", {})),
            nft_table=obj.get("nft_table"),
        )


# -- teardown ------------------------------------------------------------------------------------


def _pid_is(pid: int, needle: str) -> bool:
    """True when ``pid`` is alive and its command line mentions ``needle`` (no PID reuse)."""
    try:
        cmdline = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return False
    return needle in cmdline


def _stop_pid(pid: int, needle: str, timeout: float = 3.0) -> None:
    if not _pid_is(pid, needle):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_is(pid, needle):
        time.sleep(0.05)
    if _pid_is(pid, needle):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def down(workdir: Path | None = None, *, lab_id: str | None = None) -> list[str]:
    """Remove everything a lab created: its processes, namespaces and interfaces.

    With a state file, exactly what it lists; with only ``lab_id`` (state lost), every
    namespace named ``wphw-<id>-*`` and every interface named ``<id>x*``. Returns what was
    removed. Never touches anything without the lab's prefix.
    """
    removed: list[str] = []
    state: LabState | None = None
    if workdir is not None and (workdir / STATE_FILE).exists():
        state = LabState.load(workdir)
        lab_id = state.lab_id
    if lab_id is None:
        raise LabError("lab down: give the lab's work directory or its id")
    if not _ID_RE.match(lab_id):
        raise LabError(
            f"lab id {lab_id!r} must be 1-4 lowercase letters/digits starting with a letter"
        )
    if state is not None:
        for name, pid in state.pids.items():
            needle = "simple_switch_grpc" if not name.startswith(("pe:", "controller")) else "wphw"
            if name.startswith("tcpdump:"):
                needle = "tcpdump"
            if _pid_is(pid, needle):
                _stop_pid(pid, needle)
                removed.append(f"process {name} ({pid})")
    # processes still running inside our namespaces (PEs, captures, senders)
    prefix = f"{NETNS_PREFIX}{lab_id}-"
    existing = [
        line.split()[0]
        for line in run(["ip", "netns", "list"], check=False).splitlines()
        if line.strip()
    ]
    for ns in existing:
        if ns.startswith(prefix):
            for pid_text in run(["ip", "netns", "pids", ns], check=False).split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid_text), signal.SIGKILL)
            run(["ip", "netns", "delete", ns], check=False)
            removed.append(f"netns {ns}")
    if shutil.which("nft") is not None:
        table = _nft_table(lab_id)
        if run(["nft", "list", "table", "inet", table], check=False):
            run(["nft", "delete", "table", "inet", table], check=False)
            removed.append(f"nftables table inet {table}")
    links = run(["ip", "-o", "link", "show"], check=False)
    for m in re.finditer(r"^\d+: ([^:@\s]+)", links, re.M):
        name = m.group(1)
        if name.startswith(f"{lab_id}x"):
            run(["ip", "link", "delete", name], check=False)
            removed.append(f"link {name}")
    if state is not None:
        (state.workdir / STATE_FILE).unlink(missing_ok=True)
    LOG.info("lab %s down: removed %d things", lab_id, len(removed))
    return removed


# -- bring-up ------------------------------------------------------------------------------------


def _wait_port(address: str, timeout: float, pid: int, log: Path) -> None:
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_is(pid, "simple_switch_grpc"):
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise LabError(
                f"simple_switch_grpc ({address}) exited during start-up; log {log}:\n{tail}"
            )
        with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=0.2):
            return
        time.sleep(0.1)
    raise LabError(f"simple_switch_grpc did not open {address} within {timeout:.0f} s (log {log})")


def _nft_table(lab_id: str) -> str:
    return f"wphw_{lab_id}"


def _free_port() -> int:
    """A free TCP port on loopback (each simple_switch_grpc also opens a Thrift port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# MTUs as SFC deployments set them: hosts stay at Ethernet's 1500 (end hosts are never
# changed), while switch ports, fabric links and waypoint links get headroom for what the
# waypoint service adds to a full-size host packet — NSH (24 bytes), an 802.1Q tag on proxy legs
# (4) and WP-ESP (16). With hosts at 9000 too, a full-size TCP segment plus that overhead did
# not fit anywhere and bulk TCP through a chain stalled (issue 12: 1 MB over HTTP, 0 bytes).
HOST_MTU = 1500
FABRIC_MTU = 9000


def _quiet_iface(name: str, netns: str | None = None, *, mtu: int = FABRIC_MTU) -> None:
    """No IPv6 chatter, no checksum offload (BMv2 and captures see real checksums), and the
    MTU (FABRIC_MTU unless it is a host's own interface)."""
    run(["sysctl", "-q", "-w", f"net.ipv6.conf.{name}.disable_ipv6=1"], check=False, netns=netns)
    run(["ethtool", "-K", name, "tx", "off", "rx", "off"], check=False, netns=netns)
    run(["ip", "link", "set", name, "mtu", str(mtu)], check=False, netns=netns)


class Lab:
    """One running lab. Use :meth:`up` (or the context manager) and :meth:`down`."""

    def __init__(
        self,
        topology: Topology,
        policy: Policy,
        workdir: Path,
        *,
        lab_id: str = "w0",
        pe_mode: str = "software",
        stamp: bool = False,
    ) -> None:
        if not _ID_RE.match(lab_id):
            raise LabError(
                f"lab id {lab_id!r} must be 1-4 lowercase letters/digits starting with a letter"
            )
        if pe_mode not in ("software", "rtl"):
            raise LabError(f"pe mode {pe_mode!r}: software or rtl")
        self.topology = topology
        self.policy = policy
        self.workdir = workdir
        self.lab_id = lab_id
        self.pe_mode = pe_mode
        self.stamp = stamp
        self.state = LabState(lab_id=lab_id, workdir=workdir)
        self.plan: Plan | None = None
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    # names
    def ifname(self, switch: str, port: int) -> str:
        idx = sorted(self.topology.switches).index(switch)
        name = f"{self.lab_id}x{idx}p{port}"
        if len(name) > 15:
            raise LabError(f"interface name {name} too long (lab id, switch index or port too big)")
        return name

    def netns(self, name: str) -> str:
        return f"{NETNS_PREFIX}{self.lab_id}-{name}"

    def __enter__(self) -> Lab:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> Plan:
        """Bring the whole lab up; on any failure (or signal) everything is removed again."""
        bmv2 = preflight()
        if (self.workdir / STATE_FILE).exists():
            LOG.warning("a previous lab state exists in %s: removing that lab first", self.workdir)
            down(self.workdir)
        old = signal.getsignal(signal.SIGTERM)

        def on_term(signum: int, frame: object) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, on_term)
        try:
            self._wire()
            self._start_switches(bmv2)
            self.plan = self._install()
            self._start_pes()
            return self.plan
        except BaseException:
            LOG.error("lab %s: bring-up failed, removing what was created", self.lab_id)
            self.down()
            raise
        finally:
            signal.signal(signal.SIGTERM, old)

    def down(self) -> list[str]:
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.terminate()
        for name, proc in self._procs.items():
            # A co-simulated waypoint stops its simulator cleanly and then writes its final
            # counters (cosim-<wp>/counters.json); on a loaded machine that took over 3 s, and
            # the second signal of down() killed it before it wrote them.
            cosim = self.pe_mode == "rtl" and name.startswith("pe:")
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60 if cosim else 3)
        self._procs.clear()
        return (
            down(self.workdir, lab_id=self.lab_id)
            if (self.workdir / STATE_FILE).exists()
            else down(lab_id=self.lab_id)
        )

    # -- steps ---------------------------------------------------------------------------------

    def _add_netns(self, ns: str) -> None:
        self.state.netns.append(ns)
        self.state.save()
        run(["ip", "netns", "add", ns])
        run(["ip", "link", "set", "lo", "up"], netns=ns)
        for scope in ("all", "default"):
            run(
                ["sysctl", "-q", "-w", f"net.ipv6.conf.{scope}.disable_ipv6=1"],
                check=False,
                netns=ns,
            )

    def _veth(self, a: str, b: str) -> None:
        self.state.ifaces.extend([a, b])
        self.state.save()
        run(["ip", "link", "add", a, "type", "veth", "peer", "name", b])

    def _wire(self) -> None:
        topo = self.topology
        st = self.state
        for sw in sorted(topo.switches):
            st.switch_ports[sw] = {}
        for link in topo.links:
            a, b = self.ifname(link.a.switch, link.a.port), self.ifname(link.b.switch, link.b.port)
            self._veth(a, b)
            for end, name in ((link.a, a), (link.b, b)):
                st.switch_ports[end.switch][end.port] = name
                _quiet_iface(name)
                run(["ip", "link", "set", name, "up"])
        for host in sorted(topo.hosts.values(), key=lambda h: h.name):
            ns = self.netns(host.name)
            self._add_netns(ns)
            st.host_netns[host.name] = ns
            sw_if = self.ifname(host.switch, host.port)
            peer = f"{self.lab_id}xh{len(st.host_netns)}"
            self._veth(sw_if, peer)
            run(["ip", "link", "set", peer, "netns", ns])
            run(["ip", "link", "set", peer, "name", "eth0"], netns=ns)
            run(["ip", "link", "set", "eth0", "address", host.mac], netns=ns)
            _quiet_iface("eth0", ns, mtu=HOST_MTU)
            _quiet_iface(sw_if)
            run(["ip", "addr", "add", str(host.ip), "dev", "eth0"], netns=ns)
            run(["ip", "link", "set", "eth0", "up"], netns=ns)
            run(["ip", "link", "set", sw_if, "up"])
            run(["ip", "route", "add", "default", "dev", "eth0"], netns=ns)
            for other in topo.hosts.values():
                if other.name != host.name:
                    run(
                        [
                            "ip",
                            "neigh",
                            "replace",
                            str(other.ip.ip),
                            "lladdr",
                            other.mac,
                            "dev",
                            "eth0",
                            "nud",
                            "permanent",
                        ],
                        netns=ns,
                    )
            st.switch_ports[host.switch][host.port] = sw_if
        for wp in sorted(topo.waypoints.values(), key=lambda w: w.name):
            if wp.port is None:
                continue
            ns = self.netns(wp.name)
            self._add_netns(ns)
            st.waypoint_netns[wp.name] = ns
            sw_if = self.ifname(wp.switch, wp.port)
            peer = f"{self.lab_id}xw{len(st.waypoint_netns)}"
            self._veth(sw_if, peer)
            run(["ip", "link", "set", peer, "netns", ns])
            run(["ip", "link", "set", peer, "name", "eth0"], netns=ns)
            _quiet_iface("eth0", ns)
            _quiet_iface(sw_if)
            run(["ip", "link", "set", "eth0", "up"], netns=ns)
            run(["ip", "link", "set", sw_if, "up"])
            st.switch_ports[wp.switch][wp.port] = sw_if
        st.save()

    def _lock_thrift(self, ports: list[int]) -> None:
        """BMv2 opens its Thrift port (full control of the switch, no authentication) on every
        address of the machine and has no option to bind it to loopback: a lab-owned nftables
        table drops what reaches those ports from anywhere but loopback (issue 12). ``down``
        removes the table with the lab."""
        table = _nft_table(self.lab_id)
        self.state.nft_table = table
        self.state.save()
        spec = ", ".join(str(p) for p in ports)
        rules = (
            f"table inet {table} {{\n"
            "  chain input {\n"
            "    type filter hook input priority -10; policy accept;\n"
            f'    iifname != "lo" tcp dport {{ {spec} }} drop\n'
            "  }\n"
            "}\n"
        )
        proc = subprocess.run(["nft", "-f", "-"], input=rules, capture_output=True, text=True)
        if proc.returncode != 0:
            raise LabError(f"nft: cannot add table {table}: {proc.stderr.strip()}")

    def _start_switches(self, bmv2: str) -> None:
        thrift = {name: _free_port() for name in self.topology.switches}
        self._lock_thrift(sorted(thrift.values()))
        for name, sw in sorted(self.topology.switches.items()):
            ports = self.state.switch_ports[name]
            log = self.workdir / f"{name}.log"
            cmd = [bmv2, "--device-id", str(sw.device_id), "--thrift-port", str(thrift[name])]
            for port, iface in sorted(ports.items()):
                cmd += ["-i", f"{port}@{iface}"]
            cmd += [
                "--log-file",
                str(self.workdir / f"{name}-bmv2"),
                "--log-level",
                "warn",
                "--no-p4",
            ]
            cmd += ["--", "--grpc-server-addr", sw.address]
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            self._procs[name] = proc
            self.state.pids[name] = proc.pid
            self.state.save()
            _wait_port(sw.address, 15.0, proc.pid, log)
            LOG.info(
                "switch %s: simple_switch_grpc pid %d on %s, %d ports",
                name,
                proc.pid,
                sw.address,
                len(ports),
            )

    def _install(self) -> Plan:
        from wphw.p4rt.fabric import Fabric, Pipeline

        plan = compile(self.policy, self.topology)
        pipeline = Pipeline.load(P4_BUILD / "wphw.p4info.txtpb", P4_BUILD / "wphw.json")
        with Fabric(self.topology, pipeline=pipeline) as fabric:
            # The lab's FPGA waypoints are processes it starts (the software models, or the
            # co-simulated Verilog, which applies its registers from plan.json): apply writes
            # the switches only, instead of warning that it has no register bus for them.
            result = fabric.apply(replace(plan, register_writes=()))
        LOG.info("lab %s: plan applied: %s", self.lab_id, result)
        # the co-simulated FPGA waypoints load their keys from it: with secrets, owner-only
        path = self.workdir / "plan.json"
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(plan.to_json(secrets=True))
        return plan

    def _start_pes(self) -> None:
        if self.plan is None:
            raise LabError("no plan")
        contexts = self.write_contexts(self.plan.contexts)
        for wp_name, ns in sorted(self.state.waypoint_netns.items()):
            wp = self.topology.waypoints[wp_name]
            if self._attach_nftables(wp_name, ns):
                continue
            # a unix socket: the namespace's loopback is not reachable from the controller
            control = str(self.workdir / f"pe-{wp_name}.sock")
            cmd = [sys.executable, "-m", "wphw.pe.waypoint", "--iface", "eth0", "--name", wp_name]
            cmd += ["--contexts", str(contexts), "--pes", json.dumps(self._pe_specs(wp_name))]
            cmd += ["--control", control]
            if self.stamp:
                cmd += ["--stamp"]
            if self.pe_mode == "rtl" and any(
                self.topology.pes[p].kind is PEKind.FPGA for p in wp.pes
            ):
                # the Verilog waypoint co-simulated, registers from the plan (docs/cosim.md)
                cmd = [sys.executable, "-m", "wphw.netfpga.cosim", "--iface", "eth0",
                       "--name", wp_name, "--plan", str(self.workdir / "plan.json"),
                       "--control", control, "--workdir", str(self.workdir / f"cosim-{wp_name}")]  # fmt: skip
            log = self.workdir / f"pe-{wp_name}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    ["ip", "netns", "exec", ns, *cmd],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self._procs[f"pe:{wp_name}"] = proc
            self.state.pids[f"pe:{wp_name}"] = proc.pid
            self.state.pe_control[wp_name] = control
            self.state.save()
        for wp_name, control in sorted(self.state.pe_control.items()):
            # a co-simulation builds the RTL and applies its registers first (tens of seconds)
            self._wait_pe(wp_name, control, timeout=300.0 if self.pe_mode == "rtl" else 15.0)

    def _wait_pe(self, wp_name: str, control: str, timeout: float = 15.0) -> None:
        from wphw.errors import PEError
        from wphw.pe.runtime import query

        log = self.workdir / f"pe-{wp_name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self._procs[f"pe:{wp_name}"]
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise LabError(
                    f"waypoint {wp_name}: PE process exited ({proc.returncode}); log {log}:\n{tail}"
                )
            with contextlib.suppress(PEError, OSError):
                if query(control, "/health", timeout=0.5).get("ok"):
                    return
            time.sleep(0.1)
        raise LabError(f"waypoint {wp_name}: PE not healthy within {timeout:.0f} s (log {log})")

    def _attach_nftables(self, wp_name: str, ns: str) -> bool:
        """A legacy waypoint whose PE says ``middlebox: nftables`` is an unmodified Linux
        nftables firewall (wphw.pe.legacy_nft), not a wphw process: it sees plain VLAN-tagged
        IPv4 from the switch's SFC proxy and hair-pins what its rules accept. It has no health
        endpoint, so the controller does not watch it."""
        pes = [self.topology.pes[p] for p in self.topology.waypoints[wp_name].pes]
        if not pes or any(dict(pe.params).get("middlebox") != "nftables" for pe in pes):
            return False
        if len(pes) != 1 or pes[0].kind is not PEKind.LEGACY:
            raise LabError(
                f"waypoint {wp_name}: an nftables middlebox is one legacy PE alone on its waypoint"
            )
        from wphw.pe import legacy_nft

        params = {k: v for k, v in self._pe_specs(wp_name)[0]["params"].items() if k != "middlebox"}
        ruleset = legacy_nft.attach(ns, "eth0", params)
        (self.workdir / f"nft-{wp_name}.txt").write_text(ruleset)
        LOG.info("waypoint %s: unmodified nftables firewall attached", wp_name)
        return True

    def write_contexts(self, contexts: Iterable[WaypointContext]) -> Path:
        """Write the plan's waypoint contexts where the software waypoints read them (they
        reload the file when it changes). Atomic: a reader never sees half a file."""
        path = self.workdir / "contexts.json"
        tmp = self.workdir / "contexts.json.tmp"
        rows = [
            {
                "waypoint": c.waypoint,
                "pe": c.pe,
                "service": c.service,
                "spi": c.spi,
                "si": c.si,
                "vlan": c.vlan,
            }
            for c in contexts
        ]
        tmp.write_text(json.dumps(rows, indent=1))
        tmp.replace(path)
        if self.state.pe_control:  # running waypoints: wait until each has loaded the table
            self._await_contexts(path.stat().st_mtime_ns)
        return path

    def _await_contexts(self, version: int, timeout: float = 3.0) -> None:
        from wphw.errors import PEError
        from wphw.pe.runtime import query

        for wp_name, control in sorted(self.state.pe_control.items()):
            deadline = time.monotonic() + timeout
            while True:
                try:
                    loaded = query(control, "/counters", timeout=0.5).get("contexts_version")
                except (PEError, OSError):
                    break  # a dead PE: the controller's health check deals with it
                if loaded is None or loaded >= version:
                    break  # loaded (or a waypoint that takes no context file: the co-simulation)
                if time.monotonic() > deadline:
                    raise LabError(
                        f"waypoint {wp_name} did not load the new contexts within {timeout:.0f} s"
                    )
                time.sleep(0.002)

    def wait_idle(self, timeout: float = 60.0, quiet: float = 1.5) -> dict[str, bool]:
        """Wait until the waypoints are idle together: each has passed on what it received
        (``rx == tx + dropped``) or its counters stood still for ``quiet`` seconds (frames a PE
        drops on purpose, e.g. an RTL firewall, are not in its bridge's ``dropped``), and no
        counter anywhere moved for ``quiet`` seconds (a frame may be between two waypoints). A
        co-simulated waypoint runs at a few frames per second, so a fixed sleep after sending
        is not enough. Returns, per waypoint, whether it was idle (False: still busy at
        ``timeout``, or not answering)."""
        from wphw.errors import PEError
        from wphw.pe.runtime import query

        deadline = time.monotonic() + timeout
        seen: dict[str, tuple[int, int, int]] = {}
        changed: dict[str, float] = {}
        last_move = time.monotonic()
        idle: dict[str, bool] = {}
        while True:
            now = time.monotonic()
            for wp_name, control in sorted(self.state.pe_control.items()):
                try:
                    c = query(control, "/counters", timeout=0.5)
                except (PEError, OSError):
                    idle[wp_name] = False  # dead or gone: nothing to wait for
                    seen.pop(wp_name, None)
                    continue
                cur = (int(c.get("rx", 0)), int(c.get("tx", 0)), int(c.get("dropped", 0)))
                if seen.get(wp_name) != cur:
                    seen[wp_name] = cur
                    changed[wp_name] = now
                    last_move = now
                idle[wp_name] = cur[0] == cur[1] + cur[2] or now - changed[wp_name] >= quiet
            live = [wp for wp in self.state.pe_control if wp in seen]
            if all(idle[wp] for wp in live) and now - last_move >= quiet:
                return idle
            if now > deadline:
                return {wp: idle.get(wp, False) and now - last_move >= quiet for wp in idle}
            time.sleep(0.1)

    def _pe_specs(self, wp_name: str) -> list[dict[str, Any]]:
        wp = self.topology.waypoints[wp_name]
        out = []
        for pe_name in wp.pes:
            pe = self.topology.pes[pe_name]
            params = dict(pe.params)
            for service in pe.services:
                params |= dict(self.policy.spec(service).params)
            out.append(
                {
                    "name": pe.name,
                    "services": list(pe.services),
                    "kind": pe.kind.value,
                    "params": params,
                }
            )
        return out


def status(workdir: Path) -> dict[str, Any]:
    """What a lab has running: processes alive or not, namespaces present or not."""
    st = LabState.load(workdir)
    present = {
        line.split()[0]
        for line in run(["ip", "netns", "list"], check=False).splitlines()
        if line.strip()
    }
    procs = {}
    for name, pid in st.pids.items():
        needle = "wphw" if name.startswith("pe:") else "simple_switch_grpc"
        procs[name] = {"pid": pid, "alive": _pid_is(pid, needle)}
    return {
        "lab_id": st.lab_id,
        "processes": procs,
        "netns": {ns: ns in present for ns in st.netns},
    }


@contextlib.contextmanager
def running(topology: Topology, policy: Policy, workdir: Path, **kwargs: Any) -> Iterator[Lab]:
    lab = Lab(topology, policy, workdir, **kwargs)
    lab.up()
    try:
        yield lab
    finally:
        lab.down()
