"""Every entry of every example plan resolves against the compiled P4 program (P4Info).

The translation emits short names (docs/dataplane.md); the P4 program must have exactly those
tables, actions, match fields (with the right match kinds) and parameters (with room for the
values). Encoding through the installer's encoder checks all of it, as a real install would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import wphw
from wphw.p4rt.encode import Encoder
from wphw.p4rt.schema import Schema

REPO = Path(__file__).resolve().parent.parent
P4INFO = REPO / "p4" / "build" / "wphw.p4info.txtpb"
TNA_P4INFO = REPO / "p4" / "build" / "tna" / "wphw.p4info.txtpb"


@pytest.mark.parametrize("p4info", [P4INFO, TNA_P4INFO], ids=["v1model", "tna"])
def test_every_example_entry_encodes_against_the_compiled_p4info(
    example: tuple[str, wphw.Topology, wphw.Policy], p4info: Path
) -> None:
    if not p4info.exists():
        pytest.skip(f"{p4info} not built yet (make -C p4 / make -C p4 tna)")
    _, topo, policy = example
    encoder = Encoder(Schema.load(p4info))
    plan = wphw.compile(policy, topo)
    tables = set()
    for entries in plan.entries.values():
        for entry in entries:
            encoder.encode_entry(entry)  # raises SchemaError naming the table/field/action
            tables.add(entry.table)
    assert "wp_classify" in tables and "ipv4_lpm" in tables
