"""Move a flip-flop after an ECP5 block RAM read into the RAM's output register.

    .venv/bin/python bench/ecp5_outreg.py netlist.json out.json   # report on stderr

yosys maps an inferred RAM to DP16KD with both output registers unused (REGMODE_A/B "NOREG"
in share/lattice/brams_map_16kd.v), and nothing later moves a register that follows the read
into the RAM. Then the read data leaves the block RAM 4.26 ns after the clock in
nextpnr-ecp5's model (speed 8) and crosses the fabric to that register: a ceiling of about
185 MHz on every path out of a block RAM (bench/hdl_fmax.py, row wp_ram_sdp), whatever the
RTL. The vendor flows do move it: Vivado puts a register after a block RAM read into the
RAMB's DOA_REG/DOB_REG, Lattice's flow into the EBR's output register (REGMODE "OUTREG").
This step does the same on yosys's JSON netlist, before nextpnr, for the place-and-route
bench only; nothing a user builds goes through it.

A read port X (A or B) of a DP16KD is rewritten when

* REGMODE_X is "NOREG", RSTX is constant 0 (no read reset), CLKXMUX is "CLKX" (rising edge);
* every used DOX bit drives exactly one cell pin, the DI pin of a TRELLIS_FF, and no port of
  the module;
* those flip-flops are clocked by the RAM's CLKX net on the rising edge (CLKMUX "CLK"), never
  set or reset (LSR constant 0), start at 0 (REGSET "RESET", as the output register), and
  share one clock enable: the same CE net (CEMUX "CE") or none (CEMUX "1");
* in the 36-bit pseudo-dual-port mode (DATA_WIDTH_A or DATA_WIDTH_B 36) DOA and DOB are the
  two halves of one read: both are rewritten, with the same clock and enable, or neither.

Rewritten: REGMODE_X = "OUTREG", OCEX = the flip-flops' clock enable (1 without one), each DOX
bit drives the net its flip-flop's Q drove, and the flip-flops are removed. The output
register loads the RAM's read latch on CLKX when OCEX is high (Lattice TN1264, *ECP5 and
ECP5-5G Memory Usage Guide*): what the removed flip-flops did. tests/test_ecp5_outreg.py
simulates RTL, the netlist before and the netlist after side by side (iverilog, yosys's cell
models and a DP16KD double: yosys has no DP16KD simulation model).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

Bit = int | str  # a net number, or a constant "0" / "1" / "x" / "z"


@dataclass(frozen=True, slots=True)
class Absorbed:
    """One DP16KD read port whose flip-flops went into its output register."""

    ram: str
    port: str  # "A" or "B"
    flip_flops: int
    clock_enable: str  # "1" or the name of the enable net


def _param(cell: dict[str, object], name: str, default: str = "") -> str:
    params = cell.get("parameters", {})
    assert isinstance(params, dict)
    return str(params.get(name, default)).strip()


def _width(cell: dict[str, object], port: str) -> int:
    text = _param(cell, f"DATA_WIDTH_{port}", "18")
    return int(text, 2) if set(text) <= {"0", "1"} and len(text) > 2 else int(text)


def _is_zero(bits: list[Bit] | None) -> bool:
    return bits is None or bits == [] or bits == ["0"]


def _net_names(module: dict[str, object]) -> dict[Bit, str]:
    names: dict[Bit, str] = {}
    netnames = module.get("netnames", {})
    assert isinstance(netnames, dict)
    for name, net in sorted(netnames.items(), key=lambda kv: ("$" in kv[0], kv[0])):
        for i, b in enumerate(net["bits"]):
            names.setdefault(b, name if len(net["bits"]) == 1 else f"{name}[{i}]")
    return names


def absorb(netlist: dict[str, object], top: str | None = None) -> list[Absorbed]:
    """Rewrite ``netlist`` (yosys JSON, flattened) in place; return what was absorbed."""
    modules = netlist["modules"]
    assert isinstance(modules, dict)
    if top is None:
        tops = [n for n, m in modules.items() if m.get("attributes", {}).get("top")]
        top = tops[0] if tops else next(iter(modules))
    module = modules[top]
    cells: dict[str, dict[str, object]] = module["cells"]
    port_bits: set[Bit] = set()
    for p in module.get("ports", {}).values():
        port_bits.update(p["bits"])
    # every cell input pin a net drives
    sinks: dict[Bit, list[tuple[str, str]]] = defaultdict(list)
    for name, cell in cells.items():
        dirs = cell.get("port_directions", {})
        for pin, bits in cell["connections"].items():  # type: ignore[attr-defined]
            if dirs.get(pin, "input") == "input":  # type: ignore[attr-defined]
                for b in bits:
                    sinks[b].append((name, pin))

    def port_ffs(ram: dict[str, object], x: str) -> tuple[list[tuple[int, str]], Bit] | None:
        """(DOX index, flip-flop) pairs and the shared clock enable, or None."""
        conn: dict[str, list[Bit]] = ram["connections"]  # type: ignore[assignment]
        if _param(ram, f"REGMODE_{x}", "NOREG") != "NOREG":
            return None
        if not _is_zero(conn.get(f"RST{x}")) or _param(ram, f"CLK{x}MUX", f"CLK{x}") != f"CLK{x}":
            return None
        clk = conn.get(f"CLK{x}")
        found: list[tuple[int, str]] = []
        enables: set[Bit] = set()
        for i in range(18):
            bits = conn.get(f"DO{x}{i}", [])
            if not bits or not isinstance(bits[0], int):
                continue
            b = bits[0]
            users = sinks.get(b, [])
            if not users and b not in port_bits:
                continue  # unused output bit
            if b in port_bits or len(users) != 1 or users[0][1] != "DI":
                return None
            ff = cells[users[0][0]]
            fc: dict[str, list[Bit]] = ff["connections"]  # type: ignore[assignment]
            if ff["type"] != "TRELLIS_FF" or fc.get("CLK") != clk:
                return None
            if _param(ff, "CLKMUX", "CLK") != "CLK" or _param(ff, "REGSET", "RESET") != "RESET":
                return None
            if not _is_zero(fc.get("LSR")) or _param(ff, "LSRMUX", "LSR") != "LSR":
                return None
            cemux = _param(ff, "CEMUX", "1")
            if cemux == "1" or (cemux == "CE" and fc.get("CE") == ["1"]):
                enables.add("1")
            elif cemux == "CE" and fc.get("CE"):
                enables.add(fc["CE"][0])
            else:
                return None
            found.append((i, users[0][0]))
        if len(enables) > 1:
            return None
        return found, (enables.pop() if enables else "1")

    names = _net_names(module)
    done: list[Absorbed] = []
    for name, ram in list(cells.items()):
        if ram["type"] != "DP16KD":
            continue
        plan = {x: port_ffs(ram, x) for x in ("A", "B")}
        pdp = 36 in (_width(ram, "A"), _width(ram, "B"))
        if pdp:
            a, b = plan["A"], plan["B"]
            conn = ram["connections"]
            assert isinstance(conn, dict)
            if (
                a is None
                or b is None
                or not (a[0] or b[0])
                or (a[0] and b[0] and a[1] != b[1])
                or conn.get("CLKA") != conn.get("CLKB")
            ):
                continue
            ce = a[1] if a[0] else b[1]
            plan = {"A": (a[0], ce), "B": (b[0], ce)}
        for x, p in plan.items():
            if p is None or (not p[0] and not pdp):
                continue
            ffs, ce = p
            conn = ram["connections"]
            params = ram["parameters"]
            assert isinstance(conn, dict) and isinstance(params, dict)
            params[f"REGMODE_{x}"] = "OUTREG"
            conn[f"OCE{x}"] = [ce]
            for i, ff_name in ffs:
                ff = cells.pop(ff_name)
                conn[f"DO{x}{i}"] = list(ff["connections"]["Q"])  # type: ignore[index]
            done.append(
                Absorbed(
                    ram=name,
                    port=x,
                    flip_flops=len(ffs),
                    clock_enable="1" if ce == "1" else names.get(ce, f"net {ce}"),
                )
            )
    return done


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: ecp5_outreg.py IN.json OUT.json", file=sys.stderr)
        return 2
    netlist = json.loads(Path(argv[0]).read_text())
    done = absorb(netlist)
    Path(argv[1]).write_text(json.dumps(netlist))
    ffs = sum(d.flip_flops for d in done)
    print(f"ecp5_outreg: {len(done)} read ports, {ffs} flip-flops absorbed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
