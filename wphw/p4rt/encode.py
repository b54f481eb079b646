"""Plan entries ↔ P4Runtime messages, fast.

IDs, widths and match kinds are resolved once per table and per (table, action) and cached.
Entries are then encoded straight to protobuf wire bytes (``p4.v1.TableEntry`` layout); a
WriteRequest is the upb-serialized header followed by the framed updates. This skips building
a message object per entry, which is what makes well over 100,000 entries/s possible (building
upb messages in place costs about as much as the whole wire encoding plus validation).

Why hand-written: installing 10,000-rule plans in seconds (docs/benchmarks.md, install rate)
needs encoding at well over 100,000 entries/s; building upb messages per entry was the
bottleneck. The price is risk, so it is held to protobuf itself: tests/test_p4rt_upb.py has
upb parse our bytes for every entry of every example and zoo plan (every table, action, match
kind, meters, defaults) against each committed P4Info, and compares with a message built by
protobuf's own classes; tests/test_p4rt_fast_encode.py checks the generated per-shape code
against the general path on random shapes. Field order differs from upb's (priority before
the action): valid protobuf, and keys stay canonical.

Encoding rules (P4Runtime 1.3 §8.3):

* Every value is validated against its P4Info width (``SchemaError`` names table, field or
  parameter, value and width) and encoded in canonical form: big-endian, leading zero bytes
  stripped, at least one byte.
* Ternary values are sent as ``value & mask``; a ternary with mask 0, an LPM with prefix length
  0 and a range covering the whole field are "don't care" and are omitted from the message,
  as the specification requires. LPM values are masked to their prefix.
* Tables with ternary/range/optional fields need a priority in 1..2**31-1; others need 0.
* Match fields are emitted in field-id order and parameters in parameter-id order, so the bytes
  of an entry's key are canonical: :meth:`Encoder.encoded_from_message` computes the same
  bytes from an entry read back from a switch, and diffs compare bytes.

:meth:`Encoder.decode` turns a ``p4.v1.TableEntry`` message back into a
:class:`~wphw.entries.TableEntry` by short names; ``canonical(e) == decode(encode(e))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple, TypeAlias

from finsy.proto import p4r

from wphw.entries import LPM, Action, Exact, MatchValue, Range, TableEntry, Ternary
from wphw.errors import SchemaError
from wphw.p4rt.schema import ActionInfo, MatchFieldInfo, Schema, TableInfo

UpdateKind: TypeAlias = Literal["insert", "modify", "delete"]

UPDATE_TYPES: dict[UpdateKind, int] = {
    "insert": p4r.Update.INSERT,
    "modify": p4r.Update.MODIFY,
    "delete": p4r.Update.DELETE,
}
UPDATE_KINDS: dict[int, UpdateKind] = {v: k for k, v in UPDATE_TYPES.items()}

_MAX_PRIORITY = (1 << 31) - 1


def to_bytes(value: int) -> bytes:
    """Canonical P4Runtime bytes: big-endian, no leading zero bytes, at least one byte."""
    return value.to_bytes((value.bit_length() + 7) >> 3 or 1, "big")


def from_bytes(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = [bytes([i]) for i in range(0x80)]


def _ld(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    n = len(payload)
    return tag + (_SMALL[n] if n < 0x80 else _varint(n)) + payload


def _canon(data: bytes) -> bytes:
    return data.lstrip(b"\0") or b"\0"


class EncodedEntry(NamedTuple):
    """An entry as wire bytes. ``key`` = table id + match + priority (+ default flag) and is
    unique per entry on a switch; ``action`` is the serialized ``p4.v1.TableAction``."""

    table_id: int
    key: bytes
    action: bytes
    meter: bytes = b""  # serialized p4.v1.MeterConfig of a direct meter, if any

    @property
    def is_default(self) -> bool:
        # A default entry's key is exactly: table_id, is_default_action=true.
        # (Any other key is longer than 8 bytes or does not end in 0x40 0x01.)
        return len(self.key) <= 8 and self.key.endswith(b"\x40\x01")

    def entry_bytes(self, with_action: bool = True) -> bytes:
        """The serialized ``p4.v1.TableEntry``."""
        if with_action and self.action:
            out = self.key + _ld(b"\x1a", self.action)
            if self.meter:
                out += _ld(b"\x32", self.meter)  # TableEntry.meter_config = 6
            return out
        return self.key

    def same_value(self, other: EncodedEntry) -> bool:
        """Same action (and meter config): no MODIFY needed."""
        return self.action == other.action and self.meter == other.meter


def update_bytes(kind: UpdateKind, enc: EncodedEntry) -> bytes:
    """A serialized ``p4.v1.Update``, framed as field ``updates`` (4) of a WriteRequest."""
    # WriteRequest.updates (4) = Update{type (1), entity (2) = Entity{table_entry (2) = te}},
    # te = the key, then (not for a DELETE: it needs only the key) TableEntry.action (3).
    key, action = enc.key, enc.action
    if kind == "delete" or not action:
        n = len(key)
        if n <= 0x79:  # every length fits one byte (the update is n + 6 bytes)
            return _UPDATE_KEY_ONLY[kind] % (n + 6, n + 2, n, key)
        te = key
    elif enc.meter:
        te = enc.entry_bytes()
    else:
        a = len(action)
        n = len(key) + 2 + a
        if n <= 0x79 and a < 0x80:  # the common case: one allocation
            return _UPDATE_WITH_ACTION[kind] % (n + 6, n + 2, n, key, a, action)
        te = key + b"\x1a" + _varint(a) + action
    entity = _ld(b"\x12", te)  # Entity.table_entry = 2
    update = _UPDATE_TYPE_BYTES[kind] + _ld(b"\x12", entity)  # Update.type = 1, entity = 2
    return _ld(b"\x22", update)  # WriteRequest.updates = 4


_UPDATE_TYPE_BYTES: dict[UpdateKind, bytes] = {
    k: b"\x08" + _varint(v) for k, v in UPDATE_TYPES.items()
}
# update_bytes' one-allocation formats (%c: a length below 128, %b: bytes).
_UPDATE_KEY_ONLY: dict[UpdateKind, bytes] = {
    k: b"\x22%c" + t + b"\x12%c\x12%c%b" for k, t in _UPDATE_TYPE_BYTES.items()
}
_UPDATE_WITH_ACTION: dict[UpdateKind, bytes] = {
    k: b"\x22%c" + t + b"\x12%c\x12%c%b\x1a%c%b" for k, t in _UPDATE_TYPE_BYTES.items()
}


_MAX_BITWIDTH = 8 * 48  # keeps every framed value below 128 bytes (one-byte lengths)


def _check_widths(owner: str, widths: list[tuple[str, int]]) -> None:
    for name, width in widths:
        if width > _MAX_BITWIDTH:
            raise SchemaError(
                f"{owner}: {name!r} is {width} bits wide; wphw encodes at most {_MAX_BITWIDTH}"
            )


class _Field(NamedTuple):
    info: MatchFieldInfo
    max: int
    prefix: bytes  # FieldMatch.field_id
    id: int
    kind: str


class _TableCodec:
    __slots__ = ("exact_ids", "fields", "fields_by_id", "head", "info", "needs_priority")

    def __init__(self, info: TableInfo) -> None:
        _check_widths(info.short, [(f.name, f.bitwidth) for f in info.match_fields])
        self.info = info
        self.needs_priority = info.needs_priority
        self.head = b"\x08" + _varint(info.id)
        self.fields: dict[str, _Field] = {
            f.name: _Field(
                info=f,
                max=(1 << f.bitwidth) - 1,
                prefix=b"\x08" + _varint(f.id),
                id=f.id,
                kind=f.kind,
            )
            for f in info.match_fields
        }
        self.fields_by_id = {f.info.id: f for f in self.fields.values()}
        self.exact_ids = frozenset(f.id for f in info.match_fields if f.kind == "exact")

    def field(self, name: str) -> _Field:
        f = self.fields.get(name)
        if f is None:
            resolved = self.info.field(name)  # raises SchemaError with a suggestion
            f = self.fields[resolved.name]
            self.fields[name] = f
        return f


class _Param(NamedTuple):
    name: str
    prefix: bytes  # Param.param_id
    max: int
    width: int
    plen: int  # len(prefix) + 2 (the value's tag and length)
    bit: int  # 1 << (position in id order)


class _ActionCodec:
    __slots__ = ("all_bits", "by_id", "by_name", "head", "info", "name_order_is_id_order", "order")

    def __init__(self, info: ActionInfo) -> None:
        _check_widths(info.short, [(p.name, p.bitwidth) for p in info.params])
        self.info = info
        self.head = b"\x08" + _varint(info.id)
        self.order = tuple(
            _Param(
                name=p.name,
                prefix=b"\x10" + _varint(p.id),
                max=(1 << p.bitwidth) - 1,
                width=p.bitwidth,
                plen=len(b"\x10" + _varint(p.id)) + 2,
                bit=1 << k,
            )
            for k, p in enumerate(sorted(info.params, key=lambda p: p.id))
        )
        self.by_name = {p.name: p for p in self.order}
        self.all_bits = (1 << len(self.order)) - 1
        self.by_id = {p.id: p.name for p in info.params}
        # Plans sort parameters by name (Action.of); when that is also the id order, the
        # parameters can be taken as they come.
        self.name_order_is_id_order = [p.name for p in self.order] == sorted(
            p.name for p in self.order
        )


class Encoder:
    """Encodes and decodes :class:`~wphw.entries.TableEntry` values for one :class:`Schema`."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._tables: dict[str, _TableCodec] = {}
        self._tables_by_id: dict[int, _TableCodec] = {}
        self._actions: dict[tuple[int, str], _ActionCodec] = {}
        self._actions_by_id: dict[int, _ActionCodec] = {}
        # entry.table → entry.action.name → generated encoders, one per entry shape seen.
        self._fast: dict[str, dict[str, list[_FastEncoder]]] = {}
        self._shapes: set[tuple[object, ...]] = set()

    # -- caches ---------------------------------------------------------------------------

    def _table(self, name: str) -> _TableCodec:
        tc = self._tables.get(name)
        if tc is None:
            info = self.schema.table(name)
            tc = self._table_id(info.id)
            self._tables[name] = tc
        return tc

    def _table_id(self, table_id: int) -> _TableCodec:
        tc = self._tables_by_id.get(table_id)
        if tc is None:
            tc = _TableCodec(self.schema.table_by_id(table_id))
            self._tables_by_id[table_id] = tc
        return tc

    def _action_id(self, action_id: int) -> _ActionCodec:
        ac = self._actions_by_id.get(action_id)
        if ac is None:
            ac = _ActionCodec(self.schema.action_by_id(action_id))
            self._actions_by_id[action_id] = ac
        return ac

    def _action(self, tc: _TableCodec, name: str) -> _ActionCodec:
        key = (tc.info.id, name)
        ac = self._actions.get(key)
        if ac is None:
            info = self.schema.action(name)
            if info.id not in tc.info.action_ids:
                names = sorted(self.schema.action_by_id(i).short for i in tc.info.action_ids)
                raise SchemaError(
                    f"table {tc.info.short!r}: action {name!r} is not one of its actions"
                    f" ({', '.join(names)})"
                )
            ac = self._action_id(info.id)
            self._actions[key] = ac
        return ac

    def table(self, name: str) -> TableInfo:
        return self._table(name).info

    def table_by_id(self, table_id: int) -> TableInfo:
        return self._table_id(table_id).info

    # -- errors -----------------------------------------------------------------------------

    @staticmethod
    def _bad(tc: _TableCodec, f: _Field, what: str, value: int) -> SchemaError:
        return SchemaError(
            f"table {tc.info.short!r} field {f.info.name!r}: {what} {value} does not fit"
            f" {f.info.bitwidth} bits"
        )

    @staticmethod
    def _kind_error(tc: _TableCodec, f: _Field, mv: object) -> SchemaError:
        return SchemaError(
            f"table {tc.info.short!r} field {f.info.name!r} is {f.info.kind}, got"
            f" {type(mv).__name__} {mv!r}"
        )

    # -- encode ---------------------------------------------------------------------------

    def encode_entry(self, entry: TableEntry) -> EncodedEntry:
        """Validate ``entry`` and encode it to canonical wire bytes.

        Entries of a shape seen before (same table, action, match field names and kinds,
        parameter names, in the same order) go through a generated encoder for that shape
        (:func:`_compile_fast`): about twice as fast, same bytes. Anything it does not cover
        (a value out of range, a don't-care field, a default entry, a meter, a new shape)
        falls through to :meth:`encode_general`, which also raises the errors.
        """
        by_action = self._fast.get(entry.table)
        if by_action is not None:
            for fast in by_action.get(entry.action.name, ()):
                x = fast(entry)
                if x is not None:
                    return x
        x = self.encode_general(entry)
        self._learn(entry)
        return x

    def _learn(self, entry: TableEntry) -> None:
        """After ``entry`` encoded: generate an encoder for its shape (at most
        _MAX_SHAPES per table and action; entries that omit a field are not learned)."""
        if entry.is_default or entry.meter is not None:
            return
        shape = (
            entry.table,
            entry.action.name,
            tuple((n, type(mv)) for n, mv in entry.match),
            tuple(n for n, _ in entry.action.params),
        )
        if shape in self._shapes:
            return
        shapes = self._fast.setdefault(entry.table, {}).setdefault(entry.action.name, [])
        if len(shapes) >= _MAX_SHAPES:
            return
        self._shapes.add(shape)
        tc = self._table(entry.table)
        shapes.append(_compile_fast(tc, self._action(tc, entry.action.name), entry))

    def encode_general(self, entry: TableEntry) -> EncodedEntry:
        """:meth:`encode_entry` without the generated per-shape encoders."""
        tc = self._table(entry.table)
        prio = entry.priority
        if entry.is_default:
            if entry.match or prio:
                raise SchemaError(
                    f"table {tc.info.short!r}: a default entry has no match and no priority"
                )
        elif tc.needs_priority:
            if not 0 < prio <= _MAX_PRIORITY:
                raise SchemaError(
                    f"table {tc.info.short!r} has ternary/range fields: entries need a"
                    f" priority in 1..{_MAX_PRIORITY} (got {prio}) for {entry.match!r}"
                )
        elif prio:
            raise SchemaError(
                f"table {tc.info.short!r} has only exact/LPM fields: priority must be 0"
                f" (got {prio})"
            )
        fms: list[tuple[int, bytes]] = []
        exact_seen = 0
        S = _SMALL
        fields = tc.fields
        for name, mv in entry.match:
            f = fields.get(name) or tc.field(name)
            fmax = f.max
            t = type(mv)
            if t is Exact:
                v = mv.value  # type: ignore[union-attr]
                if not 0 <= v <= fmax:
                    raise self._bad(tc, f, "value", v)
                kind = f.kind
                vb = v.to_bytes((v.bit_length() + 7) >> 3 or 1, "big")
                n = len(vb)
                if kind == "exact":
                    exact_seen += 1
                    fms.append((f.id, f.prefix + b"\x12" + S[n + 2] + b"\x0a" + S[n] + vb))
                elif kind == "optional":
                    fms.append((f.id, f.prefix + b"\x3a" + S[n + 2] + b"\x0a" + S[n] + vb))
                else:
                    raise self._kind_error(tc, f, mv)
            elif t is Ternary:
                if f.kind != "ternary":
                    raise self._kind_error(tc, f, mv)
                v, mask = mv.value, mv.mask  # type: ignore[union-attr]
                if not 0 <= v <= fmax:
                    raise self._bad(tc, f, "value", v)
                if not 0 <= mask <= fmax:
                    raise self._bad(tc, f, "mask", mask)
                if mask:
                    v &= mask
                    vb = v.to_bytes((v.bit_length() + 7) >> 3 or 1, "big")
                    mb = mask.to_bytes((mask.bit_length() + 7) >> 3 or 1, "big")
                    n = len(vb) + len(mb) + 4
                    fms.append(
                        (
                            f.id,
                            f.prefix
                            + b"\x1a"
                            + S[n]
                            + b"\x0a"
                            + S[len(vb)]
                            + vb
                            + b"\x12"
                            + S[len(mb)]
                            + mb,
                        )
                    )
            elif t is LPM:
                if f.kind != "lpm":
                    raise self._kind_error(tc, f, mv)
                v, plen = mv.value, mv.prefix_len  # type: ignore[union-attr]
                width = f.info.bitwidth
                if not 0 <= v <= fmax:
                    raise self._bad(tc, f, "value", v)
                if not 0 <= plen <= width:
                    raise SchemaError(
                        f"table {tc.info.short!r} field {f.info.name!r}: prefix length"
                        f" {plen} outside 0..{width}"
                    )
                if plen:
                    v &= fmax ^ ((1 << (width - plen)) - 1)
                    vb = v.to_bytes((v.bit_length() + 7) >> 3 or 1, "big")
                    n = len(vb)
                    pl = S[plen] if plen < 0x80 else _varint(plen)  # /128 takes two bytes
                    fms.append(
                        (
                            f.id,
                            f.prefix
                            + b"\x22"
                            + S[n + 3 + len(pl)]
                            + b"\x0a"
                            + S[n]
                            + vb
                            + b"\x10"
                            + pl,
                        )
                    )
            elif t is Range:
                if f.kind != "range":
                    raise self._kind_error(tc, f, mv)
                lo, hi = mv.low, mv.high  # type: ignore[union-attr]
                if not 0 <= lo <= fmax:
                    raise self._bad(tc, f, "range low", lo)
                if not 0 <= hi <= fmax:
                    raise self._bad(tc, f, "range high", hi)
                if lo > hi:
                    raise SchemaError(
                        f"table {tc.info.short!r} field {f.info.name!r}: empty range {lo}..{hi}"
                    )
                if lo or hi != fmax:
                    lb = lo.to_bytes((lo.bit_length() + 7) >> 3 or 1, "big")
                    hb = hi.to_bytes((hi.bit_length() + 7) >> 3 or 1, "big")
                    n = len(lb) + len(hb) + 4
                    fms.append(
                        (
                            f.id,
                            f.prefix
                            + b"\x32"
                            + S[n]
                            + b"\x0a"
                            + S[len(lb)]
                            + lb
                            + b"\x12"
                            + S[len(hb)]
                            + hb,
                        )
                    )
            else:
                raise SchemaError(f"table {tc.info.short!r}: unknown match value {mv!r}")
        if len(fms) > 1:
            fms.sort()
            for i in range(1, len(fms)):
                if fms[i][0] == fms[i - 1][0]:
                    fname = tc.fields_by_id[fms[i][0]].info.name
                    raise SchemaError(f"table {tc.info.short!r}: field {fname!r} given twice")
        if not entry.is_default and exact_seen != len(tc.exact_ids):
            given = {tc.field(n).info.id for n, _ in entry.match}
            missing = sorted(tc.fields_by_id[i].info.name for i in tc.exact_ids - given)
            raise SchemaError(
                f"table {tc.info.short!r}: exact field(s) {missing} required"
                f" (entry {entry.match!r})"
            )
        parts = [tc.head]
        for _, fm in fms:
            parts.append(b"\x12" + S[len(fm)] + fm)
        if prio:
            parts.append(b"\x20" + _varint(prio))
        if entry.is_default:
            parts.append(b"\x40\x01")
        key = b"".join(parts)

        ac = self._action(tc, entry.action.name)
        by_name = ac.by_name
        body = [ac.head]
        seen = 0
        for name, v in entry.action.params:
            p = by_name.get(name)
            if p is None or seen & p.bit:
                raise self._param_error(tc, ac, entry.action)
            seen |= p.bit
            if not 0 <= v <= p.max:
                raise SchemaError(
                    f"table {tc.info.short!r} action {ac.info.short!r} parameter {p.name!r}:"
                    f" value {v} does not fit {p.width} bits"
                )
            vb = v.to_bytes((v.bit_length() + 7) >> 3 or 1, "big")
            n = len(vb)
            body.append(b"\x22" + S[n + p.plen] + p.prefix + b"\x1a" + S[n] + vb)
        if seen != ac.all_bits:
            raise self._param_error(tc, ac, entry.action)
        if not ac.name_order_is_id_order and len(body) > 2:
            # Emit parameters in id order (canonical): sort by the Param.param_id bytes.
            names = [n for n, _ in entry.action.params]
            order = sorted(range(len(names)), key=lambda k: by_name[names[k]].bit)
            body = [body[0], *(body[k + 1] for k in order)]
        action = _ld(b"\x0a", b"".join(body))  # TableAction.action = 1
        meter = b""
        if entry.meter is not None:
            if tc.info.direct_meter_id is None:
                raise SchemaError(f"table {tc.info.short!r} has no direct meter")
            meter = _meter_bytes(tc.info.short, entry.meter)
        return EncodedEntry(tc.info.id, key, action, meter)

    @staticmethod
    def _param_error(tc: _TableCodec, ac: _ActionCodec, action: Action) -> SchemaError:
        expected = [p.name for p in ac.order]
        names = [n for n, _ in action.params]
        missing = sorted(set(expected) - set(names))
        extra = sorted(set(names) - set(expected))
        dup = sorted({n for n in names if names.count(n) > 1})
        return SchemaError(
            f"table {tc.info.short!r} action {ac.info.short!r}: parameters"
            + (f" missing {missing}" if missing else "")
            + (f" unknown {extra}" if extra else "")
            + (f" repeated {dup}" if dup else "")
            + f" (expects {sorted(expected)})"
        )

    def encode(self, entry: TableEntry) -> Any:
        """A new ``p4.v1.TableEntry`` message for ``entry``."""
        return p4r.TableEntry.FromString(self.encode_entry(entry).entry_bytes())

    def canonical(self, entry: TableEntry) -> TableEntry:
        """Validate ``entry`` and return it as a Read of the switch would give it back."""
        return self.decode(self.encode(entry))

    def read_entity(self, table: str) -> Any:
        """A wildcard ``p4.v1.Entity`` that reads every entry of ``table``."""
        return p4r.Entity(table_entry=p4r.TableEntry(table_id=self._table(table).info.id))

    # -- read back ----------------------------------------------------------------------------

    def encoded_from_message(self, te: Any) -> EncodedEntry:
        """The canonical :class:`EncodedEntry` of a ``p4.v1.TableEntry`` read from a switch.

        Only the key and the action count; counter data, metadata and the like are dropped.
        Values are re-canonicalised (leading zero bytes stripped) and don't-care matches that a
        switch might echo (mask 0, prefix 0, full range) are dropped.
        """
        tc = self._table_id(te.table_id)
        fms: list[tuple[int, bytes]] = []
        for m in te.match:
            f = tc.fields_by_id.get(m.field_id)
            if f is None:
                raise SchemaError(f"table {tc.info.short!r} has no match field id {m.field_id}")
            which = m.WhichOneof("field_match_type")
            if which == "exact":
                body = b"\x12" + _frame(_ld(b"\x0a", _canon(m.exact.value)))
            elif which == "ternary":
                mask = _canon(m.ternary.mask)
                if mask == b"\0":
                    continue
                inner = _ld(b"\x0a", _canon(m.ternary.value)) + _ld(b"\x12", mask)
                body = b"\x1a" + _frame(inner)
            elif which == "lpm":
                plen = m.lpm.prefix_len
                if not plen:
                    continue
                inner = _ld(b"\x0a", _canon(m.lpm.value)) + b"\x10" + _varint(plen)
                body = b"\x22" + _frame(inner)
            elif which == "range":
                lo, hi = _canon(m.range.low), _canon(m.range.high)
                if lo == b"\0" and from_bytes(hi) == f.max:
                    continue
                body = b"\x32" + _frame(_ld(b"\x0a", lo) + _ld(b"\x12", hi))
            elif which == "optional":
                body = b"\x3a" + _frame(_ld(b"\x0a", _canon(m.optional.value)))
            else:
                raise SchemaError(f"table {tc.info.short!r}: unsupported field match {which!r}")
            fms.append((f.info.id, f.prefix + body))
        fms.sort()
        parts = [tc.head]
        for _, fm in fms:
            parts.append(_ld(b"\x12", fm))
        if te.priority:
            parts.append(b"\x20" + _varint(te.priority))
        if te.is_default_action:
            parts.append(b"\x40\x01")
        action = b""
        if te.action.WhichOneof("type") == "action":
            a = te.action.action
            ac = self._action_id(a.action_id)
            body_parts = [ac.head]
            for p in sorted(a.params, key=_param_id):
                body_parts.append(
                    _ld(b"\x22", b"\x10" + _varint(p.param_id) + _ld(b"\x1a", _canon(p.value)))
                )
            action = _ld(b"\x0a", b"".join(body_parts))
        meter = b""
        if te.HasField("meter_config"):
            mc = te.meter_config
            meter = _meter_bytes(tc.info.short, (mc.cir, mc.cburst, mc.pir, mc.pburst))
        return EncodedEntry(tc.info.id, b"".join(parts), action, meter)

    def decode(self, te: Any) -> TableEntry:
        """A ``p4.v1.TableEntry`` message as a TableEntry by short names (canonical form)."""
        tc = self._table_id(te.table_id)
        info = tc.info
        match: list[tuple[str, MatchValue]] = []
        for m in te.match:
            f = tc.fields_by_id.get(m.field_id)
            if f is None:
                raise SchemaError(f"table {info.short!r} has no match field id {m.field_id}")
            which = m.WhichOneof("field_match_type")
            mv: MatchValue
            if which == "exact":
                mv = Exact(value=from_bytes(m.exact.value))
            elif which == "ternary":
                mv = Ternary(value=from_bytes(m.ternary.value), mask=from_bytes(m.ternary.mask))
            elif which == "lpm":
                mv = LPM(value=from_bytes(m.lpm.value), prefix_len=m.lpm.prefix_len)
            elif which == "range":
                mv = Range(low=from_bytes(m.range.low), high=from_bytes(m.range.high))
            elif which == "optional":
                mv = Exact(value=from_bytes(m.optional.value))
            else:
                raise SchemaError(f"table {info.short!r}: unsupported field match {which!r}")
            match.append((f.info.name, mv))
        match.sort(key=_first)
        action = Action(name="")
        if te.action.WhichOneof("type") == "action":
            a = te.action.action
            ac = self._action_id(a.action_id)
            params = []
            for p in a.params:
                if p.param_id not in ac.by_id:
                    raise SchemaError(f"action {ac.info.short!r} has no parameter id {p.param_id}")
                params.append((ac.by_id[p.param_id], from_bytes(p.value)))
            params.sort(key=_first)
            action = Action(name=ac.info.short, params=tuple(params))
        meter = None
        if te.HasField("meter_config"):
            mc = te.meter_config
            meter = (mc.cir, mc.cburst, mc.pir, mc.pburst)
        return TableEntry(
            table=info.short,
            match=tuple(match),
            action=action,
            priority=te.priority,
            is_default=te.is_default_action,
            meter=meter,
        )

    def decode_encoded(self, enc: EncodedEntry) -> TableEntry:
        return self.decode(p4r.TableEntry.FromString(enc.entry_bytes()))


