"""HDL throughput and latency: beats/cycle for back-to-back frames, and latency in cycles.

    .venv/bin/python bench/hdl_rate.py                 # all, writes bench/results/hdl_rate.json
    .venv/bin/python bench/hdl_rate.py wp_fw           # one configuration (names: CONFIGS)
    .venv/bin/python bench/hdl_rate.py wp_chacha20_encrypt wp_chacha20_decrypt
    .venv/bin/python bench/hdl_rate.py --table          # only rewrite the table from the JSON

Each module runs in Icarus with the source never idle and the sink always ready. For every frame
size, N frames are sent back to back; rate = beats / cycles from the first to the last beat on the
busier side (the side with more beats: the output when a PE adds bytes, the input when it
removes them; the first frame is left out, so the keystream pipeline's fill does not count;
1.00 = one beat per cycle), latency = cycles from a frame's first input beat to its first output
beat (first frame, empty pipeline). wp_chacha20 decrypt is fed the encrypted frames of the
encrypt run (size + 16 B, made by the reference model wphw.services.esp). Also a cocotb test module
(run by the runner).
"""

from __future__ import annotations

import argparse
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
    "wp_chacha20": {"DEC_SI": 1, "FIFO_DEPTH": 128, "KS_DEPTH": 64},
    "wp_ids": {"NUM_SIGS": 16, "FRAME_DEPTH": 512},
}
# configuration name -> (toplevel, mode)
CONFIGS = {
    "wp_fw": ("wp_fw", ""),
    "wp_nat": ("wp_nat", ""),
    "wp_waypoint": ("wp_waypoint", ""),
    "wp_chacha20_encrypt": ("wp_chacha20", "encrypt"),
    "wp_chacha20_decrypt": ("wp_chacha20", "decrypt"),
    "wp_ids": ("wp_ids", ""),
}
CHACHA_KEY = bytes(range(0x80, 0xA0))
CHACHA_KEY_ID = 7
RESULTS = REPO / "bench" / "results" / "hdl_rate.json"

try:
    import cocotb

    @cocotb.test()
    async def measure(dut: object) -> None:
        from cocotb.triggers import RisingEdge, with_timeout

        from sim.common import TB, ipv4_frame, pad_to
        from wphw.netfpga.chacha20 import ChaCha20Driver
        from wphw.netfpga.drivers import (
            FirewallDriver,
            NatDriver,
            WaypointDriver,
            WaypointEntry,
        )
        from wphw.netfpga.ids import IdsAction, IdsDriver, Signature
        from wphw.services import esp

        top = os.environ["WP_TOP"]
        mode = os.environ.get("WP_MODE", "")
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
        elif top == "wp_chacha20":
            cc = await ChaCha20Driver.attach(tb.bus, base=0)
            await cc.set_key(CHACHA_KEY, key_id=CHACHA_KEY_ID, seq=0)
            await cc.configure(enable=True, decrypt=mode == "decrypt")
            nsh = (1, 255)
        elif top == "wp_ids":
            ids = await IdsDriver.attach(tb.bus, base=0)
            # every slot in use; the frames (zero payload) contain none of them
            await ids.set_signatures(
                [
                    Signature(pattern=bytes([i + 1]) * (i + 1), action=IdsAction(i % 3))
                    for i in range(ids.caps)
                ]
            )
            nsh = (1, 255)
        else:
            wp = await WaypointDriver.attach(tb.bus)
            await wp.set_entries([WaypointEntry(spi=1, si=255, pe=0, port=2)])
            await (await FirewallDriver.attach(tb.bus)).set_rules([], default_permit=True)
            nsh = (1, 255)
        results = {}
        stamps: dict[str, list[int]] = {"in_first": [], "out_first": [], "out": [], "in": []}

        def hi(sig: object) -> bool:
            return str(sig.value) == "1"  # type: ignore[attr-defined]

        async def monitor() -> None:
            cyc = 0
            in_sof = out_sof = True
            while True:
                await RisingEdge(dut.clk)
                cyc += 1
                if hi(dut.s_axis_tvalid) and hi(dut.s_axis_tready):
                    stamps["in"].append(cyc)
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
            if mode == "decrypt":
                frame = esp.encrypt(frame, key=CHACHA_KEY, key_id=CHACHA_KEY_ID, seq=size)
            for k in stamps.values():
                k.clear()
            for _ in range(n):
                await tb.send(frame)
            for _ in range(n):
                await with_timeout(tb.recv(), 100_000, "ns")
            # the busier side, from the first beat of the second frame on
            side = "out" if len(stamps["out"]) >= len(stamps["in"]) else "in"
            per_frame = len(stamps[side]) // n
            run = stamps[side][per_frame:]
            span = run[-1] - run[0] + 1
            results[str(size)] = {
                "frames": n,
                "frame_bytes": len(frame),
                "side": side,
                "in_beats": len(stamps["in"]),
                "out_beats": len(stamps["out"]),
                "beats": len(run),
                "cycles": span,
                "beats_per_cycle": round(len(run) / span, 4),
                "latency_cycles": stamps["out_first"][0] - stamps["in_first"][0],
            }
            await tb.cycles(50)
        Path(os.environ["WP_OUT"]).write_text(json.dumps(results))

