"""wphw.p4rt against a real simple_switch_grpc (BMv2) with the compiled wphw program.

Needs simple_switch_grpc (WPHW_BMV2, PATH, or /opt/p4/env.sh) and p4/build/wphw.json +
wphw.p4info.txtpb; skips with the reason otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from p4rt_common import (
    BMV2_HELP,
    EXAMPLES,
    REAL_BMV2_JSON,
    REAL_P4INFO,
    ROOT,
    Bmv2,
    FakePlan,
    Sw,
    bmv2_env,
)

import wphw
from wphw.entries import Action, Exact, TableEntry
from wphw.p4rt import Encoder, Fabric, P4RuntimeWriteError, Pipeline, Schema

pytestmark = pytest.mark.bmv2

_FOUND = bmv2_env()
if _FOUND is None:
    pytest.skip(BMV2_HELP, allow_module_level=True)
if not (REAL_P4INFO.exists() and REAL_BMV2_JSON.exists()):
    pytest.skip(
        "p4/build/wphw.json and wphw.p4info.txtpb are missing: compile p4/v1model/wphw.p4"
        " with p4c (see docs/p4.md)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def switch() -> Iterator[Bmv2]:
    assert _FOUND is not None
    sw = Bmv2(*_FOUND)
    try:
        yield sw
    finally:
        sw.stop()


@pytest.fixture
def fabric(switch: Bmv2) -> Iterator[Fabric]:
    pipeline = Pipeline.load(REAL_P4INFO, REAL_BMV2_JSON)
    with Fabric([Sw("s1", switch.address, switch.device_id)], pipeline=pipeline) as f:
        f.apply(FakePlan({"s1": []}))  # start from empty tables
        yield f


def example_plan(name: str, policy_edit: Any = None) -> Any:
    d = ROOT / "examples" / name
    topo = wphw.load_topology(d / "topology.yaml")
    if policy_edit is None:
        policy = wphw.load_policy(d / "policy.yaml")
    else:
        import yaml

        raw = yaml.safe_load((d / "policy.yaml").read_text())
        policy_edit(raw)
        policy = wphw.policy_from_dict(raw)
    return wphw.compile(policy, topo)


def busiest(plan: Any) -> list[TableEntry]:
    return list(max(plan.entries.values(), key=len))


def state(f: Fabric) -> set[TableEntry]:
    return set(f.read("s1"))


@pytest.mark.parametrize("example", EXAMPLES)
def test_apply_readback_noop(fabric: Fabric, example: str) -> None:
    entries = busiest(example_plan(example))
    enc = Encoder(Schema.load(REAL_P4INFO))
    r = fabric.apply(FakePlan({"s1": entries}))
    assert r.written == len(set(entries))
    got = {e for e in fabric.read("s1") if not e.is_default}
    assert got == {enc.canonical(e) for e in entries}
    again = fabric.apply(FakePlan({"s1": entries}))
    assert again.written == 0 and again.switches[0].write_rpcs == 0


def test_changed_policy_writes_only_the_difference(fabric: Fabric) -> None:
    before = example_plan("table1")
    fabric.apply(FakePlan({"s1": before.entries["s1"]}))

    def drop_proxy_rule(raw: dict[str, Any]) -> None:
        raw["subscribers"]["s1"] = [
            r for r in raw["subscribers"]["s1"] if r["name"] != "http-proxy"
        ]

    after = example_plan("table1", drop_proxy_rule)
    enc = Encoder(Schema.load(REAL_P4INFO))
    old = {enc.encode_entry(e) for e in before.entries["s1"]}
    new = {enc.encode_entry(e) for e in after.entries["s1"]}
    old_keys = {x.key: x for x in old}
    new_keys = {x.key: x for x in new}
    expected = (
        len(new_keys.keys() - old_keys.keys())
        + len(old_keys.keys() - new_keys.keys())
        + sum(
            1 for k in new_keys.keys() & old_keys.keys() if not new_keys[k].same_value(old_keys[k])
        )
    )
    assert expected > 0
    dry = fabric.apply(FakePlan({"s1": after.entries["s1"]}), dry_run=True)
    assert dry.written == expected
    r = fabric.apply(FakePlan({"s1": after.entries["s1"]}))
    assert r.written == expected
    assert {e for e in fabric.read("s1") if not e.is_default} == {
        enc.canonical(e) for e in after.entries["s1"]
    }


def test_rollback_after_injected_failure(fabric: Fabric) -> None:
    """Overflowing a table mid-apply leaves the switch exactly as before. (BMv2 answers a full
    table with UNKNOWN "Error when adding match entry to target", not RESOURCE_EXHAUSTED.)"""
    base = busiest(example_plan("table1"))
    fabric.apply(FakePlan({"s1": base}))
    before = state(fabric)
    schema = fabric.schema("s1")
    size = schema.table("wp_proxy_return").size or 1024
    overflow = [
        TableEntry.of(
            "wp_proxy_return",
            {"ingress_port": Exact(value=1 + i // 4000), "vlan_id": Exact(value=1 + i % 4000)},
            Action.of("proxy_restore", spi=100 + i, si=254),
        )
        for i in range(size + 1)
    ]
    changed = [e for e in base if e.table != "wp_classify"]  # removals in later phases too
    with pytest.raises(P4RuntimeWriteError) as info:
        fabric.apply(FakePlan({"s1": changed + overflow}))
    err = info.value
    assert err.rolled_back
    assert {f.code for f in err.failures} <= {"UNKNOWN", "RESOURCE_EXHAUSTED"}
    assert all(f.entry.table == "wp_proxy_return" for f in err.failures)
    assert state(fabric) == before


def test_dry_run_diff_and_stats_leave_a_foreign_program_alone(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12: `wphw apply --dry-run` against a switch running another program replaced it
    with wphw's pipeline and an empty ipv4_lpm. Dry run, diff and stats must leave the
    program and its route as they were."""
    from wphw.cli import main

    assert _FOUND is not None
    sw = Bmv2(*_FOUND)
    try:
        basic = Pipeline.load(
            ROOT / "p4/build/basic_forward.p4info.txtpb", ROOT / "p4/build/basic_forward.json"
        )
        route = TableEntry.of(
            "ipv4_lpm",
            {"ipv4_dst": wphw.entries.LPM(value=0x0A000001, prefix_len=32)},
            Action.of("ipv4_forward", dst_mac=0x080000000001, port=1),
        )
        with Fabric([Sw("s1", sw.address, sw.device_id)], pipeline=basic) as user:
            user.apply(FakePlan({"s1": [route]}))
            before = user.read("s1")
        assert len([e for e in before if not e.is_default]) == 1
        (tmp_path / "topology.yaml").write_text(
            f"switches:\n  s1: {{address: '{sw.address}', device_id: {sw.device_id}}}\n"
            "hosts:\n  h1: {ip: 10.0.0.1/24, mac: '08:00:00:00:00:01', switch: s1, port: 1}\n"
        )
        (tmp_path / "policy.yaml").write_text(
            "subscribers:\n  s1:\n    - {name: r, match: {proto: icmp}, actions: [drop]}\n"
        )
        conn = ["--p4info", str(REAL_P4INFO), "--bmv2-json", str(REAL_BMV2_JSON)]
        capsys.readouterr()
        assert main(["apply", str(tmp_path), "--dry-run", *conn]) == 0
        out = capsys.readouterr().out
        assert "runs another pipeline" in out and "dropping the 1 table entry it holds" in out
        assert main(["diff", str(tmp_path), *conn]) == 0
        assert "runs another pipeline" in capsys.readouterr().out
        with Fabric([Sw("s1", sw.address, sw.device_id)], pipeline=basic) as user:
            assert user.read("s1") == before  # the program and its route are untouched
        # apply (not dry) does replace it, as the dry run said
        assert main(["apply", str(tmp_path), *conn]) == 0
        with Fabric(
            [Sw("s1", sw.address, sw.device_id)],
            pipeline=Pipeline.load(REAL_P4INFO, REAL_BMV2_JSON),
        ) as f:
            assert any(e.table == "wp_classify" for e in f.read("s1"))
    finally:
        sw.stop()
