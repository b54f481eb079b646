"""The running controller (wphw/controller/service.py, api.py) against the P4Runtime TEST
DOUBLE over real gRPC, through real HTTP (http.client) and a real SQLite file: rule changes
installed make-before-break and verified first; refused changes write nothing; tokens and
tenants; resume after a restart writes nothing; reconcile of a restarted switch and of an entry
someone else removed; PE health with misses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from controller_harness import (
    ACME,
    ADMIN,
    BETA,
    POLICY,
    VIEWER,
    WEB,
    expected,
    installed,
    running_controller,
)
from p4rt_testserver import P4RuntimeTestServer

import wphw
from wphw.controller.store import SCHEMA_VERSION


def test_add_change_remove_rule_installs_exactly_the_plan(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    with running_controller(servers, tmp_path / "c.db") as rc:
        assert rc.matches_plan()
        v0 = rc.service.version
        before = rc.snapshot()
        logs = [len(srv.write_log) for srv in servers]
        status, out = rc.request("POST", "/api/v1/rules", WEB)
        assert status == 201, out
        assert out["rule"]["name"] == "web-ids" and out["policy_version"] == v0 + 1
        assert out["change"]["incremental"] and out["change"]["written"] > 0
        assert rc.matches_plan()
        plan = rc.service.ctl.plan
        assert plan is not None and "web-ids" in {b.rule for b in plan.bindings}
        # only the difference was written: the switches logged exactly the updates the
        # controller reports, no more than the entries that differ
        logged = sum(
            len(u) for srv, n in zip(servers, logs, strict=True) for _, u in srv.write_log[n:]
        )
        differ = len(before[0] ^ installed(servers[0])) + len(before[1] ^ installed(servers[1]))
        assert logged == out["change"]["written"] and 0 < logged <= differ

        status, out = rc.request("GET", "/api/v1/rules/web-ids")
        assert status == 200 and out["match"]["dst_port"] == 443

        status, out = rc.request(
            "PUT", "/api/v1/rules/web-ids", {**WEB, "actions": ["drop"], "name": "web-ids"}
        )
        assert status == 200, out
        plan = rc.service.ctl.plan
        assert plan is not None
        assert {b.rule: b for b in plan.bindings}["web-ids"].action == "drop"
        assert rc.matches_plan()

        status, out = rc.request("DELETE", "/api/v1/rules/web-ids")
        assert status == 200, out
        assert "web-ids" not in {b.rule for b in rc.service.ctl.plan.bindings}
        assert rc.matches_plan()
        status, _ = rc.request("GET", "/api/v1/rules/web-ids")
        assert status == 404

        kinds = [(e["kind"], e["result"]) for e in rc.request("GET", "/api/v1/events")[1]]
        assert kinds == [
            ("start", "ok"),
            ("rule-add", "ok"),
            ("rule-change", "ok"),
            ("rule-remove", "ok"),
        ]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({**WEB, "actions": ["nosuch"]}, 422, "PolicyError"),
        ({**WEB, "subscriber": "s9"}, 422, "PolicyError"),
        ({**WEB, "name": "ids-nat"}, 422, "PolicyError"),  # the name exists
        ({**WEB, "match": {"src": "192.168.0.0/33"}}, 422, "PolicyError"),
        ({**WEB, "match": {"dst_port": 70000}}, 422, "PolicyError"),
        ({**WEB, "colour": "red"}, 422, "PolicyError"),
        ({k: v for k, v in WEB.items() if k != "actions"}, 422, "PolicyError"),
        ({**WEB, "name": "../etc"}, 422, "PolicyError"),
        ([1, 2], 422, "PolicyError"),
    ],
)
def test_a_refused_rule_writes_nothing(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer],
    tmp_path: Path,
    body: Any,
    status: int,
    error: str,
) -> None:
    with running_controller(servers, tmp_path / "c.db") as rc:
        before, version = rc.snapshot(), rc.service.version
        got, out = rc.request("POST", "/api/v1/rules", body)
        assert (got, out["error"]) == (status, error), out
        assert rc.snapshot() == before  # same entries, not one more Write RPC
        assert rc.service.version == version
        assert (
            rc.request("GET", "/api/v1/policy")[1]["subscribers"] == rc.service.raw["subscribers"]
        )
        last = rc.request("GET", "/api/v1/events")[1][-1]
        assert last["kind"] == "rule-add" and last["result"] == "refused"
        assert error in last["error"]


def test_malformed_requests_are_400(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    with running_controller(servers, tmp_path / "c.db") as rc:
        before = rc.snapshot()
        assert rc.request("POST", "/api/v1/rules", raw=b"{not json")[0] == 400
        assert rc.request("POST", "/api/v1/rules", raw=b"")[0] == 400
        assert rc.request("GET", "/api/v1/events?limit=x")[0] == 400
        assert rc.request("GET", "/api/v1/events?bogus=1")[0] == 400
        assert rc.request("GET", "/api/v1/nowhere")[0] == 404
        assert rc.request("PATCH", "/api/v1/rules")[0] == 405
        assert rc.snapshot() == before


def test_a_plan_failing_verification_is_refused_and_not_written(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    import wphw.controller as controller_module

    real = controller_module.compile
    real_update = controller_module.IncrementalCompiler.update

    def breaking(plan: wphw.Plan) -> wphw.Plan:
        entries = dict(plan.entries)
        entries["s2"] = tuple(e for e in entries["s2"] if e.table != "wp_sff")
        return dataclasses.replace(plan, entries=entries)

    def broken(*args: Any, **kwargs: Any) -> wphw.Plan:
        return breaking(real(*args, **kwargs))

    def broken_update(self: Any, *args: Any, **kwargs: Any) -> Any:  # the incremental path
        u = real_update(self, *args, **kwargs)
        return u._replace(plan=breaking(u.plan), changed=u.changed | {"s2"})

    with running_controller(servers, tmp_path / "c.db") as rc:
        before = rc.snapshot()
        monkeypatch.setattr(controller_module, "compile", broken)
        monkeypatch.setattr(controller_module.IncrementalCompiler, "update", broken_update)
        status, out = rc.request("POST", "/api/v1/rules", WEB)
        assert status == 422 and out["error"] == "VerificationError", out
        assert rc.snapshot() == before
        assert "web-ids" not in {r["name"] for r in rc.request("GET", "/api/v1/rules")[1]}


def test_tokens_and_read_only(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    with running_controller(servers, tmp_path / "c.db") as rc:
        before = rc.snapshot()
        assert rc.request("GET", "/api/v1/status", token=None)[0] == 401
        assert rc.request("GET", "/api/v1/status", token="wrong-token-0123456789")[0] == 401
        assert rc.request("GET", "/api/v1/status", token=VIEWER)[0] == 200
        status, out = rc.request("POST", "/api/v1/rules", WEB, token=VIEWER)
        assert (status, out["error"]) == (403, "AccessError")
        assert rc.request("DELETE", "/api/v1/rules/ids-nat", token=VIEWER)[0] == 403
        assert rc.snapshot() == before


def test_without_a_token_file_the_api_is_read_only(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    with running_controller(servers, tmp_path / "c.db", tokens=False) as rc:
        assert rc.request("GET", "/api/v1/rules", token=None)[0] == 200
        assert rc.request("POST", "/api/v1/rules", WEB, token=None)[0] == 403


def test_tenants_see_and_change_only_their_switches(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    with running_controller(servers, tmp_path / "c.db") as rc:
        beta_rule = {
            "name": "beta-ids",
            "subscriber": "s2",
            "priority": 10,
            "match": {"src": "198.51.100.0/24", "proto": "tcp"},
            "actions": ["ids", "route"],
        }
        status, out = rc.request("POST", "/api/v1/rules", beta_rule, token=BETA)
        assert status == 201, out
        before = rc.snapshot()
        # acme (s1) cannot add on s2, change or remove beta's rule, or even see it
        assert rc.request("POST", "/api/v1/rules", {**beta_rule, "name": "x"}, token=ACME)[0] == 403
        assert rc.request("DELETE", "/api/v1/rules/beta-ids", token=ACME)[0] == 404
        assert rc.request("PUT", "/api/v1/rules/beta-ids", beta_rule, token=ACME)[0] == 404
        assert rc.request("GET", "/api/v1/rules/beta-ids", token=ACME)[0] == 404
        # nor move its own rule onto s2
        moved = {**{k: v for k, v in WEB.items() if k != "name"}, "subscriber": "s2"}
        assert rc.request("PUT", "/api/v1/rules/ids-nat", moved, token=ACME)[0] == 403
        assert rc.snapshot() == before
        acme_rules = {r["name"] for r in rc.request("GET", "/api/v1/rules", token=ACME)[1]}
        beta_rules = {r["name"] for r in rc.request("GET", "/api/v1/rules", token=BETA)[1]}
        assert acme_rules == {"ids-nat", "http-proxy", "udp-drop", "port0-fwd"}
        assert beta_rules == {"beta-ids"}
        assert set(rc.request("GET", "/api/v1/policy", token=ACME)[1]["subscribers"]) == {"s1"}
        assert rc.request("GET", "/api/v1/plan", token=ACME)[0] == 403
        # paths and counters: each tenant its own
        plan = rc.service.ctl.plan
        assert plan is not None
        beta_spis = {p["spi"] for p in rc.request("GET", "/api/v1/paths", token=BETA)[1]}
        acme_spis = {p["spi"] for p in rc.request("GET", "/api/v1/paths", token=ACME)[1]}
        assert beta_spis and acme_spis and not beta_spis & acme_spis
        assert beta_spis | acme_spis == plan.spis()
        for te in servers[1].entries():
            servers[1].set_counter(te, 7, 700)
        for te in servers[0].entries():
            servers[0].set_counter(te, 3, 300)
        acme_c = rc.request("GET", "/api/v1/counters", token=ACME)[1]
        beta_c = rc.request("GET", "/api/v1/counters", token=BETA)[1]
        assert {r["switch"] for r in acme_c["rules"]} == {"s1"}
        assert {r["switch"] for r in beta_c["rules"]} == {"s2"}
        assert {r["rule"] for r in beta_c["rules"]} == {"beta-ids"}
        assert {h["spi"] for h in acme_c["hops"]} <= acme_spis
        assert {h["spi"] for h in beta_c["hops"]} == beta_spis
        assert all(h["packets"] == 7 for h in beta_c["hops"] if h["switch"] == "s2")
        admin_c = rc.request("GET", "/api/v1/counters", token=ADMIN)[1]
        assert len(admin_c["hops"]) == len(acme_c["hops"]) + len(beta_c["hops"])
        # events: acme sees none of beta's
        acme_ev = rc.request("GET", "/api/v1/events", token=ACME)[1]
        assert all(e["actor"] != "beta" for e in acme_ev)
        assert any(e["actor"] == "beta" for e in rc.request("GET", "/api/v1/events", token=BETA)[1])
        # and /metrics: a tenant's scrape holds its own series only
        metrics = rc.request("GET", "/metrics", token=ACME)[1]
        assert "beta-ids" not in metrics
        assert 'wphw_rule_packets_total{switch="s2"' not in metrics
        hop_spis = {
            int(line.split('spi="')[1].split('"')[0])
            for line in metrics.splitlines()
            if line.startswith("wphw_hop_packets_total{")
        }
        assert hop_spis and hop_spis <= acme_spis


def test_restart_resumes_and_writes_nothing(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    with running_controller(servers, db) as rc:
        assert rc.request("POST", "/api/v1/rules", WEB)[0] == 201
        version = rc.service.version
        plan = rc.service.ctl.plan
    before = (servers[0].write_rpcs, servers[1].write_rpcs)
    # restarted with the original policy file: the database's desired state wins
    with running_controller(servers, db) as rc:
        assert rc.service.version == version
        assert rc.service.last_change is not None and rc.service.last_change.written == 0
        assert (servers[0].write_rpcs, servers[1].write_rpcs) == before
        assert rc.service.ctl.plan == dataclasses_replace_contexts(plan, rc.service.ctl.plan)
        assert "web-ids" in {r["name"] for r in rc.request("GET", "/api/v1/rules")[1]}
        events = rc.request("GET", "/api/v1/events")[1]
        assert events[-1]["kind"] == "start" and events[-1]["written"] == 0
        assert "resumed policy version" in events[-1]["reason"]
    # the database is WAL and holds its schema version (read with a plain sqlite3 connection)
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert (
            con.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
            == SCHEMA_VERSION
        )
        assert con.execute("SELECT COUNT(*) FROM policy_versions").fetchone()[0] == 2


def test_restart_with_a_plan_of_format_1_installs_the_plan_again(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database written before the per-pass SI (plan format 1): its plan means something
    else on today's pipeline, so the controller warns and applies the whole plan."""
    db = tmp_path / "c.db"
    with running_controller(servers, db) as rc:
        assert rc.request("POST", "/api/v1/rules", WEB)[0] == 201
        version = rc.service.version
    with sqlite3.connect(db) as con:
        con.execute("UPDATE installed SET plan = json_set(plan, '$.format', 1)")
    with caplog.at_level("WARNING"), running_controller(servers, db) as rc:
        assert rc.service.version == version
        assert rc.service.ctl.plan is not None
        assert json.loads(rc.service.ctl.plan.to_json())["format"] == 2
        assert "unsupported plan format 1" in caplog.text
        assert "installing the whole plan again" in caplog.text
        plan = rc.service.ctl.plan
        # the switches hold exactly the plan's entries
        for server, name in zip(servers, ("s1", "s2"), strict=True):
            assert len(server.entries()) == len(plan.entries_for(name)), name
    with sqlite3.connect(db) as con:  # the new plan replaced the old one in the database
        assert (
            con.execute("SELECT json_extract(plan, '$.format') FROM installed").fetchone()[0] == 2
        )


