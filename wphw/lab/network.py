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
import mmap
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wphw.errors import LabError
from wphw.lab.pes import LabPEs
from wphw.plan import Plan, compile
from wphw.policy import Policy
from wphw.resources import P4_BUILD
from wphw.topology import Topology

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


# One of BMv2's per-lookup debug messages. Its text is in the switch (the binary or the BMv2
# libraries it loads) unless BMv2 was configured with --disable-logging-macros; when it is, every
# table lookup formats its key and every hit its entry as text even at log level off, which on
# the wphw pipeline costs about two thirds of a chain start's packets/s (bench/bmv2_pps.py,
# docs/benchmarks.md "BMv2 packet rate").
_BMV2_DEBUG_MESSAGE = b"Looking up key"

BMV2_DEFAULT_BUILD_NOTE = (
    "BMv2 default build: every table lookup formats debug text even with logging off, so a "
    "chain start runs at about a third of the packets/s of a BMv2 configured with "
    "--disable-logging-macros --disable-elogger (README, BMv2 and p4c)"
)


def _contains(path: Path, needle: bytes) -> bool:
    try:
        with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return m.find(needle) >= 0
    except (OSError, ValueError):  # unreadable, or empty (mmap of 0 bytes)
        return False


def bmv2_build(binary: str | Path) -> str:
    """``"default"`` if this simple_switch_grpc formats BMv2's per-packet debug messages, else
    ``"performance"`` (BMv2 configured with --disable-logging-macros).

    Looks for one such message in the binary and in the BMv2 libraries the dynamic loader would
    give it now (``ldd``, so LD_LIBRARY_PATH counts as it will when the switch starts).
    """
    files = [Path(binary)]
    proc = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        name, sep, rest = line.partition("=>")
        if sep and ("libbm" in name or "simpleswitch" in name):
            files.append(Path(rest.split("(")[0].strip()))
    return "default" if any(_contains(f, _BMV2_DEBUG_MESSAGE) for f in files) else "performance"


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


def _wait_port(address: str, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for the switch we started to listen. Asks ``proc`` whether it exited (not
    /proc/PID/cmdline: until the child has exec'ed, that still shows our own command line,
    which once made a healthy start-up on a loaded machine look like an early exit)."""
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise LabError(
                f"simple_switch_grpc ({address}) exited with status {proc.returncode} during"
                f" start-up; log {log}:\n{tail}"
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


class Lab(LabPEs):
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
        self.bmv2_build = ""  # set by up(): bmv2_build() of the switch binary
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
        self.bmv2_build = bmv2_build(bmv2)
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
            _wait_port(sw.address, 15.0, proc, log)
            LOG.info(
                "switch %s: simple_switch_grpc pid %d on %s, %d ports",
                name,
                proc.pid,
                sw.address,
                len(ports),
            )

    def _install(self) -> Plan:
        from wphw.p4rt import Fabric, Pipeline

        plan = compile(self.policy, self.topology)
        pipeline = Pipeline.load(P4_BUILD / "wphw.p4info.txtpb", P4_BUILD / "wphw.json")
        with Fabric(self.topology, pipeline=pipeline) as fabric:
            # The switches only (wphw.p4rt writes no FPGA register): the lab's FPGA waypoints
            # are processes it starts (the software models, or the co-simulated Verilog, which
            # applies its registers from plan.json).
            result = fabric.apply(plan)
        LOG.info("lab %s: plan applied: %s", self.lab_id, result)
        # the co-simulated FPGA waypoints load their keys from it: with secrets, owner-only
        path = self.workdir / "plan.json"
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(plan.to_json(secrets=True))
        return plan


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
