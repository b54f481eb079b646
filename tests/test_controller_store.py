"""The controller's SQLite store: schema migrations (a version-1 database with data is migrated
to the current schema and keeps its data), a database of a newer schema is refused, WAL mode,
and one transaction per change (checked with plain sqlite3 connections, not through Store)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from wphw.controller.store import MIGRATIONS, SCHEMA_VERSION, Store
from wphw.errors import StoreError

POLICY = {"subscribers": {"s1": [{"name": "a", "priority": 1, "actions": ["drop"]}]}}


def test_fresh_database_has_every_migration_and_wal(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with Store(db) as store:
        assert store.version() == SCHEMA_VERSION
        assert [v for v, _ in store.migrations()] == [v for v, _, _ in MIGRATIONS]
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cols = {r[1] for r in con.execute("PRAGMA table_info(events)")}
    assert {
        "actor",
        "switches",
        "compile_s",
        "verify_s",
        "apply_s",
        "written",
        "contexts_s",
        "apply_mode",
        "apply_note",
    } <= cols
    con.close()


def test_a_version_1_database_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    # build a database exactly as version 1 left it, with the raw SQL of migration 1
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL, applied REAL NOT NULL)"
    )
    con.executescript(MIGRATIONS[0][2])
    con.execute("INSERT INTO schema_migrations VALUES (1, 'v1', 0)")
    con.execute(
        "INSERT INTO policy_versions (created, reason, policy) VALUES (1, 'start', ?)",
        (json.dumps(POLICY),),
    )
    con.execute("INSERT INTO installed VALUES (1, 1, '[\"ids1\"]', '{}', 2)")
    con.execute(
        "INSERT INTO events (time, kind, reason, policy_version, written, result)"
        " VALUES (3, 'start', 'old', 1, 7, 'ok')"
    )
    con.commit()
    con.close()
    with Store(db) as store:
        assert store.version() == SCHEMA_VERSION
        inst = store.installed()
        assert inst is not None
        assert inst.policy == POLICY and inst.failed == frozenset({"ids1"})
        (ev,) = store.events()
        assert (ev.kind, ev.reason, ev.written, ev.actor, ev.switches) == (
            "start",
            "old",
            7,
            "",
            (),
        )
        store.add_event(kind="rule-add", reason="new", actor="acme", switches=("s1",))
        assert [e.actor for e in store.events()] == ["", "acme"]
        assert [e.reason for e in store.events(actor="acme")] == ["new"]


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    Store(db).close()
    con = sqlite3.connect(db)
    con.execute(
        "INSERT INTO schema_migrations VALUES (?, 'from the future', 0)", (SCHEMA_VERSION + 1,)
    )
    con.commit()
    con.close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        Store(db)


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"bad\.db"):
        Store(bad)


def test_an_install_is_one_transaction(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with Store(db) as store:
        v = store.record_install(
            policy=POLICY,
            failed=frozenset(),
            plan_json="{}",
            event={"kind": "start", "reason": "x"},
        )
        assert v == 1
        # the same policy again: no new version
        assert (
            store.record_install(
                policy=POLICY, failed=frozenset(), plan_json="{}", event={"kind": "health"}
            )
            == 1
        )
        # an event that cannot be stored (kind missing) rolls the whole change back
        other = {"subscribers": {"s1": []}}
        with pytest.raises(KeyError):
            store.record_install(policy=other, failed=frozenset(), plan_json="{}", event={})
        inst = store.installed()
        assert inst is not None and inst.policy == POLICY and inst.policy_version == 1
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM policy_versions").fetchone()[0] == 1
    assert con.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2
    con.close()


def test_readers_see_committed_state_while_the_store_is_open(tmp_path: Path) -> None:
    """WAL: another process's reader is not blocked by the open store and sees each commit."""
    db = tmp_path / "c.db"
    with Store(db) as store:
        store.add_event(kind="start", reason="one")
        con = sqlite3.connect(db)
        assert con.execute("SELECT reason FROM events").fetchall() == [("one",)]
        with store.transaction() as tx:
            tx.execute(
                "INSERT INTO events (time, kind, reason, result) VALUES (1, 'x', 'two', 'ok')"
            )
            # not committed yet: the reader still sees one event
            assert con.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
        assert con.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2
        con.close()


