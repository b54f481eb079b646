"""The generated per-shape encoders (encode._compile_fast) against the general encoder.

A synthetic P4Info covers every match kind (exact, ternary, a 128-bit IPv6 LPM, range,
optional), parameters whose name order differs from their id order and wide values. For random
entries of random shapes, with values in and out of range, ``Encoder.encode_entry`` (which
learns shapes and takes the generated path) must give exactly what ``encode_general`` gives,
or raise the same SchemaError.
"""

from __future__ import annotations

from typing import Any

import pytest
from finsy.proto import p4i
from google.protobuf import text_format
from hypothesis import given, settings
from hypothesis import strategies as st

from wphw.entries import LPM, Action, Exact, MatchValue, Range, TableEntry, Ternary
from wphw.errors import SchemaError
from wphw.p4rt.encode import Encoder
from wphw.p4rt.schema import Schema

P4INFO = """
tables {
  preamble { id: 100 name: "Ingress.acl" alias: "acl" }
  match_fields { id: 1 name: "port" bitwidth: 9 match_type: EXACT }
  match_fields { id: 2 name: "src" bitwidth: 32 match_type: TERNARY }
  match_fields { id: 3 name: "dst6" bitwidth: 128 match_type: LPM }
  match_fields { id: 4 name: "l4" bitwidth: 16 match_type: RANGE }
  match_fields { id: 5 name: "proto" bitwidth: 8 match_type: OPTIONAL }
  action_refs { id: 200 }
  action_refs { id: 201 }
  size: 1024
}
tables {
  preamble { id: 101 name: "Ingress.route6" alias: "route6" }
  match_fields { id: 7 name: "dst6" bitwidth: 128 match_type: LPM }
  match_fields { id: 3 name: "vrf" bitwidth: 12 match_type: EXACT }
  action_refs { id: 200 }
  size: 1024
}
actions {
  preamble { id: 200 name: "Ingress.set" alias: "set" }
  params { id: 2 name: "a_mac" bitwidth: 48 }
  params { id: 1 name: "z_port" bitwidth: 9 }
  params { id: 3 name: "m_wide" bitwidth: 384 }
}
actions {
  preamble { id: 201 name: "Ingress.deny" alias: "deny" }
}
"""

WIDTH = {"port": 9, "src": 32, "dst6": 128, "l4": 16, "proto": 8, "vrf": 12}
PARAM_WIDTH = {"a_mac": 48, "z_port": 9, "m_wide": 384}


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema(text_format.Parse(P4INFO, p4i.P4Info()))


def _value(draw: Any, width: int) -> int:
    # Mostly in range, sometimes at the edges or just outside.
    return int(
        draw(
            st.one_of(
                st.integers(0, (1 << width) - 1),
                st.sampled_from([0, 1, (1 << width) - 1, 1 << width, -1]),
            )
        )
    )


@st.composite
def shapes(draw: Any) -> tuple[str, list[str], str, list[str]]:
    """A table, match field names in some order, an action and its parameter names."""
    table = draw(st.sampled_from(["acl", "route6", "Ingress.acl"]))
    fields = ["port", "src", "dst6", "l4", "proto"] if "acl" in table else ["dst6", "vrf"]
    chosen = draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
    if draw(st.booleans()):
        chosen.sort()
    action = draw(st.sampled_from(["set", "deny"])) if "acl" in table else "set"
    names: list[str] = []
    if action == "set":
        names = list(draw(st.permutations(sorted(PARAM_WIDTH))))
        if draw(st.integers(0, 9)) == 0:
            names = names[1:]  # a missing parameter
    return table, chosen, action, names


