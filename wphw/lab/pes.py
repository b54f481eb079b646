"""The PEs of a lab: every waypoint's PE process (software PEs, or the co-simulated Verilog)
started in the waypoint's namespace, the waypoint contexts published to them, and waiting
until they are idle. A part of :class:`wphw.lab.network.Lab` (which inherits it)."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wphw.errors import LabError
from wphw.plan import Plan, WaypointContext
from wphw.policy import Policy
from wphw.topology import PEKind, Topology

if TYPE_CHECKING:
    from wphw.lab.network import LabState

LOG = logging.getLogger("wphw.lab")


class LabPEs:
    """The PE side of a lab; :class:`~wphw.lab.network.Lab` provides these attributes."""

    topology: Topology
    policy: Policy
    workdir: Path
    pe_mode: str
    stamp: bool
    state: LabState
    plan: Plan | None
    _procs: dict[str, subprocess.Popen[bytes]]

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
        IPv4 from the switch's SFC proxy and hair-pins what its rules accept. Beside it (in the
        root namespace, looking into the middlebox's) runs its health endpoint
        (``python -m wphw.pe.legacy_nft``: ``/health`` as a software PE answers it), so the
        controller watches it and fails it over like any other waypoint."""
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
        control = str(self.workdir / f"pe-{wp_name}.sock")
        cmd = [sys.executable, "-m", "wphw.pe.legacy_nft", "--netns", ns, "--iface", "eth0",
               "--name", wp_name, "--control", control]  # fmt: skip
        with (self.workdir / f"pe-{wp_name}.log").open("wb") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._procs[f"pe:{wp_name}"] = proc
        self.state.pids[f"pe:{wp_name}"] = proc.pid
        self.state.pe_control[wp_name] = control
        self.state.save()
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
