"""MAU stages the TNA program needs at other table sizes (bf-p4c, p4c's open Tofino back end).

For each row, p4/include and p4/tna are copied to a temporary folder, p4/tna/sizes.p4 there is
replaced by the row's sizes (the committed sizes.p4 for the first row), and bf-p4c compiles it;
the stages come from the compiler's context.json (p4/tna/resources.py). Prints a table and writes
bench/results/tna_sizes.json. Needs bf-p4c (PATH or WPHW_BF_P4C; docs/p4.md "TNA (Tofino)").

    .venv/bin/python bench/tna_sizes.py [--target tofino2 --arch t2na]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
P4 = REPO / "p4"
RESULTS = REPO / "bench" / "results" / "tna_sizes.json"

BASE: dict[str, int | str] = {
    "WP_SIZE_IPV4_LPM": 8192,
    "WP_SIZE_CLASSIFY": 1024,
    "WP_SIZE_SFF": 65536,
    "WP_SIZE_COUNT": 4096,
    "WP_SIZE_FW": 1024,
    "WP_SIZE_NAT": 1024,
    "WP_SIZE_RATELIMIT": 4096,
    "WP_SIZE_PROXY_RETURN": 4096,
    "WP_SIZE_LB": 1024,
}
ISSUE: dict[str, int | str] = {  # what issue #16 asks a deployment would want
    **BASE,
    "WP_SIZE_CLASSIFY": 4096,
    "WP_SIZE_IPV4_LPM": 65536,
    "WP_LPM_IMPL": "@alpm(1)",
    "WP_SIZE_FW": 4096,
    "WP_SIZE_NAT": 4096,
}
ROWS: list[tuple[str, dict[str, int | str]]] = [
    ("committed p4/tna/sizes.p4", {}),
    ("base (classify 1k)", BASE),
    ("classify 2k", {**BASE, "WP_SIZE_CLASSIFY": 2048}),
    ("classify 4k", {**BASE, "WP_SIZE_CLASSIFY": 4096}),
    ("ipv4_lpm 16k", {**BASE, "WP_SIZE_IPV4_LPM": 16384}),
    ("ipv4_lpm 32k", {**BASE, "WP_SIZE_IPV4_LPM": 32768}),
    ("ipv4_lpm 64k @alpm", {**BASE, "WP_SIZE_IPV4_LPM": 65536, "WP_LPM_IMPL": "@alpm(1)"}),
    ("fw 2k", {**BASE, "WP_SIZE_FW": 2048}),
    ("fw 4k", {**BASE, "WP_SIZE_FW": 4096}),
    ("nat 4k", {**BASE, "WP_SIZE_NAT": 4096}),
    ("issue sizes (classify 4k, fw/nat 4k, ipv4_lpm 64k @alpm), bf-p4c range default", ISSUE),
    *(
        (
            f"issue sizes, @entries_with_ranges({n}) on classify and fw",
            {
                **ISSUE,
                "WP_CLASSIFY_IMPL": f"@entries_with_ranges({n})",
                "WP_FW_IMPL": f"@entries_with_ranges({n})",
            },
        )
        for n in (128, 256, 384, 512)
    ),
    (
        "classify 2k, fw 2k, nat 4k, ipv4_lpm 64k @alpm",
        {**ISSUE, "WP_SIZE_CLASSIFY": 2048, "WP_SIZE_FW": 2048},
    ),
    (
        "classify 4k, fw 1k, nat 4k, ipv4_lpm 32k",
        {**ISSUE, "WP_SIZE_FW": 1024, "WP_SIZE_IPV4_LPM": 32768, "WP_LPM_IMPL": ""},
    ),
]


def _resources() -> object:
    spec = importlib.util.spec_from_file_location("wphw_tna_resources", P4 / "tna" / "resources.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stages(bf_p4c: str, target: str, arch: str, sizes: dict[str, int | str]) -> int | None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(P4 / "include", src / "include")
        shutil.copytree(P4 / "tna", src / "tna")
        if sizes:
            lines = [f"#define {k} {v}" for k, v in sizes.items()]
            (src / "tna" / "sizes.p4").write_text("\n".join(lines) + "\n")
        out = Path(tmp) / "out"
        proc = subprocess.run(
            [bf_p4c, "--target", target, "--arch", arch, "--std", "p4-16",
             "--p4runtime-force-std-externs", "-o", str(out), str(src / "tna" / "wphw.p4")],
            capture_output=True, text=True, check=False, timeout=1800,
        )  # fmt: skip
        if not list(out.rglob("context.json")):
            sys.stderr.write(proc.stderr[-2000:])
            return None
        # bf-p4c writes context.json also when the assembler refuses (too many stages)
        summary = _resources().summarise(out)  # type: ignore[attr-defined]
        return int(summary["stages"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", default="tofino")
    ap.add_argument("--arch", default="tna")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--rows", default="", help="only rows whose name contains this text")
    args = ap.parse_args()
    bf_p4c = os.environ.get("WPHW_BF_P4C") or shutil.which("bf-p4c")
    if not bf_p4c:
        print("cannot run: bf-p4c not found (docs/p4.md)", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    for name, sizes in ROWS:
        if args.rows not in name:
            continue
        n = stages(bf_p4c, args.target, args.arch, sizes)
        rows.append({"row": name, "sizes": sizes, "stages": n})
        print(f"{name:30s} {n if n is not None else 'failed'}")
    version = subprocess.run([bf_p4c, "--version"], capture_output=True, text=True).stdout
    if args.rows and args.out.exists():  # a partial run: keep the other rows of the same setup
        old = json.loads(args.out.read_text())
        if (old.get("target"), old.get("arch")) == (args.target, args.arch):
            mine = {r["row"] for r in rows}
            order = [name for name, _ in ROWS]
            kept = [r for r in old["rows"] if r["row"] not in mine and r["row"] in order]
            rows = sorted(kept + rows, key=lambda r: order.index(r["row"]))
    record = {"target": args.target, "arch": args.arch, "bf_p4c": version.strip(), "rows": rows}
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
