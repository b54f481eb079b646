#!/usr/bin/env python3
"""Packets/s through BMv2 simple_switch_grpc: the wphw pipeline against a plain IPv4 forwarder.

One simple_switch_grpc process (the same BMv2 build for every program) in a private lab
(tests/bmv2_harness.py: network namespace, veth pairs, P4Runtime via finsy). Scenarios, run
interleaved in every repetition so that machine load hits them alike:

* ``baseline_route``: p4/bench/basic_forward.p4 (tutorials-style ipv4_lpm, full checksum update)
* ``wphw_route``: p4/v1model/wphw.p4, classification miss -> ipv4_lpm
* ``wphw_chain``: p4/v1model/wphw.p4, wp_classify start_chain -> wp_sff sff_forward (NSH push)

Each measurement keeps ``--window`` packets in flight (a closed loop: a packet is sent when one
came out), so BMv2 is always busy but nothing is dropped at its input; packets/s =
packets out / elapsed time. Prints the medians and the wphw/baseline ratios and writes
bench/results/bmv2_pps.json.

Needs root and simple_switch_grpc (PATH or WPHW_BMV2). Run:  .venv/bin/python bench/bmv2_pps.py
The record says which BMv2 build ran (``versions.bmv2_build``: ``default``, or ``performance`` when
BMv2 was configured with --disable-logging-macros); the ratios depend on it (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import bmv2_harness as harness  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

from wphw.entries import LPM, Action, Exact, TableEntry, Ternary  # noqa: E402
from wphw.lab.network import bmv2_build  # noqa: E402

IN_PORT, OUT_PORT = 0, 1
_PACKET_OUTGOING = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    name: str
    program: harness.Program
    entries: tuple[TableEntry, ...]


def _route() -> TableEntry:
    return TableEntry.of(
        "ipv4_lpm",
        {"ipv4_dst": LPM(value=0x0A000200, prefix_len=24)},
        Action.of("ipv4_forward", dst_mac=0x020000000101, port=OUT_PORT),
    )


SCENARIOS = (
    Scenario(name="baseline_route", program=harness.BASIC_FORWARD, entries=(_route(),)),
    Scenario(name="wphw_route", program=harness.WPHW, entries=(_route(),)),
    Scenario(
        name="wphw_chain",
        program=harness.WPHW,
        entries=(
            TableEntry.of(
                "wp_classify",
                {"ipv4_dst": Ternary(value=0x0A000202, mask=0xFFFFFFFF)},
                Action.of("start_chain", spi=100, paths=1),
                priority=10,
            ),
            TableEntry.of(
                "wp_sff",
                {"spi": Exact(value=100), "si": Exact(value=255)},
                Action.of("sff_forward", port=OUT_PORT, si=255),
            ),
        ),
    ),
)


def frame() -> bytes:
    pkt = (
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:fe")
        / IP(src="10.0.0.1", dst="10.0.2.2", ttl=64)
        / UDP(sport=1234, dport=80)
        / Raw(b"\0" * 58)
    )
    return bytes(pkt)  # 100 bytes


def windowed_run(lab: harness.Bmv2Lab, data: bytes, n: int, window: int) -> tuple[float, int]:
    """Send ``n`` frames keeping at most ``window`` in flight; (packets out per second, lost)."""
    tx = lab.raw_socket(IN_PORT)
    rx = lab.raw_socket(OUT_PORT)
    lab.drain()
    sent = received = lost = 0
    start = last_progress = time.perf_counter()
    while received + lost < n:
        while sent < n and sent - received - lost < window:
            try:
                tx.send(data)
            except BlockingIOError:
                break
            sent += 1
        select.select([rx], [], [], 0.05)
        got = 0
        while True:
            try:
                _, addr = rx.recvfrom(65535)
            except BlockingIOError:
                break
            if addr[2] != _PACKET_OUTGOING:
                got += 1
        now = time.perf_counter()
        if got:
            received += got
            last_progress = now
        elif now - last_progress > 0.5:  # whatever is still in flight is gone
            lost = sent - received
            last_progress = now
    elapsed = time.perf_counter() - start
    return received / elapsed, lost


def versions() -> dict[str, str]:
    out: dict[str, str] = {}
    path = Path("/opt/p4/VERSIONS.txt")
    if path.is_file():
        out["VERSIONS.txt"] = path.read_text().strip()
    binary = harness.find_simple_switch_grpc()
    if binary is not None:
        proc = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, check=False
        )
        out["simple_switch_grpc"] = f"{binary} {proc.stdout.strip()}"
        out["bmv2_build"] = bmv2_build(binary)
    return out


def run_arguments(parser: argparse.ArgumentParser, out: Path) -> None:
    """The options of a windowed packet-rate run (this script and bench/bmv2_route_cost.py)."""
    parser.add_argument("--packets", type=int, default=20000, help="packets per measurement")
    parser.add_argument("--reps", type=int, default=5, help="repetitions of every scenario")
    parser.add_argument("--window", type=int, default=16, help="packets in flight")
    parser.add_argument("--out", type=Path, default=out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    run_arguments(parser, REPO / "bench" / "results" / "bmv2_pps.json")
    args = parser.parse_args()

    reason = harness.skip_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    data = frame()
    results: dict[str, list[float]] = {s.name: [] for s in SCENARIOS}
    losses: dict[str, list[int]] = {s.name: [] for s in SCENARIOS}
    with harness.Bmv2Lab(harness.WPHW, n_ports=2, log_level=None) as lab:
        for rep in range(args.reps):
            for scenario in SCENARIOS:
                if lab.program != scenario.program:
                    lab.load(scenario.program)
                lab.clear()
                lab.insert(scenario.entries)
                windowed_run(lab, data, min(2000, args.packets), args.window)  # warm-up
                pps, lost = windowed_run(lab, data, args.packets, args.window)
                results[scenario.name].append(pps)
                losses[scenario.name].append(lost)
                print(
                    f"rep {rep + 1}/{args.reps} {scenario.name:15s} {pps:10.0f} pkt/s  lost {lost}"
                )
            # the next repetition starts with the baseline program again
    medians = {name: statistics.median(v) for name, v in results.items()}
    base = medians["baseline_route"]
    ratios = {
        f"{name}/baseline_route": medians[name] / base
        for name in medians
        if name != "baseline_route"
    }
    # the same repetition's baseline as reference: load changes between repetitions cancel out
    paired = {
        f"{name}/baseline_route": [
            v / b for v, b in zip(results[name], results["baseline_route"], strict=True)
        ]
        for name in results
        if name != "baseline_route"
    }
    paired_median = {k: statistics.median(v) for k, v in paired.items()}
    tools = versions()  # runs the switch binary and scans it: once
    print(f"\nBMv2 build: {tools.get('bmv2_build', 'unknown')}")
    print(f"{'scenario':15s} {'median pkt/s':>12s} {'ratio':>6s} {'paired':>7s}")
    for name, median in medians.items():
        pr = paired_median.get(f"{name}/baseline_route", 1.0)
        print(f"{name:15s} {median:12.0f} {median / base:6.2f} {pr:7.2f}")
    record = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "packets": args.packets,
        "reps": args.reps,
        "window": args.window,
        "frame_bytes": len(data),
        "pps": results,
        "lost": losses,
        "median_pps": medians,
        "ratio": ratios,
        "paired_ratios": paired,
        "paired_ratio_median": paired_median,
        "host": {
            "cpus": os.cpu_count(),
            "loadavg_end": os.getloadavg(),
            "kernel": platform.release(),
        },
        "versions": tools,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"\nwritten to {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
