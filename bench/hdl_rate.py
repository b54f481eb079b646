"""HDL throughput and latency: beats/cycle for back-to-back frames, and latency in cycles.

    .venv/bin/python bench/hdl_rate.py            # all modules, writes bench/results/hdl_rate.json
    .venv/bin/python bench/hdl_rate.py wp_fw      # one module

Each module runs in Icarus with the source never idle and the sink always ready. For every frame
size, N frames are sent back to back; rate = output beats / cycles from the first to the last
output beat (1.00 = one beat per cycle), latency = cycles from a frame's first input beat to its
first output beat (first frame, empty pipeline). Also a cocotb test module (run by the runner).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIZES = [60, 64, 65, 128, 129, 512, 1500, 9000]
MODULES = {
    "wp_fw": {"NUM_RULES": 16},
    "wp_nat": {"NUM_MAPPINGS": 16},
    "wp_waypoint": {"NUM_ENTRIES": 16, "EXT_PES": 1, "FW_RULES": 16, "NAT_MAPPINGS": 16},
}
RESULTS = REPO / "bench" / "results" / "hdl_rate.json"

try:
    import cocotb

    @cocotb.test()
    async def measure(dut: object) -> None:
        from cocotb.triggers import RisingEdge, with_timeout

        from sim.common import TB, ipv4_frame, pad_to
        from wphw.netfpga.drivers import (
            FirewallDriver,
            NatDriver,
            WaypointDriver,
            WaypointEntry,
        )

        top = os.environ["WP_TOP"]
        tb = TB(dut, seed=1)
        if top == "wp_waypoint":
            for name in ("awready", "wready", "bvalid", "bresp", "arready", "rvalid"):
                getattr(dut, f"m_axil_pe_{name}").value = 0
            dut.s_axis_pe_tvalid.value = 0
            dut.m_axis_pe_tready.value = 1
        await tb.reset()
        nsh = None
        if top == "wp_fw":
            await (await FirewallDriver.attach(tb.bus, base=0)).set_rules([], default_permit=True)
        elif top == "wp_nat":
            await NatDriver.attach(tb.bus, base=0)
        else:
            wp = await WaypointDriver.attach(tb.bus)
            await wp.set_entries([WaypointEntry(spi=1, si=255, pe=0, port=2)])
            await (await FirewallDriver.attach(tb.bus)).set_rules([], default_permit=True)
            nsh = (1, 255)
        results = {}
        stamps: dict[str, list[int]] = {"in_first": [], "out_first": [], "out": []}

        def hi(sig: object) -> bool:
            return str(sig.value) == "1"  # type: ignore[attr-defined]

        async def monitor() -> None:
            cyc = 0
            in_sof = out_sof = True
            while True:
                await RisingEdge(dut.clk)
                cyc += 1
                if hi(dut.s_axis_tvalid) and hi(dut.s_axis_tready):
                    if in_sof:
                        stamps["in_first"].append(cyc)
                    in_sof = hi(dut.s_axis_tlast)
                if hi(dut.m_axis_tvalid) and hi(dut.m_axis_tready):
                    stamps["out"].append(cyc)
                    if out_sof:
                        stamps["out_first"].append(cyc)
                    out_sof = hi(dut.m_axis_tlast)

        cocotb.start_soon(monitor())
        sizes = [int(x) for x in os.environ.get("WP_SIZES", "").split(",") if x] or SIZES
        for size in sizes:
            n = max(8, min(200, 6000 // ((size + 31) // 32)))
            dut._log.info("size %d: %d frames", size, n)
            frame = pad_to(ipv4_frame(proto="udp", nsh=nsh), size)
            for k in stamps.values():
                k.clear()
            for _ in range(n):
                await tb.send(frame)
            for _ in range(n):
                await with_timeout(tb.recv(), 100_000, "ns")
            beats = len(stamps["out"])
            span = stamps["out"][-1] - stamps["out"][0] + 1
            results[str(size)] = {
                "frames": n,
                "beats": beats,
                "cycles": span,
                "beats_per_cycle": round(beats / span, 4),
                "latency_cycles": stamps["out_first"][0] - stamps["in_first"][0],
            }
            await tb.cycles(50)
        Path(os.environ["WP_OUT"]).write_text(json.dumps(results))

except ImportError:  # pragma: no cover - cocotb missing: only main() below is usable
    pass


def run(top: str) -> dict[str, dict[str, float]]:
    from sim.common import run_cocotb

    out = REPO / "sim" / "sim_build" / f"rate_{top}.json"
    run_cocotb(
        toplevel=top,
        module="bench.hdl_rate",
        parameters=MODULES[top],
        extra_env={"WP_TOP": top, "WP_OUT": str(out)},
        tag="_rate",
    )
    result: dict[str, dict[str, float]] = json.loads(out.read_text())
    return result


def main(argv: list[str]) -> int:
    from bench.docs_section import replace_section

    tops = argv or list(MODULES)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for top in tops:
        t0 = time.time()
        data[top] = {"parameters": MODULES[top], "sizes": run(top)}
        print(f"{top}: {time.time() - t0:.0f} s wall")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    rows = [
        "Measured by `bench/hdl_rate.py` (Icarus, cocotb; source never idle, sink always ready;",
        "256-bit data path, 1 beat = 32 B; 200 MHz target → 1.00 beat/cycle = 51.2 Gb/s).",
        "Rate = output beats / cycles from first to last output beat of N back-to-back frames;",
        "latency = cycles from a frame's first input beat to its first output beat.",
        "The waypoint numbers are for NSH frames dispatched through its firewall PE.",
        "",
        "| module | " + " | ".join(f"{s} B" for s in SIZES) + " | latency (cycles) |",
        "| --- | " + " | ".join("---" for _ in SIZES) + " | --- |",
    ]
    for top, entry in data.items():
        sizes = entry["sizes"]
        lat = sorted({v["latency_cycles"] for v in sizes.values()})
        rows.append(
            f"| {top} | "
            + " | ".join(f"{sizes[str(s)]['beats_per_cycle']:.2f}" for s in SIZES)
            + f" | {lat[0]}–{lat[-1]} |"
        )
    replace_section("HDL rate", "\n".join(rows))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
