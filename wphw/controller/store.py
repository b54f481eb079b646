"""The controller's state in SQLite (standard library ``sqlite3``): policy versions, the
installed plan, and an event log.

* WAL journal, ``synchronous=NORMAL``, foreign keys on; one connection per store, guarded by a
  lock (the HTTP threads and the health watch share it).
* Versioned schema: ``schema_migrations`` lists every migration applied, with its time. Opening
  a database applies the missing ones in order, each in its own transaction; a database written
  by a newer wphw (a version this code does not know) is refused with :class:`StoreError`.
* Every change is one transaction: the new policy version, the installed pointer and its event
  are written together or not at all.

Nothing is pickled: the policy is its JSON form (the normalised YAML dict), the plan is
``Plan.to_json()`` without secrets (FPGA keys come from compiling the topology again).

A change costs what it changes, not what the plan holds: the plan's entries are one row per
switch, its paths, bindings and waypoint contexts one row each (``installed_rows``), and a rule
change's policy version is a delta of the version before it (every ``DELTA_DEPTH``-th one is
written in full), so one added rule writes a few rows, not 400,000 entries and 10,000 rules.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wphw.errors import StoreError

# (version, what it does, the SQL). Append only: a released migration never changes.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "policy versions, installed plan, event log",
        """
        CREATE TABLE policy_versions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created REAL NOT NULL,
            reason TEXT NOT NULL,
            policy TEXT NOT NULL
        );
        CREATE TABLE installed (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            policy_version INTEGER NOT NULL REFERENCES policy_versions(id),
            failed TEXT NOT NULL,
            plan TEXT NOT NULL,
            installed REAL NOT NULL
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time REAL NOT NULL,
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            policy_version INTEGER,
            compile_s REAL,
            verify_s REAL,
            apply_s REAL,
            written INTEGER,
            entries INTEGER,
            result TEXT NOT NULL,
            error TEXT
        );
        """,
    ),
    (
        2,
        "who caused an event (token name / tenant) and which switches it concerns",
        """
        ALTER TABLE events ADD COLUMN actor TEXT NOT NULL DEFAULT '';
        ALTER TABLE events ADD COLUMN switches TEXT NOT NULL DEFAULT '[]';
        CREATE INDEX events_time ON events(time);
        """,
    ),
    (
        3,
        "installed entries one row per switch (a change rewrites only the switches it touched)",
        """
        CREATE TABLE installed_entries (
            switch TEXT PRIMARY KEY,
            entries TEXT NOT NULL
        );
        INSERT INTO installed_entries (switch, entries)
            SELECT e.key, e.value FROM installed i, json_each(i.plan, '$.entries') e
            WHERE i.id = 1;
        UPDATE installed SET plan = json_remove(plan, '$.entries');
        """,
    ),
    (
        4,
        "the time spent giving the software waypoints their context tables, per event",
        "ALTER TABLE events ADD COLUMN contexts_s REAL;",
    ),
    (
        5,
        "installed paths, bindings and contexts one row each; policy versions as deltas",
        """
        CREATE TABLE installed_rows (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (kind, key)
        );
        INSERT INTO installed_rows (kind, key, value)
            SELECT 'path', CAST(json_extract(e.value, '$.spi') AS TEXT), e.value
            FROM installed i, json_each(i.plan, '$.paths') e WHERE i.id = 1;
        INSERT INTO installed_rows (kind, key, value)
            SELECT 'binding', json_extract(e.value, '$.rule'), e.value
            FROM installed i, json_each(i.plan, '$.bindings') e WHERE i.id = 1;
        INSERT INTO installed_rows (kind, key, value)
            SELECT 'context', json_extract(e.value, '$.waypoint') || ' '
                || json_extract(e.value, '$.spi') || ' ' || json_extract(e.value, '$.si'),
                e.value
            FROM installed i, json_each(i.plan, '$.contexts') e WHERE i.id = 1;
        UPDATE installed SET plan = json_remove(plan, '$.paths', '$.bindings', '$.contexts');
        ALTER TABLE policy_versions ADD COLUMN delta TEXT;
        """,
    ),
    (
        6,
        "how an event's change was written: as a delta (no Read) or read back and diffed, and"
        " why a delta fell back",
        """
        ALTER TABLE events ADD COLUMN apply_mode TEXT;
        ALTER TABLE events ADD COLUMN apply_note TEXT;
        """,
    ),
)
# a policy version stored as a delta of its base; every DELTA_DEPTH versions a full one
DELTA_DEPTH = 64
ROW_KINDS = ("path", "binding", "context")
SCHEMA_VERSION = MIGRATIONS[-1][0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    id: int
    time: float
    kind: str  # start, install, rule-add, rule-change, rule-remove, health, reconcile, refused
    reason: str
    result: str  # ok, error, refused, pending
    policy_version: int | None = None
    compile_s: float | None = None
    verify_s: float | None = None
    apply_s: float | None = None
    contexts_s: float | None = None
    written: int | None = None
    entries: int | None = None
    error: str | None = None
    actor: str = ""
    switches: tuple[str, ...] = ()
    # "delta" (the changed switches written, none read), "read" (read back and diffed), None
    # (nothing applied); apply_note: why a change that was to be a delta was read back
    apply_mode: str | None = None
    apply_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "kind": self.kind,
            "reason": self.reason,
            "result": self.result,
            "policy_version": self.policy_version,
            "compile_s": self.compile_s,
            "verify_s": self.verify_s,
            "apply_s": self.apply_s,
            "contexts_s": self.contexts_s,
            "written": self.written,
            "entries": self.entries,
            "error": self.error,
            "actor": self.actor,
            "switches": list(self.switches),
            "apply_mode": self.apply_mode,
            "apply_note": self.apply_note,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Installed:
    policy_version: int
    policy: dict[str, Any]
    failed: frozenset[str]
    plan_json: str
    installed: float


class Store:
    """One SQLite database file (``":memory:"`` for a throw-away store)."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self.clock = clock
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"database {self.path}: {exc}") from exc
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if self.path != ":memory:" and str(mode).lower() != "wal":
                raise StoreError(f"database {self.path}: cannot use WAL (journal mode {mode})")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"database {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on any exception)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- schema -------------------------------------------------------------------------------

    def version(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
            ).fetchone()
            if row is None:
                return 0
            v = self._db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
            return int(v or 0)

    def migrate(self, upto: int = SCHEMA_VERSION) -> list[int]:
        """Apply the migrations after the database's version, up to ``upto``; returns those
        applied. Refuses a database of a newer schema than this code knows."""
        applied: list[int] = []
        with self._lock:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied REAL NOT NULL)"
            )
            have = self.version()
            if have > SCHEMA_VERSION:
                raise StoreError(
                    f"database {self.path}: schema version {have} is newer than this wphw"
                    f" knows ({SCHEMA_VERSION}); use a newer wphw or another --db"
                )
            for version, description, sql in MIGRATIONS:
                if version <= have or version > upto:
                    continue
                with self.transaction() as db:
                    for statement in _statements(sql):
                        db.execute(statement)
                    db.execute(
                        "INSERT INTO schema_migrations (version, description, applied)"
                        " VALUES (?, ?, ?)",
                        (version, description, self.clock()),
                    )
                applied.append(version)
        return applied

    def migrations(self) -> list[tuple[int, str]]:
        with self._lock:
            return [
                (int(r["version"]), str(r["description"]))
                for r in self._db.execute(
                    "SELECT version, description FROM schema_migrations ORDER BY version"
                )
            ]

    # -- desired and installed state -----------------------------------------------------------

    def installed(self) -> Installed | None:
        with self._lock:
            row = self._db.execute(
                "SELECT i.policy_version, i.failed, i.plan, i.installed, p.policy"
                " FROM installed i JOIN policy_versions p ON p.id = i.policy_version"
                " WHERE i.id = 1"
            ).fetchone()
        if row is None:
            return None
        try:
            plan = json.loads(row["plan"])
            with self._lock:
                per_switch = self._db.execute("SELECT switch, entries FROM installed_entries")
                entries = {str(r["switch"]): json.loads(r["entries"]) for r in per_switch}
            if "entries" not in plan:  # schema 3: the entries live one row per switch
                plan["entries"] = entries
            with self._lock:
                rows = self._db.execute("SELECT kind, value FROM installed_rows").fetchall()
            by_kind: dict[str, list[Any]] = {k: [] for k in ROW_KINDS}
            for r in rows:
                by_kind[str(r["kind"])].append(json.loads(r["value"]))
            # schema 5: one row each, in compile's order
            plan.setdefault("paths", sorted(by_kind["path"], key=lambda p: p["spi"]))
            plan.setdefault(
                "bindings",
                sorted(
                    by_kind["binding"], key=lambda b: (b["subscriber"], -b["priority"], b["rule"])
                ),
            )
            plan.setdefault(
                "contexts",
                sorted(by_kind["context"], key=lambda c: (c["waypoint"], c["spi"], c["si"])),
            )
            return Installed(
                policy_version=int(row["policy_version"]),
                policy=self.policy_version(int(row["policy_version"])),
                failed=frozenset(json.loads(row["failed"])),
                plan_json=json.dumps(plan),
                installed=float(row["installed"]),
            )
        except (ValueError, TypeError) as exc:
            raise StoreError(f"database {self.path}: installed state unreadable: {exc}") from exc

    def policy_version(self, version: int) -> dict[str, Any]:
        """The policy of ``version`` (a delta version: its base's policy with the delta)."""
        deltas: list[dict[str, Any]] = []
        v = version
        with self._lock:
            while True:
                row = self._db.execute(
                    "SELECT policy, delta FROM policy_versions WHERE id = ?", (v,)
                ).fetchone()
                if row is None:
                    raise StoreError(f"database {self.path}: no policy version {v}")
                if row["delta"] is None:
                    break
                delta = json.loads(row["delta"])
                deltas.append(delta)
                v = int(delta["base"])
        out: dict[str, Any] = json.loads(row["policy"])
        for delta in reversed(deltas):
            apply_policy_delta(out, delta["rules"])
        return out

    def policy_versions(self) -> list[tuple[int, float, str]]:
        with self._lock:
            return [
                (int(r["id"]), float(r["created"]), str(r["reason"]))
                for r in self._db.execute(
                    "SELECT id, created, reason FROM policy_versions ORDER BY id"
                )
            ]

    def record_install(
        self,
        *,
        policy: dict[str, Any],
        failed: frozenset[str],
        plan_json: str,
        event: dict[str, Any],
        entries: Mapping[str, str | None] | None = None,
        rows: Mapping[tuple[str, str], str | None] | None = None,
        policy_change: Mapping[str, tuple[str, dict[str, Any]] | None] | None = None,
    ) -> int:
        """One transaction: a policy version (a new one only when the policy changed), the
        installed pointer, and the event. Returns the policy version.

        ``plan_json``: the plan (``Plan.to_json``); with ``entries`` (switch → the JSON list of
        its entries, None: the switch has none any more), the plan's own ``entries`` are left
        out of it and only the switches given are rewritten — the others keep their rows.
        Without ``entries``, every switch's row is replaced by the plan's.

        ``rows`` likewise for the plan's paths, bindings and contexts: ``(kind, key)`` → the
        row's JSON (None: gone), kinds ``path`` (key: the SPI), ``binding`` (the rule),
        ``context`` ("waypoint spi si"); ``plan_json`` then has none of the three.

        ``policy_change``: ``policy`` is the installed policy with these rules changed (rule
        name → (switch, the rule's dict), None: removed; :func:`apply_policy_delta`): the
        new version is stored as that delta (every DELTA_DEPTH-th in full)."""
        replace_entries, replace_rows = entries is None, rows is None
        obj = json.loads(plan_json)
        if entries is None:
            entries = {sw: json.dumps(es) for sw, es in obj.get("entries", {}).items()}
        if rows is None:
            rows = plan_rows(obj)
        for key in ("entries", "paths", "bindings", "contexts"):
            obj.pop(key, None)
        plan_json = json.dumps(obj)
        assert entries is not None and rows is not None
        with self.transaction() as db:
            row = db.execute(
                "SELECT p.id, p.policy, p.delta FROM installed i JOIN policy_versions p"
                " ON p.id = i.policy_version WHERE i.id = 1"
            ).fetchone()
            version = self._policy_row(db, row, policy, policy_change, event)
            db.execute(
                "INSERT INTO installed (id, policy_version, failed, plan, installed)"
                " VALUES (1, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                " policy_version = excluded.policy_version, failed = excluded.failed,"
                " plan = excluded.plan, installed = excluded.installed",
                (version, json.dumps(sorted(failed)), plan_json, self.clock()),
            )
            if replace_entries:
                db.execute("DELETE FROM installed_entries")
            if replace_rows:
                db.execute("DELETE FROM installed_rows")
            for (kind, key), value in rows.items():
                if value is None:
                    db.execute("DELETE FROM installed_rows WHERE kind = ? AND key = ?", (kind, key))
                else:
                    db.execute(
                        "INSERT INTO installed_rows (kind, key, value) VALUES (?, ?, ?)"
                        " ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value",
                        (kind, key, value),
                    )
            for switch, text_entries in entries.items():
                if text_entries is None:
                    db.execute("DELETE FROM installed_entries WHERE switch = ?", (switch,))
                else:
                    db.execute(
                        "INSERT INTO installed_entries (switch, entries) VALUES (?, ?)"
                        " ON CONFLICT(switch) DO UPDATE SET entries = excluded.entries",
                        (switch, text_entries),
                    )
            self._insert_event(db, {**event, "policy_version": version})
        return version

    def _policy_row(
        self,
        db: sqlite3.Connection,
        row: sqlite3.Row | None,
        policy: dict[str, Any],
        change: Mapping[str, tuple[str, dict[str, Any]] | None] | None,
        event: Mapping[str, Any],
    ) -> int:
        """The policy version of an install: the installed one when the policy is the same,
        else a new row (a delta of the installed one when ``change`` says what changed)."""
        reason = str(event.get("reason", ""))
        if row is not None and change is not None:
            depth = 0
            if row["delta"] is not None:
                depth = int(json.loads(row["delta"]).get("depth", 0))
            if not change:
                return int(row["id"])
            if depth + 1 < DELTA_DEPTH:
                delta = {"base": int(row["id"]), "depth": depth + 1, "rules": dict(change)}
                cur = db.execute(
                    "INSERT INTO policy_versions (created, reason, policy, delta)"
                    " VALUES (?, ?, '', ?)",
                    (self.clock(), reason, json.dumps(delta, sort_keys=True)),
                )
                assert cur.lastrowid is not None
                return int(cur.lastrowid)
        text = json.dumps(policy, sort_keys=True)
        if row is not None:
            same = (
                row["policy"] == text
                if row["delta"] is None
                else self.policy_version(int(row["id"])) == json.loads(text)
            )
            if same:
                return int(row["id"])
        cur = db.execute(
            "INSERT INTO policy_versions (created, reason, policy) VALUES (?, ?, ?)",
            (self.clock(), reason, text),
        )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    # -- events -------------------------------------------------------------------------------

    def add_event(self, **event: Any) -> int:
        with self.transaction() as db:
            return self._insert_event(db, event)

    def _insert_event(self, db: sqlite3.Connection, e: dict[str, Any]) -> int:
        cur = db.execute(
            "INSERT INTO events (time, kind, reason, policy_version, compile_s, verify_s,"
            " apply_s, written, entries, result, error, actor, switches, contexts_s,"
            " apply_mode, apply_note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                e.get("time", self.clock()),
                e["kind"],
                e.get("reason", ""),
                e.get("policy_version"),
                e.get("compile_s"),
                e.get("verify_s"),
                e.get("apply_s"),
                e.get("written"),
                e.get("entries"),
                e.get("result", "ok"),
                e.get("error"),
                e.get("actor", ""),
                json.dumps(sorted(e.get("switches", ()))),
                e.get("contexts_s"),
                e.get("apply_mode"),
                e.get("apply_note"),
            ),
        )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def events(
        self,
        *,
        limit: int = 100,
        since: int = 0,
        actor: str | None = None,
        switches: Sequence[str] | None = None,
    ) -> list[Event]:
        """The newest ``limit`` events with id > ``since``, oldest first. With ``actor`` or
        ``switches`` given, only the events that actor caused or that name one of those
        switches (a tenant's view)."""
        filtered = actor is not None or switches is not None
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM events WHERE id > ? ORDER BY id DESC"
                + ("" if filtered else " LIMIT ?"),
                (since,) if filtered else (since, limit),
            ).fetchall()
        out: list[Event] = []
        want = set(switches) if switches is not None else None
        for r in rows:
            sws = tuple(json.loads(r["switches"]))
            if (actor is not None or want is not None) and not (
                (actor is not None and r["actor"] == actor) or (want and want & set(sws))
            ):
                continue
            out.append(
                Event(
                    id=int(r["id"]),
                    time=float(r["time"]),
                    kind=str(r["kind"]),
                    reason=str(r["reason"]),
                    result=str(r["result"]),
                    policy_version=r["policy_version"],
                    compile_s=r["compile_s"],
                    verify_s=r["verify_s"],
                    apply_s=r["apply_s"],
                    contexts_s=r["contexts_s"],
                    written=r["written"],
                    entries=r["entries"],
                    error=r["error"],
                    actor=str(r["actor"]),
                    switches=sws,
                    apply_mode=r["apply_mode"],
                    apply_note=r["apply_note"],
                )
            )
            if len(out) >= limit:
                break
        out.reverse()
        return out


