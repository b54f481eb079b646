"""Co-simulated hardware waypoint: the Verilog ``wp_waypoint`` bridged to a network interface.

``python -m wphw.netfpga.cosim --iface IF --name WP (--plan plan.json | --contexts F --pes JSON)
[--control ADDR] [--ready-file F]`` takes the arguments of :mod:`wphw.pe.waypoint` (the lab
starts it instead of the software waypoint when ``pe_mode="rtl"``). It

1. takes the waypoint's register writes from the plan (``--plan``: ``Plan.register_writes`` of
   this waypoint), or generates them from the contexts and PE parameters
   (:func:`wphw.netfpga.plan.waypoint_register_writes`);
2. builds ``hdl/wrap/wp_cosim_top.v`` (``hdl/wp_waypoint.v`` and every PE of ``hdl/wphw.f``) with
   ``cocotb_tools.runner`` (Icarus by default) and runs :mod:`wphw.netfpga.cosim_bridge` in it, which
   applies the writes over AXI-Lite and moves frames between IF and the RTL's AXI-Streams;
3. serves ``/health`` and ``/counters`` (HTTP + JSON, a unix socket path or HOST:PORT, like
   the software PEs: :func:`wphw.pe.runtime.query` is the client) from the bridge's state
   file, writes ``--ready-file`` once the registers are applied, and on SIGTERM/SIGINT stops
   the simulation cleanly and logs (and writes ``WORKDIR/counters.json``) the final counters,
   including the RTL's own per-entry counters.

See docs/cosim.md for speed and limits.
"""

from __future__ import annotations

import _thread
import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from wphw.entries import RegisterWrite
from wphw.errors import PEError, PlanError, WphwError
from wphw.netfpga import regmap
from wphw.netfpga.cocotb_tb import read_filelist
from wphw.netfpga.plan import (
    DEFAULT_LAYOUT,
    FpgaLayout,
    RecordingBus,
    apply_register_writes,
    run_recording,
    specs_from_json,
    waypoint_of,
    waypoint_register_writes,
)
from wphw.pe.control import ControlServer
from wphw.resources import COSIM_TOP

log = logging.getLogger(__name__)

TOPLEVEL = "wp_cosim_top"
BRIDGE_MODULE = "wphw.netfpga.cosim_bridge"
CONFIG_ENV = "WPHW_COSIM_CONFIG"
STALE_S = 30.0
"""/health fails when the bridge has not rewritten its state for this long (sim hung)."""


COSIM_LAYOUT = FpgaLayout(
    slots=DEFAULT_LAYOUT.slots,
    caps=(
        (regmap.WP_WAYPOINT.name, 16),
        (regmap.WP_FW.name, 8),
        (regmap.WP_NAT.name, 8),
        (regmap.WP_IDS.name, 4),
    ),
)
"""What ``hdl/wrap/wp_cosim_top.v`` implements with its default parameters (NUM_ENTRIES 16)."""


def dry_run(writes: Sequence[RegisterWrite], layout: FpgaLayout = COSIM_LAYOUT) -> None:
    """Replay ``writes`` on a :class:`RecordingBus` shaped like the build: a plan that does
    not fit (too many rows or rules, a PE index it lacks) fails here, before any simulation."""
    bus = RecordingBus(layout)
    run_recording(apply_register_writes(writes, lambda _wp: bus, fresh_seq=False))


@dataclass(frozen=True, slots=True, kw_only=True)
class CosimConfig:
    """Everything one co-simulation run needs."""

    iface: str
    name: str
    writes: tuple[RegisterWrite, ...]
    workdir: Path
    layout: FpgaLayout = COSIM_LAYOUT
    sim: str = "icarus"
    num_entries: int = 16
    poll_cycles: int = 100
    drain_cycles: int = 600
    idle_wait_s: float = 0.05
    mtu: int = 9600

    @property
    def state_file(self) -> Path:
        return self.workdir / "state.json"

    @property
    def stop_file(self) -> Path:
        return self.workdir / "stop"

    def bridge_config(self) -> dict[str, Any]:
        return {
            "iface": self.iface,
            "name": self.name,
            "port": self.layout.port,
            "mtu": self.mtu,
            "poll_cycles": self.poll_cycles,
            "drain_cycles": self.drain_cycles,
            "idle_wait_s": self.idle_wait_s,
            "state_file": str(self.state_file),
            "stop_file": str(self.stop_file),
            "parent_pid": os.getpid(),
            "writes": [
                {
                    "pe": w.pe,
                    "block": w.block,
                    "register": w.register,
                    "index": w.index,
                    "value": w.value,
                }
                for w in self.writes
            ],
        }