def test_version_2_plan_entries_move_to_one_row_per_switch(tmp_path: Path) -> None:
    """Migration 3 moves the installed plan's entries into installed_entries (SQLite's json_each
    and json_remove); the plan read back is the same, and a later install that names only one
    switch keeps the other switch's row."""
    db = tmp_path / "v2.db"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL, applied REAL NOT NULL)"
    )
    for version, _, sql in MIGRATIONS[:2]:
        con.executescript(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, 'old', 0)", (version,))
    plan = {"format": 1, "metric": "hops", "entries": {"s1": [{"a": 1}], "s2": [{"b": 2}]}}
    con.execute(
        "INSERT INTO policy_versions (created, reason, policy) VALUES (1, 'start', ?)",
        (json.dumps(POLICY),),
    )
    con.execute("INSERT INTO installed VALUES (1, 1, '[]', ?, 2)", (json.dumps(plan),))
    con.commit()
    con.close()
    with Store(db) as store:
        assert store.version() == SCHEMA_VERSION
        inst = store.installed()
        assert inst is not None
        assert json.loads(inst.plan_json) == {**plan, "paths": [], "bindings": [], "contexts": []}
        rows = dict(store._db.execute("SELECT switch, entries FROM installed_entries").fetchall())
        assert {k: json.loads(v) for k, v in rows.items()} == plan["entries"]
        assert "entries" not in json.loads(
            store._db.execute("SELECT plan FROM installed").fetchone()[0]
        )
        store.record_install(
            policy=POLICY,
            failed=frozenset(),
            plan_json=json.dumps({"format": 1, "metric": "hops"}),
            entries={"s1": json.dumps([{"a": 3}]), "s2": None},
            event={"kind": "rule-add"},
        )
        got = json.loads(store.installed().plan_json)  # type: ignore[union-attr]
        assert got["entries"] == {"s1": [{"a": 3}]}


def _compiled_plan_and_policy() -> tuple[str, dict[str, object]]:
    from wphw.controller.service import normalise_policy
    from wphw.generate import fat_tree, random_policy
    from wphw.plan import compile
    from wphw.policy import policy_from_dict
    from wphw.topology import topology_from_dict

    raw_topo = fat_tree(4)
    raw = normalise_policy(random_policy(raw_topo, 30))
    plan = compile(policy_from_dict(raw), topology_from_dict(raw_topo))
    return plan.to_json(), raw


