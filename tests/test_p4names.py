"""wphw.p4names against the committed P4Info of every architecture (issue 13): each table has
exactly the match fields listed, offers every action listed, each action has exactly the
parameters listed, each direct extern belongs to its table. A renamed or reshaped table in
p4/ fails here before any switch sees an entry."""

from __future__ import annotations

from pathlib import Path

import pytest

import wphw.p4names as P4
from wphw.p4rt.schema import Schema
from wphw.resources import P4_BUILD

P4INFOS = sorted(
    p
    for p in (P4_BUILD / "wphw.p4info.txtpb", P4_BUILD / "tna" / "wphw.p4info.txtpb")
    if p.exists()
)


@pytest.fixture(params=P4INFOS, ids=[p.parent.name for p in P4INFOS])
def schema(request: pytest.FixtureRequest) -> Schema:
    path: Path = request.param
    return Schema.load(path)


def test_the_v1model_p4info_is_checked() -> None:
    assert P4_BUILD / "wphw.p4info.txtpb" in P4INFOS


def test_tables_and_their_match_fields(schema: Schema) -> None:
    for table, keys in P4.TABLE_KEYS.items():
        info = schema.table(table)
        assert tuple(f.name for f in info.match_fields) == keys, table


def test_tables_offer_the_actions_wphw_writes(schema: Schema) -> None:
    for table, actions in P4.TABLE_ACTIONS.items():
        offered = {schema.action_by_id(i).short for i in schema.table(table).action_ids}
        assert actions <= offered, (table, sorted(actions - offered))


def test_actions_and_their_parameters(schema: Schema) -> None:
    for action, params in P4.ACTION_PARAMS.items():
        assert tuple(p.name for p in schema.action(action).params) == params, action


def test_direct_externs_belong_to_their_tables(schema: Schema) -> None:
    for name, table in P4.DIRECT_EXTERNS.items():
        info = schema.table(table)
        if name.endswith("_meter"):
            assert info.direct_meter_id is not None, name
        else:
            assert schema.direct_counter(name).table_id == info.id, name


def test_every_constant_is_used_in_a_table_or_action_map() -> None:
    """No stray constant: each name in the module appears in the maps the tests check."""
    listed = set(P4.TABLE_KEYS) | set(P4.DIRECT_EXTERNS) | set(P4.CONST_TABLES)
    listed |= {k for keys in P4.TABLE_KEYS.values() for k in keys}
    listed |= set(P4.ACTION_PARAMS)
    constants = {v for k, v in vars(P4).items() if k.isupper() and isinstance(v, str)}
    assert constants <= listed, sorted(constants - listed)