def writes_from_plan(plan_json: str, waypoint: str) -> tuple[RegisterWrite, ...]:
    """The register writes of ``waypoint`` in a saved plan (``Plan.to_json``)."""
    from wphw.plan import Plan

    plan = Plan.from_json(plan_json)
    writes = tuple(w for w in plan.register_writes if waypoint_of(w) == waypoint)
    missing = [r for r in plan.redacted if any(r.startswith(f"{w.pe}.{w.block}.") for w in writes)]
    if missing:
        raise PlanError(
            f"waypoint {waypoint}: the plan file holds no keys ({missing[0]}…): write it with"
            " its secrets (Plan.to_json(secrets=True), wphw plan --with-secrets)"
        )
    return writes


def writes_from_contexts(
    waypoint: str,
    contexts: Sequence[Mapping[str, Any]],
    pes: Sequence[Mapping[str, Any]],
    layout: FpgaLayout = DEFAULT_LAYOUT,
) -> tuple[RegisterWrite, ...]:
    """Register writes from the lab's contexts file and ``--pes`` list (FPGA PEs only)."""
    from wphw.plan import WaypointContext

    ctx = [WaypointContext(**dict(c)) for c in contexts]
    return waypoint_register_writes(waypoint, ctx, specs_from_json(pes), layout)


def build(cfg: CosimConfig) -> Any:
    """Build the simulation (sources from ``hdl/wphw.f`` plus the co-sim top); the runner."""
    from cocotb_tools.runner import get_runner

    sources, incdirs = read_filelist()
    runner = get_runner(cfg.sim)
    build_dir = cfg.workdir / f"build_{cfg.sim}"
    runner.build(
        sources=[*sources, COSIM_TOP],
        includes=incdirs,
        hdl_toplevel=TOPLEVEL,
        parameters={"NUM_ENTRIES": cfg.num_entries},
        build_dir=build_dir,
        build_args=["-Wno-fatal"] if cfg.sim == "verilator" else [],
        timescale=("1ns", "1ps"),
        always=False,
    )
    return runner


def run(cfg: CosimConfig) -> dict[str, Any]:
    """Build and run the co-simulation until the stop file appears; the final state."""
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    for f in (cfg.stop_file, cfg.state_file):
        f.unlink(missing_ok=True)
    config_file = cfg.workdir / "bridge.json"
    config_file.write_text(json.dumps(cfg.bridge_config()))
    t0 = time.monotonic()
    runner = build(cfg)
    log.info("cosim %s: %s build ready in %.1f s", cfg.name, cfg.sim, time.monotonic() - t0)
    runner.test(
        test_module=BRIDGE_MODULE,
        hdl_toplevel=TOPLEVEL,
        parameters={"NUM_ENTRIES": cfg.num_entries},
        build_dir=cfg.workdir / f"build_{cfg.sim}",
        test_dir=cfg.workdir,
        extra_env={
            CONFIG_ENV: str(config_file),
            "COCOTB_LOG_LEVEL": "WARNING",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        },
    )
    state = read_state(cfg.state_file)
    if not state.get("final"):
        raise PEError(f"cosim {cfg.name}: the simulation ended without final counters")
    return state


def read_state(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data


# --- control ------------------------------------------------------------------------------------


class Control:
    """``/health`` and ``/counters`` from the bridge's state file."""

    def __init__(self, cfg: CosimConfig) -> None:
        self.cfg = cfg
        self.started = time.time()
        self.server: ControlServer | None = None
        self.address = ""

    def health(self) -> tuple[int, dict[str, Any]]:
        st = read_state(self.cfg.state_file)
        age = time.time() - self.cfg.state_file.stat().st_mtime if st else None
        ok = bool(st.get("ready")) and not st.get("final") and age is not None and age < STALE_S
        body = {
            "ok": ok,
            "service": "waypoint-rtl",
            "name": self.cfg.name,
            "iface": self.cfg.iface,
            "legacy": False,
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 3),
            "rx": st.get("rx", 0),
            "tx": st.get("tx", 0),
            "state": "running" if ok else ("starting" if not st else "stopped"),
        }
        return (200 if ok else 503), body

    def handle_get(self, path: str) -> tuple[int, Any]:
        if path == "/health":
            return self.health()
        if path == "/counters":
            st = read_state(self.cfg.state_file)
            return 200, {k: v for k, v in st.items() if k not in ("ok", "final")}
        return 404, {"error": f"unknown path {path} (/health /counters)"}

    def start(self, address: str) -> None:
        self.server = ControlServer(
            address,
            lambda target: self.handle_get(target.split("?", 1)[0]),
            who=f"cosim {self.cfg.name}",
        )
        self.address = self.server.address

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


