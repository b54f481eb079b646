"""Plan entities: plain values, built without a connection (finsy style).

A :class:`TableEntry` names its table, match fields, action and parameters by the *short*
names of docs/dataplane.md. Encoding it needs a P4Info schema (``wphw.p4rt``); writing it
needs a switch. Values are Python ints; addresses are converted at the edges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from wphw.errors import PlanError


@dataclass(frozen=True, slots=True, kw_only=True)
class Exact:
    value: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Ternary:
    value: int
    mask: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LPM:
    value: int
    prefix_len: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Range:
    low: int
    high: int


MatchValue: TypeAlias = Exact | Ternary | LPM | Range


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    name: str
    params: tuple[tuple[str, int], ...] = ()

    @staticmethod
    def of(name: str, **params: int) -> Action:
        return Action(name=name, params=tuple(sorted(params.items())))

    def param(self, name: str) -> int:
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(f"action {self.name} has no parameter {name!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TableEntry:
    """One P4 table entry. ``match`` is sorted by field name; omitted fields are wildcards."""

    table: str
    match: tuple[tuple[str, MatchValue], ...]
    action: Action
    priority: int = 0
    is_default: bool = False
    # P4Runtime MeterConfig for a direct meter on this entry: (cir, cburst, pir, pburst),
    # rates in the meter's unit per second (wp_ratelimit: bytes), bursts in that unit.
    meter: tuple[int, int, int, int] | None = None

    @staticmethod
    def of(
        table: str,
        match: Mapping[str, MatchValue],
        action: Action,
        priority: int = 0,
        meter: tuple[int, int, int, int] | None = None,
    ) -> TableEntry:
        return TableEntry(
            table=table,
            match=tuple(sorted(match.items())),
            action=action,
            priority=priority,
            meter=meter,
        )

    def match_dict(self) -> dict[str, MatchValue]:
        return dict(self.match)

    def key(self) -> tuple[Any, ...]:
        """The identity of the entry on a switch (table, match, priority), as P4Runtime sees it."""
        return (self.table, self.match, self.priority, self.is_default)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterWrite:
    """One PE register write (for FPGA PEs): block name, register name, word index, value."""

    pe: str
    block: str
    register: str
    index: int
    value: int
    secret: bool = False  # a key: Plan.to_json leaves the value out unless secrets=True


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchEntries:
    switch: str
    entries: tuple[TableEntry, ...] = field(default=())


# -- JSON -------------------------------------------------------------------------------------


def match_to_json(value: MatchValue) -> dict[str, int]:
    match value:
        case Exact(value=v):
            return {"exact": v}
        case Ternary(value=v, mask=m):
            return {"ternary": v, "mask": m}
        case LPM(value=v, prefix_len=p):
            return {"lpm": v, "prefix_len": p}
        case Range(low=lo, high=hi):
            return {"range_low": lo, "range_high": hi}


def match_from_json(obj: dict[str, int]) -> MatchValue:
    if "exact" in obj:
        return Exact(value=obj["exact"])
    if "ternary" in obj:
        return Ternary(value=obj["ternary"], mask=obj["mask"])
    if "lpm" in obj:
        return LPM(value=obj["lpm"], prefix_len=obj["prefix_len"])
    if "range_low" in obj:
        return Range(low=obj["range_low"], high=obj["range_high"])
    raise PlanError(f"unknown match value {obj!r}")


def entry_to_json(entry: TableEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "table": entry.table,
        "match": {k: match_to_json(v) for k, v in entry.match},
        "action": entry.action.name,
        "params": dict(entry.action.params),
    }
    if entry.priority:
        out["priority"] = entry.priority
    if entry.is_default:
        out["default"] = True
    if entry.meter is not None:
        out["meter"] = list(entry.meter)
    return out


def entry_from_json(obj: dict[str, Any]) -> TableEntry:
    try:
        return TableEntry(
            table=obj["table"],
            match=tuple(sorted((k, match_from_json(v)) for k, v in obj["match"].items())),
            action=Action(name=obj["action"], params=tuple(sorted(obj["params"].items()))),
            priority=int(obj.get("priority", 0)),
            is_default=bool(obj.get("default", False)),
            meter=None if obj.get("meter") is None else _meter(obj["meter"]),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise PlanError(f"malformed table entry {obj!r}: {exc}") from exc


def _meter(obj: Any) -> tuple[int, int, int, int]:
    cir, cburst, pir, pburst = (int(x) for x in obj)
    return (cir, cburst, pir, pburst)
