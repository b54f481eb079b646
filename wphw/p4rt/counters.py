"""Direct counters: per classification rule (``wp_classify``) and per service hop (``wp_sff``).

Counters are read with one wildcard ``DirectCounterEntry`` read per table and switch. Reading
needs no arbitration, so ``wphw stats`` does not disturb the controller that is primary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import wphw.p4names as P4
from wphw.entries import Exact, TableEntry
from wphw.p4rt.encode import describe
from wphw.p4rt.fabric import AsyncFabric

CLASSIFY_TABLE = P4.WP_CLASSIFY
SFF_TABLE = P4.WP_SFF


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleCounter:
    switch: str
    entry: TableEntry
    packets: int
    octets: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HopCounter:
    switch: str
    spi: int
    si: int
    action: str
    packets: int
    octets: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    rules: tuple[RuleCounter, ...]
    hops: tuple[HopCounter, ...]

    def hop(self, switch: str, spi: int, si: int) -> HopCounter:
        for h in self.hops:
            if (h.switch, h.spi, h.si) == (switch, spi, si):
                return h
        raise KeyError(f"no wp_sff entry for SPI {spi} SI {si} on {switch}")

    def table(self, rule_names: Mapping[tuple[str, int], str] | None = None) -> str:
        """The counters as two plain-text tables. ``rule_names``: (switch, priority) → the
        policy rule a classifier entry realises (:func:`rule_names`), shown beside it."""
        lines = ["classification rules (wp_classify)"]
        header: tuple[str, ...] = ("switch", "entry", "packets", "bytes")
        rows: list[tuple[str, ...]] = [
            (r.switch, describe(r.entry), str(r.packets), str(r.octets)) for r in self.rules
        ]
        if rule_names is not None:
            header = ("switch", "rule", *header[1:])
            rows = [
                (r.switch, rule_names.get((r.switch, r.entry.priority), "?"), *row[1:])
                for r, row in zip(self.rules, rows, strict=True)
            ]
        lines.extend(_render(header, rows))
        lines.append("")
        lines.append("service path hops (wp_sff)")
        hop_rows = [
            (h.switch, str(h.spi), str(h.si), h.action, str(h.packets), str(h.octets))
            for h in self.hops
        ]
        lines.extend(_render(("switch", "spi", "si", "action", "packets", "bytes"), hop_rows))
        return "\n".join(lines)


def _render(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    if not rows:
        return ["  (none)"]
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    numeric = {"packets", "bytes", "spi", "si"}

    def fmt(row: tuple[str, ...]) -> str:
        cells = [
            c.rjust(w) if h in numeric else c.ljust(w)
            for c, w, h in zip(row, widths, header, strict=True)
        ]
        return "  " + "  ".join(cells).rstrip()

    return [fmt(header), *(fmt(r) for r in rows)]


def rule_names(plan: Any) -> dict[tuple[str, int], str]:
    """(subscriber switch, classifier priority) → policy rule name, from a plan's bindings
    (a :class:`wphw.plan.Plan`); rules sharing a priority on a switch are joined with "/"."""
    out: dict[tuple[str, int], str] = {}
    for b in plan.bindings:
        key = (b.subscriber, b.priority)
        out[key] = f"{out[key]}/{b.rule}" if key in out else b.rule
    return out


async def read_stats(fabric: AsyncFabric, switches: Iterable[str] | None = None) -> Stats:
    """Read the direct counters of wp_classify and wp_sff on ``switches`` (default: all)."""
    names = tuple(switches) if switches is not None else fabric.switch_names

    async def one(name: str) -> tuple[list[RuleCounter], list[HopCounter]]:
        schema = fabric.schema(name)
        rules: list[RuleCounter] = []
        hops: list[HopCounter] = []
        if schema.has_table(CLASSIFY_TABLE):
            for entry, pk, by in await fabric.read_direct_counters(name, CLASSIFY_TABLE):
                rules.append(RuleCounter(switch=name, entry=entry, packets=pk, octets=by))
        if schema.has_table(SFF_TABLE):
            for entry, pk, by in await fabric.read_direct_counters(name, SFF_TABLE):
                m = entry.match_dict()
                spi, si = m.get("spi"), m.get("si")
                if not isinstance(spi, Exact) or not isinstance(si, Exact):
                    continue
                hops.append(
                    HopCounter(
                        switch=name,
                        spi=spi.value,
                        si=si.value,
                        action=entry.action.name,
                        packets=pk,
                        octets=by,
                    )
                )
        rules.sort(key=lambda r: -r.entry.priority)
        hops.sort(key=lambda h: (h.spi, -h.si))
        return rules, hops

    parts = await asyncio.gather(*(one(n) for n in names))
    return Stats(
        rules=tuple(r for rs, _ in parts for r in rs),
        hops=tuple(h for _, hs in parts for h in hs),
    )
