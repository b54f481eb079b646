#!/usr/bin/env python3
"""Summarise a bf-p4c compile of the TNA program: stages, tables per stage, SRAM/TCAM/PHV use.

Reads the compiler's own reports in its output folder -- ``pipe/context.json`` (every table with
its stage tables and memory units) and ``pipe/logs/metrics.json`` (totals: SRAMs, TCAMs, map
RAMs, logical tables, PHV containers) -- and prints one small JSON document, the
``p4/build/tna/resources.json`` that `make -C p4 tna` commits (the compiler's log tree is not
committed). Table names are the P4Info short names (``wp_sff``); the compiler's own tables for
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
    metrics = json.loads(_find(out_dir, "metrics.json").read_text())
    target = str(metrics.get("target", context.get("target", "tofino"))).lower()
    tables: dict[str, dict[str, Any]] = {}
    per_stage: dict[int, dict[str, dict[str, Any]]] = {}
    for t in context.get("tables", ()):
        if t.get("table_type") != "match":
            continue  # counters, meters, action data: reported under their match table
        short = _short(str(t["name"]))
        match = t.get("match_attributes", {})
        stages = sorted({int(st["stage_number"]) for st in _stage_tables(match)})
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
    mau = metrics.get("mau", {})
    phv = metrics.get("phv", {})
    phv_bits = sum(int(u.get("bits_occupied", 0)) for u in phv.get("normal", ()))
    phv_containers = sum(int(u.get("containers_occupied", 0)) for u in phv.get("normal", ()))
    used = sorted(per_stage)
    device = DEVICE.get(target, DEVICE["tofino"])
    return {
        "target": target,
        "compiler_version": str(metrics.get("compiler_version", "")),
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
            "srams": int(mau.get("srams", 0)),
            "srams_available": device["srams_per_stage"] * device["stages"],
            "tcams": int(mau.get("tcams", 0)),
            "tcams_available": device["tcams_per_stage"] * device["stages"],
            "map_rams": int(mau.get("map_rams", 0)),
            "logical_tables": int(mau.get("logical_tables", 0)),
            "phv_bits_occupied": phv_bits,
            "phv_containers_occupied": phv_containers,
        },
        "latency": mau.get("latency", []),
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    json.dump(summarise(Path(sys.argv[1])), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
