"""The hand-written wire encoder (wphw/p4rt/encode.py) against upb protobuf (issue 13).

For every entry of every example plan and of tests/data/zoo — every table, action and match
kind the program has, with meters and default entries where plans make them — an independent
builder makes the ``p4.v1.TableEntry`` with protobuf's own classes (upb) from the P4Info, and
upb must parse our bytes to exactly that message (and re-serialize it to the same bytes as the
reference). Checked against each committed P4Info (v1model, and TNA when present).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from finsy.proto import p4r
from google.protobuf.internal import api_implementation

import wphw
from wphw.entries import LPM, Exact, Range, TableEntry, Ternary
from wphw.model_args import load_example
from wphw.p4rt.encode import Encoder
from wphw.p4rt.schema import Schema
from wphw.resources import EXAMPLES, P4_BUILD

ZOO = Path(__file__).parent / "data" / "zoo"
P4INFOS = [
    p
    for p in (P4_BUILD / "wphw.p4info.txtpb", P4_BUILD / "tna" / "wphw.p4info.txtpb")
    if p.exists()
]


def _bytes(value: int, width: int) -> bytes:
    n = max(1, (value.bit_length() + 7) // 8)
    assert value < 1 << width
    return value.to_bytes(n, "big")


def upb_entry(schema: Schema, e: TableEntry) -> p4r.TableEntry:
    """What P4Runtime 1.3 §8.3 says the entry is, built with protobuf's classes."""
    t = schema.table(e.table)
    msg = p4r.TableEntry(table_id=t.id, priority=e.priority)
    if e.is_default:
        msg.is_default_action = True
    fields = {t.field(name).id: (t.field(name), v) for name, v in e.match}
    for fid in sorted(fields):
        f, v = fields[fid]
        w = f.bitwidth
        if isinstance(v, Exact):
            msg.match.add(field_id=fid, exact=p4r.FieldMatch.Exact(value=_bytes(v.value, w)))
        elif isinstance(v, Ternary):
            if v.mask == 0:
                continue  # don't care: omitted
            msg.match.add(
                field_id=fid,
                ternary=p4r.FieldMatch.Ternary(
                    value=_bytes(v.value & v.mask, w), mask=_bytes(v.mask, w)
                ),
            )
        elif isinstance(v, LPM):
            if v.prefix_len == 0:
                continue
            masked = v.value & (((1 << v.prefix_len) - 1) << (w - v.prefix_len))
            msg.match.add(
                field_id=fid,
                lpm=p4r.FieldMatch.LPM(value=_bytes(masked, w), prefix_len=v.prefix_len),
            )
        elif isinstance(v, Range):
            if (v.low, v.high) == (0, (1 << w) - 1):
                continue
            msg.match.add(
                field_id=fid,
                range=p4r.FieldMatch.Range(low=_bytes(v.low, w), high=_bytes(v.high, w)),
            )
        else:  # pragma: no cover
            raise AssertionError(v)
    a = schema.action(e.action.name)
    msg.action.action.action_id = a.id
    params = dict(e.action.params)
    for p in sorted(a.params, key=lambda p: p.id):
        msg.action.action.params.add(param_id=p.id, value=_bytes(params[p.name], p.bitwidth))
    if e.meter is not None:
        cir, cburst, pir, pburst = e.meter
        msg.meter_config.CopyFrom(p4r.MeterConfig(cir=cir, cburst=cburst, pir=pir, pburst=pburst))
    return msg


def plans() -> list[wphw.Plan]:
    out = []
    for d in sorted(p for p in EXAMPLES.iterdir() if (p / "policy.yaml").exists()):
        topo, policy = load_example(d).model
        out.append(wphw.compile(policy, topo))
    for d in sorted(p for p in ZOO.iterdir() if p.is_dir() and (p / "policy.yaml").exists()):
        topo, policy = load_example(d).model
        out.append(wphw.compile(policy, topo))
    out.append(in_switch_plan())
    return out


def in_switch_plan() -> wphw.Plan:
    """Every in-switch service (the examples have no ratelimit meter)."""
    from wphw.policy import policy_from_dict
    from wphw.topology import topology_from_dict

    topo = topology_from_dict(
        {
            "switches": {"s1": {}},
            "hosts": {
                "h1": {"ip": "10.0.1.1/24", "mac": "08:00:00:00:01:01", "switch": "s1", "port": 1},
                "h2": {"ip": "10.0.2.2/24", "mac": "08:00:00:00:02:02", "switch": "s1", "port": 2},
            },
            "waypoints": {
                "in": {
                    "switch": "s1",
                    "pes": [
                        {
                            "name": "sw",
                            "services": ["fw", "nat", "count", "ratelimit"],
                            "kind": "in-switch",
                        }
                    ],
                }
            },
        }
    )
    policy = policy_from_dict(
        {
            "services": {
                "fw": {"params": {"rules": [{"proto": "tcp", "dst_port": 23, "action": "deny"}]}},
                "nat": {"params": {"mappings": [{"inside": "10.0.1.1", "outside": "192.0.2.1"}]}},
                "ratelimit": {"params": {"rate_bytes_per_s": 1000000, "burst_bytes": 3000}},
            },
            "subscribers": {
                "s1": [
                    {
                        "name": "r",
                        "match": {"dst": "10.0.2.0/24"},
                        "actions": ["fw", "nat", "count", "ratelimit", "route"],
                    }
                ]
            },
        }
    )
    return wphw.compile(policy, topo)


def test_protobuf_is_upb() -> None:
    assert api_implementation.Type() == "upb"


@pytest.mark.parametrize("p4info", P4INFOS, ids=[p.parent.name for p in P4INFOS])
def test_every_plan_entry_encodes_as_upb_serializes_it(p4info: Path) -> None:
    schema = Schema.load(p4info)
    enc = Encoder(schema)
    seen_tables: set[str] = set()
    seen_kinds: set[str] = set()
    n = 0
    for plan in plans():
        for entries in plan.entries.values():
            for e in entries:
                ours = enc.encode_entry(e).entry_bytes()
                ref = upb_entry(schema, e)
                # upb parses our bytes to exactly the message built from the P4Info. (Not the
                # same bytes: we put priority before the action, upb in field-number order;
                # protobuf parsers accept fields in any order, and our keys stay canonical.)
                parsed = p4r.TableEntry.FromString(ours)
                assert parsed == ref, e
                assert parsed.SerializeToString(deterministic=True) == ref.SerializeToString(
                    deterministic=True
                )
                seen_tables.add(e.table)
                seen_kinds.update(type(v).__name__ for _, v in e.match)
                seen_kinds.update(["meter"] if e.meter else [])
                n += 1
    assert n > 300
    owned = {t.short for t in schema.tables if not t.is_const}  # TNA's wp_lb: never written
    assert seen_tables == owned, sorted(owned - seen_tables)
    assert {"Exact", "Ternary", "LPM", "Range", "meter"} <= seen_kinds