_FastEncoder: TypeAlias = Callable[[TableEntry], "EncodedEntry | None"]
_MAX_SHAPES = 8


def _compile_fast(tc: _TableCodec, ac: _ActionCodec, example: TableEntry) -> _FastEncoder:
    """Generate an encoder for entries shaped like ``example`` (a valid, non-default entry
    without a meter): the same match field names and value types in the same order and the
    same parameter names in the same order. It returns the same :class:`EncodedEntry` as
    :meth:`Encoder.encode_general`, or None for anything else (another shape, a value out of
    range, a don't-care ternary/LPM/range, priority out of range), which the general
    encoder then handles or rejects. Its source is kept as ``__source__``."""
    lines = ["def fast(e):"]
    add = lines.append
    ns: dict[str, Any] = {
        "S": _SMALL,
        "V": _varint,
        "EE": EncodedEntry,
        "NEW": tuple.__new__,  # EncodedEntry(...) without the NamedTuple's Python __new__
        "Exact": Exact,
        "Ternary": Ternary,
        "LPM": LPM,
        "Range": Range,
    }

    def const(name: str, value: object) -> str:
        ns[name] = value
        return name

    def to_b(var: str) -> str:
        return f"{var}.to_bytes(({var}.bit_length() + 7) >> 3 or 1, 'big')"

    add("    if e.is_default or e.meter is not None:")
    add("        return None")
    add("    p = e.priority")
    if tc.needs_priority:
        add(f"    if not 0 < p <= {_MAX_PRIORITY}:")
    else:
        add("    if p:")
    add("        return None")

    def unpack_pairs(source: str, count: int, first: str, second: str) -> None:
        """``source`` (a tuple of pairs) must have ``count`` items; name them first0, second0…"""
        add(f"    t = {source}")
        add(f"    if len(t) != {count}:")
        add("        return None")
        if count:
            pairs = ", ".join(f"({first}{i}, {second}{i})" for i in range(count))
            add(f"    {pairs}{',' if count == 1 else ''} = t")

    match = example.match
    k = len(match)
    unpack_pairs("e.match", k, "n", "v")
    if k:
        conds = []
        for i, (name, mv) in enumerate(match):
            conds.append(f"n{i} != {const(f'N{i}', name)}")
            conds.append(f"type(v{i}) is not {type(mv).__name__}")
        add(f"    if {' or '.join(conds)}:")
        add("        return None")

    # The key is one bytes %-format (a single allocation): the table id, one framed
    # FieldMatch per field in field-id order, the priority. %c takes a length (< 128: widths
    # are capped at 48 bytes), %b a value's bytes.
    def lit(data: bytes) -> bytes:
        return data.replace(b"%", b"%%")

    key_fmt = [lit(tc.head)]
    key_args: list[str] = []
    order = sorted(range(k), key=lambda i: tc.field(match[i][0]).id)
    for i in order:
        name, mv = match[i]
        f = tc.field(name)
        pre = lit(f.prefix)
        lp = len(f.prefix)
        fmax = f.max
        if isinstance(mv, Exact):
            tag = b"\x12" if f.kind == "exact" else b"\x3a"  # FieldMatch.exact / .optional
            add(f"    x = v{i}.value")
            add(f"    if not 0 <= x <= {fmax}:")
            add("        return None")
            add(f"    b{i} = {to_b('x')}")
            add(f"    ln{i} = len(b{i})")
            key_fmt.append(b"\x12%c" + pre + tag + b"%c\x0a%c%b")
            key_args += [f"ln{i} + {lp + 4}", f"ln{i} + 2", f"ln{i}", f"b{i}"]
        elif isinstance(mv, Ternary | Range):
            if isinstance(mv, Ternary):
                add(f"    x, y = v{i}.value, v{i}.mask")
                add(f"    if not (0 <= x <= {fmax} and 0 < y <= {fmax}):")
                add("        return None")
                add("    x &= y")
                tag = b"\x1a"  # FieldMatch.ternary
            else:
                add(f"    x, y = v{i}.low, v{i}.high")
                add(f"    if not 0 <= x <= y <= {fmax} or (x == 0 and y == {fmax}):")
                add("        return None")
                tag = b"\x32"  # FieldMatch.range
            add(f"    b{i} = {to_b('x')}")
            add(f"    c{i} = {to_b('y')}")
            add(f"    ln{i} = len(b{i}) + len(c{i}) + 4")
            key_fmt.append(b"\x12%c" + pre + tag + b"%c\x0a%c%b\x12%c%b")
            key_args += [
                f"ln{i} + {lp + 2}",
                f"ln{i}",
                f"len(b{i})",
                f"b{i}",
                f"len(c{i})",
                f"c{i}",
            ]
        else:
            assert isinstance(mv, LPM)
            width = f.info.bitwidth
            masks = const(f"M{i}", tuple(fmax ^ ((1 << (width - p)) - 1) for p in range(width + 1)))
            add(f"    x, q{i} = v{i}.value, v{i}.prefix_len")
            add(f"    if not (0 <= x <= {fmax} and 0 < q{i} <= {min(width, 0x7F)}):")
            add("        return None")
            add(f"    x &= {masks}[q{i}]")
            add(f"    b{i} = {to_b('x')}")
            add(f"    ln{i} = len(b{i})")
            key_fmt.append(b"\x12%c" + pre + b"\x22%c\x0a%c%b\x10%c")
            key_args += [f"ln{i} + {lp + 6}", f"ln{i} + 4", f"ln{i}", f"b{i}", f"q{i}"]
    if tc.needs_priority:
        key_fmt.append(b"\x20%b")
        key_args.append("S[p] if p < 128 else V(p)")
    fmt = const("KEY", b"".join(key_fmt))
    add(f"    key = {fmt} % ({', '.join(key_args)},)" if key_args else f"    key = {fmt}")
    # The action: TableAction.action framing one Action, parameters in parameter-id order.
    params = example.action.params
    j = len(params)
    unpack_pairs("e.action.params", j, "a", "w")
    if j:
        add(
            "    if "
            + " or ".join(f"a{i} != {const(f'A{i}', n)}" for i, (n, _) in enumerate(params))
            + ":"
        )
        add("        return None")
    porder = sorted(range(j), key=lambda i: ac.by_name[params[i][0]].bit)
    act_fmt = [b"\x0a%b" + lit(ac.head)]
    act_args = ["S[n] if n < 128 else V(n)"]
    fixed = len(ac.head)
    for i in porder:
        prm = ac.by_name[params[i][0]]
        add(f"    if not 0 <= w{i} <= {prm.max}:")
        add("        return None")
        add(f"    p{i} = {to_b(f'w{i}')}")
        act_fmt.append(b"\x22%c" + lit(prm.prefix) + b"\x1a%c%b")
        act_args += [f"len(p{i}) + {prm.plen}", f"len(p{i})", f"p{i}"]
        fixed += prm.plen + 2
    add("    n = " + " + ".join([str(fixed), *(f"len(p{i})" for i in porder)]))
    act = const("ACTION", b"".join(act_fmt))
    add(f"    return NEW(EE, ({tc.info.id}, key, {act} % ({', '.join(act_args)},), b''))")
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<wphw fast encoder {tc.info.short}/{ac.info.short}>", "exec"), ns)
    fast: Any = ns["fast"]
    fast.__source__ = source
    return fast  # type: ignore[no-any-return]


