#!/usr/bin/env python3
"""Summarise a bf-p4c compile of the TNA program: stages, tables per stage, SRAM/TCAM/PHV use.

Reads the compiler's own report in its output folder, ``pipe/context.json`` (every table with
its stage tables and the memory units they were given; the PHV containers and the fields in
them), and prints one small JSON document, the ``p4/build/tna/resources.json`` that
`make -C p4 tna` commits (the compiler's output tree is not committed). Table names are the P4Info short names (``wp_sff``); the compiler's own tables for
assignments and conditions (``tbl_*``, ``cond-*``) are kept under their names.

    python3 p4/tna/resources.py OUT_DIR > p4/build/tna/resources.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Tofino 1 (per pipe): 12 MAU stages; per stage 80 SRAM blocks (1024 x 128 bit), 24 TCAM blocks
# (512 x 44 bit), 48 map RAMs, 16 logical tables. Tofino 2: 20 stages, same per stage.
DEVICE = {
    "tofino": {"stages": 12, "srams_per_stage": 80, "tcams_per_stage": 24},
    "tofino2": {"stages": 20, "srams_per_stage": 80, "tcams_per_stage": 24},
}


def _find(root: Path, name: str) -> Path:
    hits = sorted(root.rglob(name))
    if not hits:
        raise SystemExit(f"resources.py: no {name} under {root}")
    return hits[0]


def _stage_tables(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict with a stage_number under node (a table's stage tables, at any depth)."""
    if isinstance(node, dict):
        if "stage_number" in node:
            yield node
        for value in node.values():
            yield from _stage_tables(value)
    elif isinstance(node, list):
        for value in node:
            yield from _stage_tables(value)


def _units(node: Any, memory_type: str) -> int:
    """Memory units of one type an allocation lists (memory_units_and_vpns entries)."""
    count = 0
    if isinstance(node, dict):
        if node.get("memory_type") == memory_type:
            for mv in node.get("memory_units_and_vpns", ()):
                count += len(mv.get("memory_units", ()))
        allocation = node.get("memory_resource_allocation")
        if isinstance(allocation, list) and memory_type == "sram":
            # an algorithmic TCAM (ALPM's partitions): SRAM columns, listed without a type
            for column in allocation:
                for mv in column.get("memory_units_and_vpns", ()):
                    count += len(mv.get("memory_units", ()))
        for key, value in node.items():
            if key != "memory_units_and_vpns":
                count += _units(value, memory_type)
    elif isinstance(node, list):
        for value in node:
            count += _units(value, memory_type)
    return count


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def summarise(out_dir: Path) -> dict[str, Any]:
    context = json.loads(_find(out_dir, "context.json").read_text())
    target = str(context.get("target", "tofino")).lower()
    tables: dict[str, dict[str, Any]] = {}
    per_stage: dict[int, dict[str, dict[str, Any]]] = {}
    srams = tcams = 0
    for t in context.get("tables", ()):
        # every table kind holds memory: match, action data, statistics, meters
        srams += _units(t, "sram")
        tcams += _units(t, "tcam")
        if t.get("table_type") != "match":
            continue
        short = _short(str(t["name"]))
        match = t.get("match_attributes", {})
        stages = sorted({int(st["stage_number"]) for st in _stage_tables(match)} - {-1})
        if not stages:
            continue  # phase 0 (port metadata) runs in the parser
        info = {
            "size": int(t.get("size", 0)),
            "match_type": str(match.get("match_type", "")),
            "gress": str(t.get("direction", "")),
            "stages": stages,
            "srams": _units(match, "sram"),
            "tcams": _units(match, "tcam"),
        }
        tables[short] = info
        for stage in stages:
            per_stage.setdefault(stage, {})[short] = {
                "match_type": info["match_type"],
                "gress": info["gress"],
            }
    phv_bits = phv_containers = 0
    for stage in context.get("phv_allocation", ())[:1]:  # the allocation is per stage; same here
        for gress in ("ingress", "egress"):
            for container in stage.get(gress, ()):
                phv_containers += 1
                phv_bits += sum(
                    int(r["field_msb"]) - int(r["field_lsb"]) + 1
                    for r in container.get("records", ())
                    if not r.get("is_pov")
                )
    used = sorted(per_stage)
    device = DEVICE.get(target, DEVICE["tofino"])
    return {
        "target": target,
        "compiler_version": str(context.get("compiler_version", "")),
        "stages": (used[-1] + 1) if used else 0,
        "device_stages": device["stages"],
        "stage_tables": [
            {
                "stage": s,
                "tables": [{"name": n, **v} for n, v in sorted(per_stage[s].items())],
            }
            for s in used
        ],
        "tables": dict(sorted(tables.items())),
        "totals": {
            "srams": srams,
            "srams_available": device["srams_per_stage"] * device["stages"],
            "tcams": tcams,
            "tcams_available": device["tcams_per_stage"] * device["stages"],
            "phv_containers": phv_containers,
            "phv_field_bits": phv_bits,
        },
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    json.dump(summarise(Path(sys.argv[1])), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
