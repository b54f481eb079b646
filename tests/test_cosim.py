"""The co-simulated hardware waypoint on a real interface (marked ``lab``: root + ip netns).

``python -m wphw.netfpga.cosim`` runs ``hdl/wp_waypoint.v`` with its PEs in Icarus, configured
from the register writes of the compiled ``examples/figure3`` plan (waypoint ``wp_branch``),
bridged to one end of a veth pair; scapy-built NSH frames go in from the other end (a raw
socket playing the switch) and must come back processed by the RTL: SI − 1, encrypted exactly
as :mod:`wphw.services.esp` encrypts (and decrypted back on the return path). The frame rate through
the co-simulation is measured and printed (it is slow: Icarus runs the design at a few hundred
clock cycles per second).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyroute2 import netns as pyroute2_netns
from scapy.contrib.nsh import NSH
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

import wphw
from wphw.entries import RegisterWrite
from wphw.errors import PEError, RegisterError
from wphw.netfpga import cosim as cosim_mod
from wphw.pe.runtime import query
from wphw.services import esp

REPO = Path(__file__).resolve().parent.parent
KEY = bytes(range(32))
ETH_P_ALL = 0x0003
NSH_SI = 14 + 7  # byte offset of the NSH service index
READY_TIMEOUT_S = 300.0


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root for network namespaces and raw sockets"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    if subprocess.run(["ip", "netns", "list"], capture_output=True, check=False).returncode:
        return "ip netns is not available here"
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        return "needs Icarus Verilog (apt-get install iverilog)"
    return None


lab = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


@dataclass
class Cosim:
    proc: subprocess.Popen[bytes]
    sock: socket.socket
    control: str
    workdir: Path
    log: Path
    contexts: dict[str, tuple[int, int]]  # service -> (spi, si) at wp_branch

    def send(self, *frames: bytes) -> None:
        for f in frames:
            self.sock.send(f)

    def recv(self, count: int, timeout: float) -> list[bytes]:
        out: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                break
            data, addr = self.sock.recvfrom(65600)
            if addr[2] != socket.PACKET_OUTGOING:
                out.append(data)
        return out

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


# --- without root: configuration, fit check, control -------------------------------------------


def figure3_plan() -> wphw.Plan:
    topo = wphw.load_topology(REPO / "examples" / "figure3" / "topology.yaml")
    policy = wphw.load_policy(REPO / "examples" / "figure3" / "policy.yaml")
    return wphw.compile(policy, topo)


def test_plan_and_contexts_give_the_same_writes(tmp_path: Path) -> None:
    """The lab can hand the co-simulation the saved plan or the contexts + PE list (the
    software waypoint's arguments); both give the plan's register writes."""
    plan = figure3_plan()
    (tmp_path / "plan.json").write_text(plan.to_json(secrets=True))
    ctx = [
        {"waypoint": c.waypoint, "pe": c.pe, "service": c.service, "spi": c.spi, "si": c.si,
         "vlan": c.vlan}
        for c in plan.contexts
    ]  # fmt: skip
    (tmp_path / "contexts.json").write_text(json.dumps(ctx))
    pes = [{"name": "crypto_branch", "services": ["encrypt", "decrypt"], "kind": "fpga",
            "params": {"key": KEY.hex(), "key_id": 1}}]  # fmt: skip
    common = ["--iface", "x", "--name", "wp_branch", "--workdir", str(tmp_path / "w")]
    a = cosim_mod.config_from_args(
        cosim_mod.parse_args([*common, "--plan", str(tmp_path / "plan.json")])
    )
    b = cosim_mod.config_from_args(
        cosim_mod.parse_args(
            [*common, "--contexts", str(tmp_path / "contexts.json"), "--pes", json.dumps(pes)]
        )
    )
    assert (
        a.writes
        == b.writes
        == tuple(w for w in plan.register_writes if w.pe.startswith("wp_branch"))
    )
    assert a.bridge_config()["writes"][0] == {
        "pe": a.writes[0].pe, "block": a.writes[0].block, "register": a.writes[0].register,
        "index": a.writes[0].index, "value": a.writes[0].value,
    }  # fmt: skip
    with pytest.raises(PEError, match="give --plan, or --contexts and --pes"):
        cosim_mod.config_from_args(cosim_mod.parse_args(common))


def test_a_plan_that_does_not_fit_the_build_fails_before_simulating() -> None:
    plan = figure3_plan()
    cosim_mod.dry_run([w for w in plan.register_writes if w.pe.startswith("wp_hq")])
    too_many = RegisterWrite(pe="wp", block="wp_waypoint", register="ENTRY_KEY", index=16, value=1)
    with pytest.raises(RegisterError, match=r"ENTRY_KEY\[16\]: this build implements 0\.\.15"):
        cosim_mod.dry_run([too_many])


def test_control_reports_the_bridge_state(tmp_path: Path) -> None:
    cfg = cosim_mod.CosimConfig(iface="x", name="wp", writes=(), workdir=tmp_path)
    ctl = cosim_mod.Control(cfg)
    code, body = ctl.handle_get("/health")
    assert (code, body["ok"], body["state"]) == (503, False, "starting")
    cfg.state_file.write_text(json.dumps({"ready": True, "rx": 3, "tx": 2, "final": False}))
    code, body = ctl.handle_get("/health")
    assert (code, body["ok"], body["rx"], body["tx"]) == (200, True, 3, 2)
    assert ctl.handle_get("/counters") == (200, {"ready": True, "rx": 3, "tx": 2})
    cfg.state_file.write_text(json.dumps({"ready": True, "final": True}))
    assert ctl.handle_get("/health")[0] == 503
    assert ctl.handle_get("/nope")[0] == 404
    ctl.start(str(tmp_path / "c.sock"))
    try:
        assert query(str(tmp_path / "c.sock"), "/counters") == {"ready": True}
    finally:
        ctl.close()
    assert not (tmp_path / "c.sock").exists()


# --- with root: a veth pair, the RTL in Icarus ------------------------------------------------


@pytest.fixture(scope="module")
def cosim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cosim]:
    tmp = tmp_path_factory.mktemp("cosim")
    topo = wphw.load_topology(REPO / "examples" / "figure3" / "topology.yaml")
    policy = wphw.load_policy(REPO / "examples" / "figure3" / "policy.yaml")
    plan = wphw.compile(policy, topo)
    (tmp / "plan.json").write_text(plan.to_json(secrets=True))
    contexts = {c.service: (c.spi, c.si) for c in plan.contexts if c.waypoint == "wp_branch"}

    tag = f"{os.getpid() % 100000}"
    pe_ns, sw_ns = f"wphw-c{tag}-pe", f"wphw-c{tag}-sw"
    pe_if, sw_if = f"wpc{tag}p", f"wpc{tag}s"
    made: list[str] = []
    sock: socket.socket | None = None
    proc: subprocess.Popen[bytes] | None = None
    try:
        for ns in (pe_ns, sw_ns):
            sh("ip", "netns", "add", ns)
            made.append(ns)
            for knob in ("all", "default"):
                sh(
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    f"net.ipv6.conf.{knob}.disable_ipv6=1",
                )
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", pe_if, "netns", pe_ns, "type", "veth", "peer", "name", sw_if,
           "netns", sw_ns)  # fmt: skip
        for ns, ifname in ((pe_ns, pe_if), (sw_ns, sw_if)):
            sh("ip", "-n", ns, "link", "set", ifname, "mtu", "9000", "up")
        pyroute2_netns.pushns(sw_ns)
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        finally:
            pyroute2_netns.popns()
        sock.bind((sw_if, ETH_P_ALL))
        control = str(tmp / "cosim.sock")
        ready = tmp / "ready"
        log = tmp / "cosim.log"
        cmd = [
            sys.executable, "-m", "wphw.netfpga.cosim", "--iface", pe_if, "--name", "wp_branch",
            "--plan", str(tmp / "plan.json"), "--control", control, "--ready-file", str(ready),
            "--workdir", str(tmp / "work"),
        ]  # fmt: skip
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", pe_ns, *cmd],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        c = Cosim(proc, sock, control, tmp / "work", log, contexts)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready.exists():
            if proc.poll() is not None:
                pytest.fail(f"cosim exited ({proc.returncode}) before ready:\n{c.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"cosim not ready within {READY_TIMEOUT_S:.0f} s:\n{c.tail()}")
            time.sleep(0.2)
        yield c
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if sock is not None:
            sock.close()
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def nsh_frame(i: int, spi: int, si: int, payload: bytes = b"GET /payroll HTTP/1.1\r\n") -> bytes:
    return bytes(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / NSH(ttl=63, mdtype=2, nextproto=1, spi=spi, si=si)
        / IP(src="10.0.1.1", dst="10.0.2.2", id=i)
        / TCP(sport=40000 + i, dport=80)
        / payload
    )


def header_seq(frame: bytes) -> int:
    """SEQ of an encrypted NSH frame (WP-ESP header right after the IPv4 header)."""
    off = 14 + 8 + 20 + 4
    return int.from_bytes(frame[off : off + 8], "big")


def with_si(frame: bytes, si: int, spi: int | None = None) -> bytes:
    b = bytearray(frame)
    if spi is not None:
        b[18:21] = spi.to_bytes(3, "big")
    b[NSH_SI] = si
    return bytes(b)


@pytest.mark.lab
@lab
def test_cosim_encrypts_decrypts_and_stops_cleanly(cosim: Cosim) -> None:
    enc_spi, enc_si = cosim.contexts["encrypt"]
    dec_spi, dec_si = cosim.contexts["decrypt"]

    # encrypt path: every frame back, SI - 1, byte for byte what wphw.services.esp makes
    frames = [nsh_frame(i, enc_spi, enc_si) for i in range(8)]
    cosim.send(*frames)
    got = cosim.recv(len(frames), timeout=120)
    assert len(got) == len(frames), cosim.tail()
    seqs = [header_seq(g) for g in got]
    assert seqs == list(range(seqs[0], seqs[0] + len(frames))), "one SEQ per frame, in order"
    for f, g, seq in zip(frames, got, seqs, strict=True):
        assert g[NSH_SI] == enc_si - 1
        assert g == with_si(esp.encrypt(f, key=KEY, key_id=1, seq=seq), enc_si - 1)

    # return path: the ciphertext on the decrypt service path comes back as the plaintext
    back = [with_si(g, dec_si, dec_spi) for g in got]
    cosim.send(*back)
    plain = cosim.recv(len(back), timeout=120)
    assert plain == [with_si(f, dec_si - 1, dec_spi) for f in frames]

    # no table row (unknown SPI), and a frame without NSH: DEFAULT_PORT 0, nothing comes back
    stray = nsh_frame(99, 4242, 255)
    plain_ip = bytes(Ether(src="02:00:00:00:00:01") / IP(src="10.0.1.1", dst="10.0.2.2") / TCP())
    cosim.send(stray, plain_ip)
    assert cosim.recv(1, timeout=15) == []

    # rate: bursts of small and of large frames through the encrypt PE
    rates = {}
    sent = 0
    for size, count in ((40, 40), (1400, 10)):
        burst = [nsh_frame(1000 + i, enc_spi, enc_si, b"x" * size) for i in range(count)]
        t0 = time.monotonic()
        cosim.send(*burst)
        out = cosim.recv(len(burst), timeout=300)
        dt = time.monotonic() - t0
        assert len(out) == len(burst), cosim.tail()
        rates[len(burst[0])] = len(out) / dt
        sent += count
    counters = query(cosim.control, "/counters", timeout=5.0)
    assert query(cosim.control, "/health", timeout=5.0)["ok"] is True
    print(
        "\ncosim: "
        + ", ".join(f"{r:.1f} frames/s at {n} B" for n, r in rates.items())
        + f"; simulator {counters['sim']['cycles_per_s']} cycles/s"
    )
    (cosim.workdir / "rate.json").write_text(json.dumps({"frames_per_s": rates}))

    # stop: SIGTERM ends the simulation cleanly with the RTL's own counters
    cosim.proc.send_signal(signal.SIGTERM)
    assert cosim.proc.wait(timeout=60) == 0, cosim.tail()
    final = json.loads((cosim.workdir / "counters.json").read_text())
    total = 2 * len(frames) + sent
    assert final["final"] and final["rx"] == total + 2 and final["tx"] == total
    assert final["by_reason"] == {"no_port": 2}
    rtl = final["rtl"]
    by_key = {(e["spi"], e["si"]): e["pkts"] for e in rtl["entries"]}
    assert by_key == {(enc_spi, enc_si): len(frames) + sent, (dec_spi, dec_si): len(frames)}
    assert (rtl["miss_pkts"], rtl["nonnsh_pkts"], rtl["drop_pkts"]) == (1, 1, 0)
    assert not Path(cosim.control).exists(), "control socket removed on exit"