@st.composite
def entries(draw: Any, shape: tuple[str, list[str], str, list[str]]) -> TableEntry:
    """An entry of ``shape`` with random values: mostly valid, sometimes not."""
    table, chosen, action, names = shape
    match: list[tuple[str, MatchValue]] = []
    for name in chosen:
        w = WIDTH[name]
        mv: MatchValue
        if name in ("port", "proto", "vrf"):
            mv = Exact(value=_value(draw, w))
        elif name == "src":
            mv = Ternary(value=_value(draw, w), mask=_value(draw, w))
        elif name == "dst6":
            mv = LPM(value=_value(draw, w), prefix_len=draw(st.integers(-1, w + 1)))
        else:
            lo, hi = _value(draw, w), _value(draw, w)
            if draw(st.integers(0, 3)):
                lo, hi = min(lo, hi), max(lo, hi)
            mv = Range(low=lo, high=hi)
        match.append((name, mv))
    params = [(n, _value(draw, PARAM_WIDTH[n])) for n in names]
    priority = draw(st.sampled_from([0, 1, 7, (1 << 31) - 1, 1 << 31, 200]))
    return TableEntry(
        table=table,
        match=tuple(match),
        action=Action(name=action, params=tuple(params)),
        priority=priority,
    )


@st.composite
def batches(draw: Any) -> list[TableEntry]:
    """Up to 60 entries of one to three shapes, so shapes repeat with other values."""
    shape_list = draw(st.lists(shapes(), min_size=1, max_size=3))
    return [
        draw(entries(draw(st.sampled_from(shape_list)))) for _ in range(draw(st.integers(1, 60)))
    ]


def _outcome(encode: Any, e: TableEntry) -> object:
    try:
        return encode(e)
    except SchemaError as exc:
        return ("error", str(exc))


@settings(max_examples=200, deadline=None)
@given(batch=batches())
def test_fast_path_equals_general(schema: Schema, batch: list[TableEntry]) -> None:
    learning = Encoder(schema)
    general = Encoder(schema)
    # Twice: the first pass learns the shapes, the second takes the generated encoders.
    for e in batch + batch:
        assert _outcome(learning.encode_entry, e) == _outcome(general.encode_general, e), e


def test_fast_path_is_taken_and_matches(schema: Schema, monkeypatch: pytest.MonkeyPatch) -> None:
    enc = Encoder(schema)
    ref = Encoder(schema)

    def entry(i: int) -> TableEntry:
        return TableEntry.of(
            "acl",
            {
                "port": Exact(value=i % 512),
                "src": Ternary(value=i, mask=0xFFFFFF00),
                "dst6": LPM(value=i << 64, prefix_len=64 + i % 64),
                "l4": Range(low=i % 1000, high=1000 + i),
                "proto": Exact(value=6),
            },
            Action.of("set", a_mac=i, z_port=i % 512, m_wide=(1 << 383) | i),
            priority=1 + i,
        )

    enc.encode_entry(entry(0))  # learns the shape
    calls = 0
    orig = Encoder.encode_general

    def counting(self: Encoder, e: TableEntry) -> Any:
        nonlocal calls
        calls += 1
        return orig(self, e)

    monkeypatch.setattr(Encoder, "encode_general", counting)
    for i in range(1, 300):
        assert enc.encode_entry(entry(i)) == orig(ref, entry(i))
    assert calls == 0, "same-shape entries should not reach the general encoder"
    # A don't-care value falls through to the general encoder, which omits the field.
    wild = TableEntry.of(
        "acl",
        {
            "port": Exact(value=1),
            "src": Ternary(value=5, mask=0),
            "dst6": LPM(value=0, prefix_len=0),
            "l4": Range(low=0, high=0xFFFF),
            "proto": Exact(value=6),
        },
        Action.of("deny"),
        priority=3,
    )
    assert enc.encode_entry(wild) == orig(ref, wild)
    assert calls == 1


def test_ipv6_full_prefix_encodes(schema: Schema) -> None:
    """A /128 prefix length takes two varint bytes (it once indexed past a 128-entry table)."""
    enc = Encoder(schema)
    e = TableEntry.of(
        "route6",
        {"dst6": LPM(value=(1 << 128) - 1, prefix_len=128), "vrf": Exact(value=1)},
        Action.of("set", a_mac=1, z_port=2, m_wide=3),
    )
    for _ in range(2):
        te = enc.encode(e)
        assert te.match[0].lpm.prefix_len == 128 if te.match[0].field_id == 7 else True
        assert enc.decode(te) == enc.canonical(e)
    lpm = next(m for m in enc.encode(e).match if m.HasField("lpm"))
    assert lpm.lpm.prefix_len == 128 and lpm.lpm.value == b"\xff" * 16