def _meter_bytes(table: str, meter: tuple[int, int, int, int]) -> bytes:
    out = []
    for tag, name, v in zip(
        b"\x08\x10\x18\x20", ("cir", "cburst", "pir", "pburst"), meter, strict=True
    ):
        if not 0 <= v < 1 << 63:
            raise SchemaError(f"table {table!r}: meter {name} {v} outside 0..2**63-1")
        if v:
            out.append(bytes([tag]) + _varint(v))
    return b"".join(out)


def _frame(payload: bytes) -> bytes:
    n = len(payload)
    return (_SMALL[n] if n < 0x80 else _varint(n)) + payload


def _first(item: tuple[str, Any]) -> str:
    return item[0]


def _param_id(p: Any) -> int:
    return int(p.param_id)


def describe(entry: TableEntry) -> str:
    """A one-line, human-readable rendering of an entry by short names."""
    parts = []
    for name, mv in entry.match:
        match mv:
            case Exact(value=v):
                parts.append(f"{name}={v}")
            case Ternary(value=v, mask=m):
                parts.append(f"{name}={v:#x}&&&{m:#x}")
            case LPM(value=v, prefix_len=p):
                parts.append(f"{name}={v:#x}/{p}")
            case Range(low=lo, high=hi):
                parts.append(f"{name}={lo}..{hi}")
    key = "default" if entry.is_default else " ".join(parts) or "*"
    if entry.priority:
        key += f" prio={entry.priority}"
    params = ", ".join(f"{k}={v}" for k, v in entry.action.params)
    return f"{entry.table}[{key}] -> {entry.action.name}({params})"