def dataclasses_replace_contexts(a: wphw.Plan | None, b: wphw.Plan | None) -> wphw.Plan | None:
    """``a`` with ``b``'s register writes: the stored plan has no secret values (FPGA keys are
    compiled again), everything else must be equal."""
    import dataclasses

    if a is None or b is None:
        return a
    return dataclasses.replace(a, register_writes=b.register_writes)


def test_reconcile_repairs_a_restarted_switch_and_foreign_changes(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    with running_controller(servers, tmp_path / "c.db") as rc:
        assert rc.service.reconcile() == 0  # in sync: nothing written
        servers[1].crash()  # loses its pipeline and every entry
        assert not installed(servers[1])
        repaired = rc.service.reconcile()
        assert repaired == len(expected(rc.service.ctl.plan, "s2"))
        assert rc.matches_plan()
        # someone else deletes one of our entries on s1
        key = next(iter(servers[0].state.entries))
        del servers[0].state.entries[key]
        assert rc.service.reconcile() == 1
        assert rc.matches_plan()
        status = rc.request("GET", "/api/v1/status")[1]
        assert status["reconcile_repairs"] == repaired + 1
        ev = [e for e in rc.request("GET", "/api/v1/events")[1] if e["kind"] == "reconcile"]
        assert [e["written"] for e in ev] == [repaired, 1] and ev[0]["switches"] == ["s2"]


def test_health_misses_failover_and_recovery(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    with running_controller(servers, tmp_path / "c.db", misses=2) as rc:
        first = rc.service.ctl.plan
        assert first is not None
        rc.down.add("wp_s2.sock")
        assert rc.service.poll_health() is None  # one miss: not yet
        change = rc.service.poll_health()
        assert change is not None and change.failed == frozenset({"ids1"})
        plan = rc.service.ctl.plan
        assert plan is not None
        assert {h.pe for p in plan.paths for h in p.hops if h.service == "ids"} == {"ids2"}
        assert rc.matches_plan()
        health = {h["pe"]: h for h in rc.request("GET", "/api/v1/health")[1]}
        assert not health["ids1"]["up"] and health["ids2"]["up"]
        assert rc.request("GET", "/api/v1/status")[1]["failed_pes"] == ["ids1"]
        rc.down.clear()
        change = rc.service.poll_health()  # one good answer brings it back
        assert change is not None and change.failed == frozenset()
        assert rc.matches_plan()
        kinds = [e["kind"] for e in rc.request("GET", "/api/v1/events")[1]]
        assert kinds == ["start", "health", "health"]


def test_a_pe_down_at_start_is_failed_at_once(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    with running_controller(servers, tmp_path / "c.db", down={"wp_legacy.sock"}) as rc:
        assert rc.service.ctl.failed == frozenset({"proxy1"})
        plan = rc.service.ctl.plan
        assert plan is not None
        assert {b.rule: b for b in plan.bindings}["http-proxy"].action == "drop"  # block


def test_metrics_parse_as_prometheus_text(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    parser = pytest.importorskip("prometheus_client.parser")
    with running_controller(servers, tmp_path / "c.db") as rc:
        for te in servers[0].entries():
            servers[0].set_counter(te, 5, 640)
        status, text = rc.request("GET", "/metrics")
        assert status == 200
        fams = {f.name: f for f in parser.text_string_to_metric_families(text)}
        rules = {s.labels["rule"]: s.value for s in fams["wphw_rule_packets"].samples}
        assert rules["ids-nat"] == 5 and rules["port0-fwd"] == 5
        up = {s.labels["pe"]: s.value for s in fams["wphw_pe_up"].samples}
        assert up == {"ids1": 1, "ids2": 1, "proxy1": 1, "nat1": 1}
        assert fams["wphw_applies"].samples[0].value == 1
        assert rc.request("GET", "/metrics", token=None)[0] == 401


def test_policy_from_the_api_survives_a_policy_file_change(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    """The database is the desired state; the policy file only seeds an empty database."""
    db = tmp_path / "c.db"
    with running_controller(servers, db) as rc:
        assert rc.request("DELETE", "/api/v1/rules/udp-drop")[0] == 200
    other = {**POLICY, "subscribers": {"s1": POLICY["subscribers"]["s1"][:1]}}
    with running_controller(servers, db, policy=other) as rc:
        names = {r["name"] for r in rc.request("GET", "/api/v1/rules")[1]}
        assert names == {"ids-nat", "http-proxy", "port0-fwd"}


def test_a_rule_change_reads_no_switch_and_writes_only_changed_ones(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    """The controller knows what it installed: a rule change is compiled incrementally and
    written as a delta to the switches it changed, with no Read RPC on any switch."""
    with running_controller(servers, tmp_path / "c.db") as rc:
        reads = [srv.read_rpcs for srv in servers]
        writes = [srv.write_rpcs for srv in servers]
        status, out = rc.request("POST", "/api/v1/rules", {**WEB, "actions": ["drop"]})
        assert status == 201, out
        c = out["change"]
        assert c["compiled_incrementally"] and c["delta_apply"], c
        assert [srv.read_rpcs for srv in servers] == reads  # nothing read
        assert servers[1].write_rpcs == writes[1]  # s2 did not change: not written
        assert servers[0].write_rpcs > writes[0]
        assert rc.matches_plan()
        # the stored state is the plan: a restarted controller finds it the same
        inst = rc.service.store.installed()
        assert inst is not None
        assert wphw.Plan.from_json(inst.plan_json) == rc.service.ctl.plan


def test_a_delta_the_switch_refuses_is_applied_with_reads(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    """Someone else deleted the entry a change modifies: the delta's MODIFY fails (NOT_FOUND),
    is rolled back, and the change is applied with reads (the difference written) instead."""
    with running_controller(servers, tmp_path / "c.db") as rc:
        status, out = rc.request("POST", "/api/v1/rules", WEB)
        assert status == 201 and out["change"]["delta_apply"], out
        ours = {k for k in servers[0].state.entries if k[2] == 50}  # web-ids' classifier
        assert len(ours) == 1
        del servers[0].state.entries[ours.pop()]
        reads = servers[0].read_rpcs
        status, out = rc.request("PUT", "/api/v1/rules/web-ids", {**WEB, "actions": ["drop"]})
        assert status == 200, out
        assert not out["change"]["delta_apply"] and servers[0].read_rpcs > reads
        assert rc.matches_plan()


def _event_row(db: Path, event_id: int) -> tuple[str | None, str | None]:
    con = sqlite3.connect(db)
    try:
        row = con.execute(
            "SELECT apply_mode, apply_note FROM events WHERE id = ?", (event_id,)
        ).fetchone()
    finally:
        con.close()
    return row[0], row[1]


def test_a_connection_lost_mid_delta_is_answered_as_read_back(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    """s1's connection drops on the delta's first Write (the device keeps its state): the
    fabric reconnects, reads s1 back and writes the rest. The change is installed, and the
    answer and the event row say it was read back, not written as a delta."""
    db = tmp_path / "c.db"
    with running_controller(servers, db) as rc:
        status, out = rc.request("POST", "/api/v1/rules", WEB)
        assert status == 201 and out["change"]["delta_apply"], out
        s1 = servers[0]
        s1.lose_state, s1.down_for = False, 0.0
        s1.crash_after_writes = s1.write_rpcs + 1
        reads = s1.read_rpcs
        status, out = rc.request("PUT", "/api/v1/rules/web-ids", {**WEB, "actions": ["drop"]})
        assert status == 200, out
        assert s1.read_rpcs > reads  # it was read back
        c = out["change"]
        assert c["compiled_incrementally"] and not c["delta_apply"], c
        assert "s1: reconnected mid-apply" in c["delta_fallback"], c
        assert rc.matches_plan()
        ev = rc.request("GET", "/api/v1/events")[1][-1]
        assert ev["kind"] == "rule-change" and ev["apply_mode"] == "read", ev
        assert _event_row(db, ev["id"]) == ("read", c["delta_fallback"])
        assert rc.request("GET", "/api/v1/status")[1]["last_change"]["delta_apply"] is False
        # and wphw ctl prints it (its text output of the same answers)
        from wphw.controller.cli import _text

        assert f"not written as a delta: {c['delta_fallback']}" in _text(
            "add", {"change": c, "policy_version": 0}
        )
        assert f"(read: {c['delta_fallback']})" in _text("events", [ev])
        # the next change is a delta again
        status, out = rc.request("DELETE", "/api/v1/rules/web-ids")
        assert status == 200 and out["change"]["delta_apply"], out
        assert out["change"]["delta_fallback"] == ""
        ev = rc.request("GET", "/api/v1/events")[1][-1]
        assert _event_row(db, ev["id"]) == ("delta", None)


def test_a_switch_restarted_mid_delta_is_answered_as_a_full_apply(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    """s1 restarts (no pipeline, no entries) on the delta's first Write and stays down until
    the controller gives up on the delta and reconnects every switch: the change is applied
    in full with reads (pipeline pushed, every entry written), and answered as such."""
    import logging

    db = tmp_path / "c.db"
    s1 = servers[0]

    class ComeBack(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "reconnecting to every switch and applying in full" in record.getMessage():
                s1.come_back()

    handler = ComeBack()
    log = logging.getLogger("wphw.controller")
    log.addHandler(handler)
    try:
        with running_controller(servers, db) as rc:
            status, out = rc.request("POST", "/api/v1/rules", WEB)
            assert status == 201 and out["change"]["delta_apply"], out
            s1.down_for = None
            s1.crash_after_writes = s1.write_rpcs + 1
            pushes = s1.set_pipeline_rpcs
            status, out = rc.request("PUT", "/api/v1/rules/web-ids", {**WEB, "actions": ["drop"]})
            assert status == 200, out
            assert s1.set_pipeline_rpcs == pushes + 1  # restarted: the pipeline pushed again
            c = out["change"]
            assert not c["delta_apply"], c
            assert "reconnected and applied with reads" in c["delta_fallback"], c
            # every entry of s1 written again (and s2's part of the change)
            assert c["written"] > len(expected(rc.service.ctl.plan, "s1")), c
            assert rc.matches_plan()
            ev = rc.request("GET", "/api/v1/events")[1][-1]
            assert (ev["apply_mode"], ev["apply_note"]) == ("read", c["delta_fallback"])
            assert _event_row(db, ev["id"]) == ("read", c["delta_fallback"])
    finally:
        log.removeHandler(handler)


def test_counters_read_only_what_is_asked_of_the_switches_that_hold_it(
    servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer], tmp_path: Path
) -> None:
    """``?hops=0`` (the live view) reads the classifier counters only, and only on the switches
    whose plan has classifier entries (here s1: table1's rules are all on s1)."""
    with running_controller(servers, tmp_path / "c.db") as rc:
        for te in servers[0].entries():
            servers[0].set_counter(te, 3, 300)
        reads = [srv.read_rpcs for srv in servers]
        status, full = rc.request("GET", "/api/v1/counters")
        assert status == 200 and full["hops"] and full["rules"]
        assert all(r["packets"] == 3 for r in full["rules"])
        assert servers[1].read_rpcs > reads[1]  # s2 holds hops
        reads = [srv.read_rpcs for srv in servers]
        status, rules = rc.request("GET", "/api/v1/counters?hops=0")
        assert status == 200 and rules == {"rules": full["rules"], "hops": []}
        assert servers[0].read_rpcs == reads[0] + 1 and servers[1].read_rpcs == reads[1]
        assert rc.request("GET", "/api/v1/counters?hops=2")[0] == 400