def apply_policy_delta(
    policy: dict[str, Any], change: Mapping[str, list[Any] | tuple[str, Any] | None]
) -> None:
    """Edit a normalised policy dict in place as the controller's rule edits do: each named
    rule leaves its switch's list; a changed or added one is appended to its (new) switch's
    list; switches left without rules go."""
    subs: dict[str, list[dict[str, Any]]] = policy.setdefault("subscribers", {})
    for name in sorted(change):
        for lst in subs.values():
            for i, obj in enumerate(lst):
                if obj.get("name") == name:
                    del lst[i]
                    break
        new = change[name]
        if new is not None:
            switch, obj = new
            subs.setdefault(str(switch), []).append(dict(obj))
    policy["subscribers"] = {k: v for k, v in subs.items() if v}


def plan_rows(plan: Mapping[str, Any]) -> dict[tuple[str, str], str | None]:
    """A plan's (``Plan.to_json`` object's) paths, bindings and contexts as rows."""
    out: dict[tuple[str, str], str | None] = {}
    for p in plan.get("paths", ()):
        out[("path", str(p["spi"]))] = json.dumps(p, sort_keys=True)
    for b in plan.get("bindings", ()):
        out[("binding", str(b["rule"]))] = json.dumps(b, sort_keys=True)
    for c in plan.get("contexts", ()):
        out[("context", f"{c['waypoint']} {c['spi']} {c['si']}")] = json.dumps(c, sort_keys=True)
    return out


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]
