"""Side by side: two runs of bench/hdl_resources.py (before / after an RTL change).

    .venv/bin/python bench/hdl_resources_compare.py BEFORE.json AFTER.json [TITLE] [--note TEXT]...

Reads two results files written by bench/hdl_resources.py (each row names the commit it was
synthesized from), prints, for every configuration in both, the yosys xc7 cell counts and the
register-to-register depth before and after with the ratio after / before, writes the table to
bench/results/hdl_resources_compare.json and to the docs/benchmarks.md section TITLE (default
"HDL resources: issue #13 before / after").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OUT = REPO / "bench" / "results" / "hdl_resources_compare.json"
CELLS = ("LUT", "FF", "LUTRAM", "CARRY4")


def compare(before: dict[str, dict], after: dict[str, dict]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name in after:
        if name not in before:
            continue
        b, a = before[name], after[name]
        if a["commit"] == b["commit"]:
            continue  # not measured after the change
        row: dict[str, object] = {
            "config": name,
            "before_commit": b["commit"][:7],
            "after_commit": a["commit"][:7],
        }
        for cell in CELLS:
            row[cell] = [b["cells"][cell], a["cells"][cell]]
        bd, ad = b["depth"]["reg_to_reg"], a["depth"]["reg_to_reg"]
        row["lut_levels"] = [bd["lut_levels"], ad["lut_levels"]]
        row["est_ns"] = [bd["ns"], ad["ns"]]
        row["yosys_s"] = [b["seconds"], a["seconds"]]
        rows.append(row)
    return rows


def _ratio(pair: object) -> str:
    assert isinstance(pair, list)
    b, a = pair
    return f"{a / b:.3f}" if b else "—"


def render(rows: list[dict[str, object]], notes: tuple[str, ...] = ()) -> str:
    out = [
        "Produced by `bench/hdl_resources_compare.py` from two runs of `bench/hdl_resources.py`",
        "(Debian yosys 0.23, `synth_xilinx -family xc7`, the same shared 2-core machine): the RTL",
        "before issue #13 item 6 (shared header decoders and register modules) and after; each",
        "side names the commit it was synthesized from.",
        "Each cell: before → after (ratio after / before). est. ns: the depth walk's",
        "register-to-register estimate (see *Logic depth* above), not timing.",
        "",
        "| module | commits | LUT | FF | LUTRAM | CARRY4 | reg→reg LUT levels | est. ns |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        cells = []
        for key in (*CELLS, "lut_levels", "est_ns"):
            pair = r[key]
            assert isinstance(pair, list)
            cells.append(f"{pair[0]} → {pair[1]} ({_ratio(pair)})")
        out.append(
            f"| {r['config']} | {r['before_commit']} → {r['after_commit']} | "
            + " | ".join(cells)
            + " |"
        )
    if notes:
        out.append("")
        out += [f"* {n}" for n in notes]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    from bench.docs_section import replace_section

    notes = [argv[i + 1] for i, a in enumerate(argv) if a == "--note" and i + 1 < len(argv)]
    argv = [a for i, a in enumerate(argv) if a != "--note" and (i == 0 or argv[i - 1] != "--note")]
    if len(argv) < 2:
        sys.stderr.write(__doc__ or "")
        return 2
    before = json.loads(Path(argv[0]).read_text())
    after = json.loads(Path(argv[1]).read_text())
    title = argv[2] if len(argv) > 2 else "HDL resources: issue #13 before / after"
    rows = compare(before, after)
    OUT.write_text(json.dumps({"before": argv[0], "after": argv[1], "rows": rows}, indent=2) + "\n")
    body = render(rows, tuple(notes))
    replace_section(title, body)
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
