"""Plan output: a per-switch human-readable table and p4lang/tutorials ``sN-runtime.json``."""

from __future__ import annotations

import ipaddress
import json
import shutil
from pathlib import Path
from typing import Any

import wphw.p4names as P4
from wphw.entries import LPM, Exact, MatchValue, Range, TableEntry, Ternary
from wphw.plan import Plan

_ADDR_FIELDS = {P4.IPV4_SRC, P4.IPV4_DST}
_ADDR_PARAMS = {"addr"}
_MAC_PARAMS = {"dst_mac"}


def _ip(v: int) -> str:
    return str(ipaddress.IPv4Address(v))


def _mac(v: int) -> str:
    return ":".join(f"{(v >> s) & 0xFF:02x}" for s in range(40, -8, -8))


def format_match(name: str, value: MatchValue) -> str:
    show = _ip if name in _ADDR_FIELDS else str
    match value:
        case Exact(value=v):
            return f"{name}={show(v)}"
        case Ternary(value=v, mask=m):
            if name in _ADDR_FIELDS:
                plen = bin(m).count("1")
                return f"{name}={_ip(v)}/{plen}"
            return f"{name}={v}" if m == (1 << m.bit_length()) - 1 else f"{name}={v}&&&{m:#x}"
        case LPM(value=v, prefix_len=p):
            return f"{name}={show(v)}/{p}"
        case Range(low=lo, high=hi):
            return f"{name}={lo}" if lo == hi else f"{name}={lo}..{hi}"


def format_param(name: str, value: int) -> str:
    if name in _ADDR_PARAMS:
        return f"{name}={_ip(value)}"
    if name in _MAC_PARAMS:
        return f"{name}={_mac(value)}"
    return f"{name}={value}"


def format_entry(entry: TableEntry) -> str:
    match = " ".join(format_match(k, v) for k, v in entry.match) or "*"
    params = ", ".join(format_param(k, v) for k, v in entry.action.params)
    prio = f" prio {entry.priority}" if entry.priority else ""
    return f"{entry.table:<16} {match}{prio} -> {entry.action.name}({params})"


def format_plan(plan: Plan, *, routes: bool = False) -> str:
    """One block per switch; ``ipv4_lpm`` entries only when ``routes``."""
    lines: list[str] = []
    for b in plan.bindings:
        target = f"spi {b.spi} x{b.paths}" if b.spi is not None else b.action
        skipped = f" (bypassed: {', '.join(b.skipped)})" if b.skipped else ""
        lines.append(f"rule {b.rule:<20} on {b.subscriber:<6} -> {target}{skipped}")
    if plan.paths:
        lines.append("")
    for p in plan.paths:
        chain = " > ".join(f"{h.service}@{h.pe}" for h in p.hops)
        lines.append(
            f"path spi {p.spi:<5} {p.subscriber}: {chain} > {p.final}   via {' > '.join(p.switches)}"
        )
    for sw, entries in plan.entries.items():
        shown = [e for e in entries if routes or e.table != P4.IPV4_LPM]
        hidden = len(entries) - len(shown)
        lines.append("")
        lines.append(
            f"== {sw}: {len(entries)} entries"
            + (f" ({hidden} ipv4_lpm not shown)" if hidden else "")
        )
        lines.extend("  " + format_entry(e) for e in shown)
    lines.append("")
    lines.append(
        f"total: {plan.entry_count()} entries on {len(plan.entries)} switches, {len(plan.paths)} service paths"
    )
    return "\n".join(lines)


def _tutorials_value(name: str, value: MatchValue) -> Any:
    show: Any = _ip if name in _ADDR_FIELDS else (lambda v: v)
    match value:
        case Exact(value=v):
            return show(v)
        case Ternary(value=v, mask=m):
            return [show(v), show(m)]
        case LPM(value=v, prefix_len=p):
            return [show(v), p]
        case Range(low=lo, high=hi):
            return [lo, hi]


def runtime_json(plan: Plan, switch: str, *, p4info: str, bmv2_json: str) -> dict[str, Any]:
    """A p4lang/tutorials ``sN-runtime.json`` for one switch.

    Names are P4Info aliases (``wp_sff``), which the tutorials' ``p4runtime_lib`` resolves
    like full names. Addresses are dotted strings, MACs colon strings, as in the tutorials.
    """
    entries = []
    for e in plan.entries_for(switch):
        obj: dict[str, Any] = {
            "table": e.table,
            "match": {k: _tutorials_value(k, v) for k, v in e.match},
            "action_name": e.action.name,
            "action_params": {
                k: (_ip(v) if k in _ADDR_PARAMS else _mac(v) if k in _MAC_PARAMS else v)
                for k, v in e.action.params
            },
        }
        if e.priority:
            obj["priority"] = e.priority
        entries.append(obj)
    return {"target": "bmv2", "p4info": p4info, "bmv2_json": bmv2_json, "table_entries": entries}


def write_runtime_jsons(plan: Plan, directory: Path) -> list[Path]:
    """``sN-runtime.json`` per switch, plus the compiled program they name (``wphw.json``,
    ``wphw.p4info.txtpb``) copied beside them: the folder is self-contained and holds no path
    of the machine that wrote it."""
    from wphw.resources import BMV2_JSON, P4INFO

    directory.mkdir(parents=True, exist_ok=True)
    for src in (P4INFO, BMV2_JSON):
        shutil.copyfile(src, directory / src.name)
    out = []
    for sw in plan.entries:
        path = directory / f"{sw}-runtime.json"
        obj = runtime_json(plan, sw, p4info=P4INFO.name, bmv2_json=BMV2_JSON.name)
        path.write_text(json.dumps(obj, indent=2) + "\n")
        out.append(path)
    return out