def _watch_ready(cfg: CosimConfig, ready_file: Path, done: threading.Event) -> None:
    while not done.is_set():
        st = read_state(cfg.state_file)
        if st.get("ready"):
            ready_file.write_text(json.dumps({"name": cfg.name, "pid": os.getpid()}) + "\n")
            log.info("cosim %s: registers applied, bridging %s", cfg.name, cfg.iface)
            return
        done.wait(0.2)


# --- command line ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m wphw.netfpga.cosim",
        description=(__doc__ or "").split("\n\n")[0],
    )
    ap.add_argument("--iface", required=True, help="interface to bridge to the RTL")
    ap.add_argument("--name", required=True, help="the waypoint's name in the topology")
    ap.add_argument("--plan", type=Path, help="saved plan (JSON); its register writes are used")
    ap.add_argument("--contexts", type=Path, help="JSON list of the plan's waypoint contexts")
    ap.add_argument("--pes", help="JSON list of {name, services, kind, params}")
    ap.add_argument("--control", help="HOST:PORT or unix socket path for /health and /counters")
    ap.add_argument("--ready-file", type=Path, help="written once the registers are applied")
    ap.add_argument("--workdir", type=Path, help="build and state directory (default: a temp dir)")
    ap.add_argument("--sim", default=os.environ.get("SIM", "icarus"), help="icarus | verilator")
    ap.add_argument("--poll-cycles", type=int, default=100, help="cycles between socket polls")
    ap.add_argument("--entries", type=int, default=16, help="dispatch table entries (NUM_ENTRIES)")
    return ap.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> CosimConfig:
    if args.plan is not None:
        writes = writes_from_plan(args.plan.read_text(), args.name)
    elif args.contexts is not None and args.pes is not None:
        writes = writes_from_contexts(
            args.name, json.loads(args.contexts.read_text()), json.loads(args.pes)
        )
    else:
        raise PEError("cosim: give --plan, or --contexts and --pes")
    if not writes:
        log.warning("cosim %s: no register writes: every frame misses the table", args.name)
    dry_run(writes)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"wphw-cosim-{args.name}-"))
    return CosimConfig(
        iface=args.iface,
        name=args.name,
        writes=writes,
        workdir=workdir.resolve(),
        sim=args.sim,
        num_entries=args.entries,
        poll_cycles=args.poll_cycles,
    )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(argv)
    try:
        cfg = config_from_args(args)
    except WphwError as exc:
        log.error("%s", exc)
        return 2
    control = Control(cfg)
    done = threading.Event()
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stopping.is_set():
            raise KeyboardInterrupt  # second signal: kill the simulator now
        stopping.set()
        log.info("cosim %s: signal %d, stopping the simulation", cfg.name, signum)
        cfg.stop_file.touch()

        def watchdog() -> None:
            if not done.wait(20.0):
                log.warning("cosim %s: simulation did not stop; killing it", cfg.name)
                _thread.interrupt_main()

        threading.Thread(target=watchdog, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.control:
        control.start(args.control)
    if args.ready_file:
        threading.Thread(
            target=_watch_ready, args=(cfg, args.ready_file, done), daemon=True
        ).start()
    try:
        state = run(cfg)
    except KeyboardInterrupt:
        log.error("cosim %s: simulation killed", cfg.name)
        return 1
    except (WphwError, RuntimeError) as exc:
        log.error("cosim %s: %s", cfg.name, exc)
        return 1
    finally:
        done.set()
        control.close()
    (cfg.workdir / "counters.json").write_text(json.dumps(state, indent=1) + "\n")
    log.info("cosim %s: stopped; counters %s", cfg.name, json.dumps(state))
    return 0


if __name__ == "__main__":
    sys.exit(main())
