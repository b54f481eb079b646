"""P4Info schema: names, IDs, widths and match kinds of a compiled P4 program.

Names resolve by full name, by alias and by every *unambiguous* dotted suffix, so the short
names of docs/dataplane.md work on both architectures (``wp_sff`` → ``MyIngress.wp_sff`` on
v1model, ``pipe.Ingress.wp_sff`` on TNA). A miss raises :class:`~wphw.errors.SchemaError` with a
"did you mean" suggestion; an ambiguous suffix names every candidate.

A :class:`Schema` is a value built from a P4Info message; it does no I/O except
:meth:`Schema.load`, which reads a file (P4Info text format or binary).
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, TypeAlias, TypeVar

from finsy.proto import p4i
from google.protobuf import text_format
from google.protobuf.message import DecodeError

from wphw.errors import SchemaError

MatchKind: TypeAlias = Literal["exact", "ternary", "lpm", "range", "optional"]

_MATCH_KINDS: dict[int, MatchKind] = {
    p4i.MatchField.EXACT: "exact",
    p4i.MatchField.TERNARY: "ternary",
    p4i.MatchField.LPM: "lpm",
    p4i.MatchField.RANGE: "range",
    p4i.MatchField.OPTIONAL: "optional",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchFieldInfo:
    id: int
    name: str
    bitwidth: int
    kind: MatchKind


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamInfo:
    id: int
    name: str
    bitwidth: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionInfo:
    id: int
    name: str
    short: str
    params: tuple[ParamInfo, ...]

    def param(self, name: str) -> ParamInfo:
        for p in self.params:
            if p.name == name:
                return p
        raise SchemaError(
            f"action {self.short!r} has no parameter {name!r}"
            f"{_suggest(name, [p.name for p in self.params])}"
            f" (parameters: {', '.join(p.name for p in self.params) or 'none'})"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TableInfo:
    id: int
    name: str
    short: str
    match_fields: tuple[MatchFieldInfo, ...]
    action_ids: frozenset[int]
    size: int
    direct_counter_id: int | None
    direct_meter_id: int | None
    is_const: bool

    @property
    def needs_priority(self) -> bool:
        """P4Runtime: tables with ternary, range or optional fields need priority > 0."""
        return any(f.kind in ("ternary", "range", "optional") for f in self.match_fields)

    def field(self, name: str) -> MatchFieldInfo:
        for f in self.match_fields:
            if f.name == name:
                return f
        # Accept a unique dotted suffix (``hdr.nsh.spi`` matched by ``spi``).
        hits = [f for f in self.match_fields if f.name.endswith("." + name)]
        if len(hits) == 1:
            return hits[0]
        names = [f.name for f in self.match_fields]
        raise SchemaError(
            f"table {self.short!r} has no match field {name!r}{_suggest(name, names)}"
            f" (fields: {', '.join(names) or 'none'})"
        )

    def field_by_id(self, field_id: int) -> MatchFieldInfo:
        for f in self.match_fields:
            if f.id == field_id:
                return f
        raise SchemaError(f"table {self.short!r} has no match field with id {field_id}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CounterInfo:
    id: int
    name: str
    short: str
    table_id: int


_T = TypeVar("_T")


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


class _NameIndex(Generic[_T]):
    """Full name, alias and every dotted suffix → object; ambiguous suffixes are remembered."""

    __slots__ = ("_kind", "_map", "_short")

    def __init__(self, kind: str, items: Iterable[tuple[str, str, _T]]) -> None:
        self._kind = kind
        self._map: dict[str, list[_T]] = {}
        full: dict[str, _T] = {}
        for name, alias, obj in items:
            full[name] = obj
            parts = name.split(".")
            keys = {".".join(parts[i:]) for i in range(len(parts))}
            if alias:
                keys.add(alias)
            for key in keys:
                hits = self._map.setdefault(key, [])
                if not any(h is obj for h in hits):
                    hits.append(obj)
        # A full name always wins over somebody else's suffix.
        for name, obj in full.items():
            self._map[name] = [obj]
        self._short: dict[str, str] = {}
        for name, obj in full.items():
            parts = name.split(".")
            for i in range(len(parts) - 1, -1, -1):
                key = ".".join(parts[i:])
                hits = self._map.get(key, [])
                if len(hits) == 1 and hits[0] is obj:
                    self._short[name] = key
                    break
            else:  # pragma: no cover - the full name itself is always unique
                self._short[name] = name

    def short(self, full_name: str) -> str:
        return self._short[full_name]

    def get(self, name: str) -> _T:
        hits = self._map.get(name)
        if hits is None:
            raise SchemaError(
                f"no {self._kind} named {name!r} in the P4Info{_suggest(name, self._map)}"
            )
        if len(hits) > 1:
            raise SchemaError(
                f"{self._kind} name {name!r} is ambiguous in the P4Info: it matches "
                + ", ".join(sorted(repr(getattr(h, "name", h)) for h in hits))
                + "; use a longer name"
            )
        return hits[0]

    def __contains__(self, name: str) -> bool:
        return len(self._map.get(name, ())) == 1


class Schema:
    """What wphw needs from one P4Info: tables, actions, direct counters, by name and by ID."""

    __slots__ = (
        "_actions",
        "_actions_by_id",
        "_counters",
        "_counters_by_id",
        "_tables",
        "_tables_by_id",
        "p4info",
    )

    def __init__(self, p4info: p4i.P4Info) -> None:
        self.p4info = p4info
        action_idx: _NameIndex[p4i.Action] = _NameIndex(
            "action", ((a.preamble.name, a.preamble.alias, a) for a in p4info.actions)
        )
        self._actions_by_id: dict[int, ActionInfo] = {}
        for a in p4info.actions:
            self._actions_by_id[a.preamble.id] = ActionInfo(
                id=a.preamble.id,
                name=a.preamble.name,
                short=action_idx.short(a.preamble.name),
                params=tuple(
                    ParamInfo(id=p.id, name=p.name, bitwidth=p.bitwidth) for p in a.params
                ),
            )
        self._actions: _NameIndex[ActionInfo] = _NameIndex(
            "action",
            (
                (a.name, p.preamble.alias, a)
                for a, p in zip(self._actions_by_id.values(), p4info.actions, strict=True)
            ),
        )
        direct: dict[int, tuple[int | None, int | None]] = {}
        counters: list[CounterInfo] = []
        counter_idx: _NameIndex[p4i.DirectCounter] = _NameIndex(
            "direct counter",
            ((c.preamble.name, c.preamble.alias, c) for c in p4info.direct_counters),
        )
        for c in p4info.direct_counters:
            counters.append(
                CounterInfo(
                    id=c.preamble.id,
                    name=c.preamble.name,
                    short=counter_idx.short(c.preamble.name),
                    table_id=c.direct_table_id,
                )
            )
            direct[c.direct_table_id] = (
                c.preamble.id,
                direct.get(c.direct_table_id, (None, None))[1],
            )
        for m in p4info.direct_meters:
            direct[m.direct_table_id] = (
                direct.get(m.direct_table_id, (None, None))[0],
                m.preamble.id,
            )
        self._counters_by_id = {c.id: c for c in counters}
        self._counters: _NameIndex[CounterInfo] = _NameIndex(
            "direct counter", ((c.name, "", c) for c in counters)
        )
        table_idx: _NameIndex[p4i.Table] = _NameIndex(
            "table", ((t.preamble.name, t.preamble.alias, t) for t in p4info.tables)
        )
        self._tables_by_id: dict[int, TableInfo] = {}
        for t in p4info.tables:
            kinds = []
            for mf in t.match_fields:
                if mf.match_type not in _MATCH_KINDS:
                    raise SchemaError(
                        f"table {t.preamble.name!r} field {mf.name!r}: unsupported match kind"
                        f" {mf.match_type} (other_match_type {mf.other_match_type!r})"
                    )
                kinds.append(
                    MatchFieldInfo(
                        id=mf.id,
                        name=mf.name,
                        bitwidth=mf.bitwidth,
                        kind=_MATCH_KINDS[mf.match_type],
                    )
                )
            counter_id, meter_id = direct.get(t.preamble.id, (None, None))
            self._tables_by_id[t.preamble.id] = TableInfo(
                id=t.preamble.id,
                name=t.preamble.name,
                short=table_idx.short(t.preamble.name),
                match_fields=tuple(kinds),
                action_ids=frozenset(r.id for r in t.action_refs),
                size=t.size,
                direct_counter_id=counter_id,
                direct_meter_id=meter_id,
                is_const=t.is_const_table,
            )
        self._tables: _NameIndex[TableInfo] = _NameIndex(
            "table",
            (
                (info.name, t.preamble.alias, info)
                for info, t in zip(self._tables_by_id.values(), p4info.tables, strict=True)
            ),
        )

    # -- construction ---------------------------------------------------------------------

    @staticmethod
    def from_text(text: str) -> Schema:
        info = p4i.P4Info()
        try:
            text_format.Parse(text, info)
        except text_format.ParseError as exc:
            raise SchemaError(f"P4Info text does not parse: {exc}") from exc
        return Schema(info)

    @staticmethod
    def from_bytes(data: bytes) -> Schema:
        info = p4i.P4Info()
        try:
            info.ParseFromString(data)
        except DecodeError as exc:
            raise SchemaError(f"P4Info binary does not parse: {exc}") from exc
        return Schema(info)

    @staticmethod
    def load(path: str | Path) -> Schema:
        """Read a P4Info file: text format (``.txt``, ``.txtpb``, ``.pbtxt``) or binary."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SchemaError(f"cannot read P4Info {path}: {exc}") from exc
        if path.suffix in (".txt", ".txtpb", ".pbtxt", ".textproto"):
            try:
                return Schema.from_text(data.decode())
            except (SchemaError, UnicodeDecodeError) as exc:
                raise SchemaError(f"{path}: {exc}") from exc
        try:
            return Schema.from_bytes(data)
        except SchemaError:
            try:
                return Schema.from_text(data.decode())
            except (SchemaError, UnicodeDecodeError) as exc:
                raise SchemaError(f"{path}: neither binary nor text P4Info ({exc})") from exc

    # -- lookup ---------------------------------------------------------------------------

    def table(self, name: str) -> TableInfo:
        return self._tables.get(name)

    def has_table(self, name: str) -> bool:
        return name in self._tables

    def table_by_id(self, table_id: int) -> TableInfo:
        try:
            return self._tables_by_id[table_id]
        except KeyError:
            raise SchemaError(f"no table with id {table_id:#x} in the P4Info") from None

    def action(self, name: str) -> ActionInfo:
        return self._actions.get(name)

    def action_by_id(self, action_id: int) -> ActionInfo:
        try:
            return self._actions_by_id[action_id]
        except KeyError:
            raise SchemaError(f"no action with id {action_id:#x} in the P4Info") from None

    def direct_counter(self, name: str) -> CounterInfo:
        return self._counters.get(name)

    def direct_counter_by_id(self, counter_id: int) -> CounterInfo:
        try:
            return self._counters_by_id[counter_id]
        except KeyError:
            raise SchemaError(f"no direct counter with id {counter_id:#x}") from None

    @property
    def tables(self) -> Iterator[TableInfo]:
        return iter(self._tables_by_id.values())

    @property
    def actions(self) -> Iterator[ActionInfo]:
        return iter(self._actions_by_id.values())

    def fingerprint(self) -> bytes:
        """SHA-256 of the deterministic binary P4Info (used in the pipeline cookie)."""
        return hashlib.sha256(self.p4info.SerializeToString(deterministic=True)).digest()