except ImportError:  # pragma: no cover - cocotb missing: only main() below is usable
    pass


def run(name: str) -> dict[str, dict[str, float]]:
    from sim.common import run_cocotb

    top, mode = CONFIGS[name]
    out = REPO / "sim" / "sim_build" / f"rate_{name}.json"
    run_cocotb(
        toplevel=top,
        module="bench.hdl_rate",
        parameters=MODULES[top],
        extra_env={"WP_TOP": top, "WP_MODE": mode, "WP_OUT": str(out)},
        tag="_rate",
    )
    result: dict[str, dict[str, float]] = json.loads(out.read_text())
    return result


def main(argv: list[str]) -> int:
    from bench.docs_section import replace_section

    parser = argparse.ArgumentParser(
        description="beats per cycle and latency of each PE in cocotb (Icarus)",
        epilog=f"configurations: {' '.join(CONFIGS)}",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="configurations (default: all)")
    parser.add_argument("--table", action="store_true", help="only rewrite the table from JSON")
    args = parser.parse_args(argv)
    table_only = args.table
    names = args.names or ([] if table_only else list(CONFIGS))
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; choose from {list(CONFIGS)}")
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in names:
        t0 = time.time()
        data[name] = {"parameters": MODULES[CONFIGS[name][0]], "sizes": run(name)}
        print(f"{name}: {time.time() - t0:.0f} s wall")
    data = {k: data[k] for k in CONFIGS if k in data}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    rows = [
        "Measured by `bench/hdl_rate.py` (Icarus, cocotb; source never idle, sink always ready;",
        "256-bit data path, 1 beat = 32 B; 200 MHz target → 1.00 beat/cycle = 51.2 Gb/s).",
        "Rate = beats / cycles from first to last beat of N back-to-back frames (after the",
        "first) on the busier side: the one with more beats (the output on a tie; the input for",
        "wp_chacha20 decrypt when the frame loses a beat); latency = cycles from a frame's first",
        "input beat to its first output beat. The waypoint numbers are for NSH frames dispatched",
        "through its firewall PE.",
        "wp_chacha20 runs NSH frames; decrypt is fed the encrypt run's output for each size",
        "(size + 16 B: 76, 80, 81, 144, 145, 528, 1516, 9016 B; 81, 145 and 9016 B end in a beat",
        "of 17..31 bytes, the case that used to cost a cycle per frame).",
        "wp_ids (16 signatures, all slots in use, none in the frames) is store-and-forward:",
        "its latency holds the whole frame (a frame leaves after its last beat is checked).",
        "",
        "| module | " + " | ".join(f"{s} B" for s in SIZES) + " | latency (cycles) |",
        "| --- | " + " | ".join("---" for _ in SIZES) + " | --- |",
    ]
    for top, entry in data.items():
        sizes = entry["sizes"]
        lat = sorted({v["latency_cycles"] for v in sizes.values()})
        label = top.replace("_encrypt", " encrypt").replace("_decrypt", " decrypt")
        rows.append(
            f"| {label} | "
            + " | ".join(f"{sizes[str(s)]['beats_per_cycle']:.2f}" for s in SIZES)
            + f" | {lat[0]}–{lat[-1]} |"
        )
    replace_section("HDL rate", "\n".join(rows))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