def test_version_4_plan_rows_and_policy_deltas(tmp_path: Path) -> None:
    """Migration 5 moves a version-4 plan's paths, bindings and contexts into one row each
    (json_each): the plan read back is the plan written. Then a rule change stored as rows
    and a policy delta reads back as the full plan and policy; every DELTA_DEPTH-th version
    is written in full; the policy of any version is rebuilt from its deltas."""
    from wphw.controller.store import DELTA_DEPTH, apply_policy_delta

    plan_json, raw = _compiled_plan_and_policy()
    full = json.loads(plan_json)
    assert full["paths"] and full["bindings"] and full["contexts"]
    db = tmp_path / "v4.db"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL, applied REAL NOT NULL)"
    )
    for version, _, sql in MIGRATIONS[:4]:
        con.executescript(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, 'old', 0)", (version,))
    con.execute(
        "INSERT INTO policy_versions (created, reason, policy) VALUES (1, 'start', ?)",
        (json.dumps(raw, sort_keys=True),),
    )
    head = {k: v for k, v in full.items() if k != "entries"}
    con.execute("INSERT INTO installed VALUES (1, 1, '[]', ?, 2)", (json.dumps(head),))
    con.executemany(
        "INSERT INTO installed_entries VALUES (?, ?)",
        [(sw, json.dumps(es)) for sw, es in full["entries"].items()],
    )
    con.commit()
    con.close()
    with Store(db) as store:
        assert store.version() == SCHEMA_VERSION
        inst = store.installed()
        assert inst is not None and json.loads(inst.plan_json) == full
        assert inst.policy == raw
        n_rows = store._db.execute("SELECT COUNT(*) FROM installed_rows").fetchone()[0]
        assert n_rows == len(full["paths"]) + len(full["bindings"]) + len(full["contexts"])
        stored_head = json.loads(store._db.execute("SELECT plan FROM installed").fetchone()[0])
        assert not {"paths", "bindings", "contexts", "entries"} & set(stored_head)

        # a rule change: one binding row goes, the policy is a delta of version 1
        gone = full["bindings"][0]
        sub = gone["subscriber"]
        expect_policy = json.loads(json.dumps(raw))
        apply_policy_delta(expect_policy, {gone["rule"]: None})
        v = store.record_install(
            policy=expect_policy,
            failed=frozenset(),
            plan_json=json.dumps({"format": 1, "metric": "hops"}),
            entries={},
            rows={("binding", gone["rule"]): None},
            policy_change={gone["rule"]: None},
            event={"kind": "rule-remove"},
        )
        assert v == 2
        inst = store.installed()
        assert inst is not None and inst.policy == expect_policy
        got = json.loads(inst.plan_json)
        assert got["bindings"] == full["bindings"][1:] and got["paths"] == full["paths"]
        row = store._db.execute("SELECT policy, delta FROM policy_versions WHERE id = 2").fetchone()
        assert row[0] == "" and json.loads(row[1])["base"] == 1
        # many more changes: a full version every DELTA_DEPTH, any version rebuilt exactly
        policies = {1: raw, 2: json.loads(json.dumps(expect_policy))}
        current = expect_policy
        for i in range(DELTA_DEPTH + 3):
            obj = {"name": f"x{i}", "priority": 5000 + i, "actions": ["drop"]}
            change = {f"x{i}": (sub, obj)}
            if i % 3 == 2:
                change[f"x{i - 1}"] = None  # and one removed
            apply_policy_delta(current, change)
            v = store.record_install(
                policy=current,
                failed=frozenset(),
                plan_json=json.dumps({"format": 1, "metric": "hops"}),
                entries={},
                rows={},
                policy_change=change,
                event={"kind": "rule-add"},
            )
            policies[v] = json.loads(json.dumps(current))
        fulls = [
            r[0] for r in store._db.execute("SELECT id FROM policy_versions WHERE delta IS NULL")
        ]
        assert fulls == [1, DELTA_DEPTH + 1]
        for version, want in policies.items():
            assert store.policy_version(version) == want, version
        inst = store.installed()
        assert inst is not None and inst.policy == current
        # restarting with the same policy (no change given) keeps the version
        assert (
            store.record_install(
                policy=current,
                failed=frozenset(),
                plan_json=json.dumps({"format": 1, "metric": "hops"}),
                event={"kind": "start"},
            )
            == v
        )


def test_version_5_events_keep_their_rows_and_gain_the_apply_mode(tmp_path: Path) -> None:
    """Migration 6 adds how a change was written (delta or read back, and why a delta fell
    back): old events read back with NULL there; new ones keep what they were given."""
    db = tmp_path / "v5.db"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL, applied REAL NOT NULL)"
    )
    for version, _, sql in MIGRATIONS[:5]:
        con.executescript(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, 'old', 0)", (version,))
    con.execute(
        "INSERT INTO events (time, kind, reason, result, written) VALUES (1, 'rule-add', 'r',"
        " 'ok', 3)"
    )
    con.commit()
    con.close()
    with Store(db) as store:
        assert store.version() == SCHEMA_VERSION
        (old,) = store.events()
        assert (old.kind, old.written, old.apply_mode, old.apply_note) == (
            "rule-add",
            3,
            None,
            None,
        )
        store.add_event(kind="rule-change", apply_mode="read", apply_note="s1: reconnected")
        new = store.events()[-1].to_dict()
        assert (new["apply_mode"], new["apply_note"]) == ("read", "s1: reconnected")
