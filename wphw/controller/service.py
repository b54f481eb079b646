"""The running controller: desired state in a :class:`Store`, kept on the switches.

:class:`Service` owns one :class:`~wphw.controller.Controller` (compile against the installed
plan, verify, make-before-break apply) and adds what a long-running process needs:

* **resume**: the desired policy, the failed PEs and the installed plan come from the database;
  a restarted controller compiles against the stored plan (same SPIs), so when the switches
  already hold it nothing is written.
* **rule changes** (the northbound API): add, change or remove one rule; validated (policy
  parser), compiled, verified incrementally (``verify_change``) before anything is written; a
  refused change writes nothing and leaves the desired state as it was. Every change — and every
  refusal — is an event in the database.
* **PE health**: each waypoint's control endpoint answers ``/health``; ``misses`` consecutive
  failures mark its PEs failed and the network is re-planned (failover, or the service's failure
  mode); one good answer brings them back.
* **reconcile**: every ``reconcile_interval`` seconds the switches are read back and whatever
  differs in wphw's tables is repaired (a restarted switch, an entry someone else changed).
* **tenants** (the paper's delegation to a waypoint service provider's customers): a token
  names the subscriber switches its holder may see and change; see :class:`Token`.
"""

from __future__ import annotations

import dataclasses
import gc
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wphw._gc import gc_paused
from wphw.controller import Change, Controller, Installer, query_health
from wphw.controller.store import Event, Store
from wphw.entries import entry_to_json
from wphw.errors import (
    AccessError,
    AuthenticationError,
    NotFoundError,
    PlanFormatError,
    PolicyError,
    SwitchConnectionError,
    TopologyError,
    WphwError,
)
from wphw.plan import Plan, WaypointContext, binding_to_json, context_to_json, path_to_json
from wphw.policy import Policy, policy_from_dict
from wphw.topology import Topology

LOG = logging.getLogger("wphw.controller")

ACCESS = ("admin", "read", "tenant")


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """A caller. ``admin``: reads and writes everything. ``read``: reads everything.
    ``tenant``: sees and (with ``write``) changes only the rules of its ``switches``, and sees
    only the service paths and counters of those rules."""

    name: str
    secret: str
    access: str
    switches: frozenset[str] = frozenset()
    write: bool = False

    @property
    def tenant(self) -> bool:
        return self.access == "tenant"

    def may_see(self, switch: str) -> bool:
        return not self.tenant or switch in self.switches


OPEN = Token(name="anonymous", secret="", access="read")  # no token file: reads are open


def tokens_from_dict(raw: Any, topology: Topology, source: str = "<tokens>") -> list[Token]:
    """``{tokens: [{name, token, access: admin|read|tenant, switches: [...], write: bool}]}``."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("tokens"), list):
        raise AccessError(f"{source}: expected a mapping with a 'tokens' list")
    out: list[Token] = []
    names: set[str] = set()
    secrets: set[str] = set()
    for i, t in enumerate(raw["tokens"]):
        where = f"{source}: token {i}"
        if not isinstance(t, Mapping):
            raise AccessError(f"{where}: expected a mapping")
        unknown = set(t) - {"name", "token", "access", "switches", "write"}
        if unknown:
            raise AccessError(f"{where}: unknown key(s) {sorted(unknown)}")
        name, secret, access = str(t.get("name", "")), t.get("token"), t.get("access")
        if not name:
            raise AccessError(f"{where}: 'name' is missing")
        where = f"{source}: token {name}"
        if name in names:
            raise AccessError(f"{where}: duplicate name")
        if not isinstance(secret, str) or len(secret) < 16:
            raise AccessError(f"{where}: 'token' must be a string of at least 16 characters")
        if secret in secrets:
            raise AccessError(f"{where}: the same token is given twice")
        if access not in ACCESS:
            raise AccessError(f"{where}: access {access!r} is not one of {', '.join(ACCESS)}")
        switches = t.get("switches", [])
        if not isinstance(switches, list) or not all(isinstance(s, str) for s in switches):
            raise AccessError(f"{where}: 'switches' must be a list of switch names")
        if access == "tenant":
            if not switches:
                raise AccessError(f"{where}: a tenant needs its subscriber 'switches'")
            bad = sorted(set(switches) - set(topology.switches))
            if bad:
                raise AccessError(f"{where}: unknown switch(es) {', '.join(bad)}")
        elif switches:
            raise AccessError(f"{where}: 'switches' is only for access: tenant")
        write = t.get("write", access == "admin")
        if not isinstance(write, bool) or (access == "read" and write):
            raise AccessError(f"{where}: 'write' must be true or false (false for access: read)")
        names.add(name)
        secrets.add(secret)
        out.append(
            Token(
                name=name,
                secret=secret,
                access=access,
                switches=frozenset(switches),
                write=write or access == "admin",
            )
        )
    return out


ROLE_PREFIX = "wphw-tenant-"
ROLE_TABLES = ("wp_classify",)


def tenant_roles(tokens: Sequence[Token]) -> dict[str, dict[str, tuple[str, ...]]]:
    """The P4Runtime roles of ``--tenant-roles``: switch → role name → tables. A tenant that
    may write gets the role ``wphw-tenant-<name>`` on each of its switches, owning the switch's
    classifier (``wp_classify``: where its rules are; the service paths are the provider's and
    stay in the controller's own role). P4Runtime roles scope tables, not entries, so a switch
    whose rules several writing tenants share gets no tenant role. Where the switch grants the
    role (its own primary election, P4Runtime ≥ 1.3 ``Role.name``), the classifier's updates
    go through that stream; BMv2 refuses it (one primary per device) and they go through the
    controller's own stream. The enforcement of what a tenant may change is the API's."""
    owners: dict[str, list[str]] = {}
    for t in tokens:
        if t.tenant and t.write:
            for sw in t.switches:
                owners.setdefault(sw, []).append(t.name)
    return {
        sw: {ROLE_PREFIX + names[0]: ROLE_TABLES}
        for sw, names in sorted(owners.items())
        if len(names) == 1
    }


def load_tokens(path: str | Path, topology: Topology) -> list[Token]:
    from wphw._load import load

    return tokens_from_dict(load(Path(path), AccessError), topology, str(path))


class Tokens:
    """Looks a bearer token up in constant time per candidate (hmac.compare_digest)."""

    def __init__(self, tokens: Sequence[Token] | None) -> None:
        self.tokens = tuple(tokens) if tokens is not None else None

    def authenticate(self, secret: str | None) -> Token:
        if self.tokens is None:  # no token file: read-only, open on the listening address
            if secret:
                raise AuthenticationError("this controller has no token file; send no token")
            return OPEN
        if not secret:
            raise AuthenticationError("a token is needed (Authorization: Bearer <token>)")
        found = None
        for t in self.tokens:
            if hmac.compare_digest(t.secret.encode(), secret.encode()):
                found = t
        if found is None:
            raise AuthenticationError("unknown token")
        return found


# -- the policy as data ------------------------------------------------------------------------


def normalise_policy(raw: Mapping[str, Any], source: str = "<policy>") -> dict[str, Any]:
    """The policy dict with every rule's name and priority written out, so that adding or
    removing one rule never renumbers the others (a YAML list's implicit priorities)."""
    policy = policy_from_dict(raw, source)
    out: dict[str, Any] = {k: v for k, v in raw.items() if k != "subscribers"}
    rules = iter(policy.rules)
    subs: dict[str, list[dict[str, Any]]] = {}
    for switch, rule_list in raw["subscribers"].items():
        lst = subs.setdefault(str(switch), [])
        for obj in rule_list:
            r = next(rules)
            lst.append({**obj, "name": r.name, "priority": r.priority})
    out["subscribers"] = subs
    return out


def rule_rows(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every rule of a normalised policy as ``{name, subscriber, priority, match, actions}``."""
    rows = []
    for switch, rule_list in raw["subscribers"].items():
        for obj in rule_list:
            rows.append(
                {
                    "name": obj["name"],
                    "subscriber": switch,
                    "priority": obj["priority"],
                    "match": dict(obj.get("match") or {}),
                    "actions": list(obj.get("actions") or []),
                }
            )
    rows.sort(key=lambda r: (r["subscriber"], -r["priority"], r["name"]))
    return rows


RULE_KEYS = {"name", "subscriber", "priority", "match", "actions"}


def _rule_body(body: Any, *, name: str | None = None) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise PolicyError("rule: expected a JSON object")
    unknown = set(body) - RULE_KEYS
    if unknown:
        raise PolicyError(f"rule: unknown key(s) {sorted(unknown)}")
    if name is not None:
        if "name" in body and body["name"] != name:
            raise PolicyError(f"rule {name}: the body names another rule ({body['name']!r})")
        body = {**body, "name": name}
    for key in ("name", "subscriber", "actions"):
        if key not in body:
            raise PolicyError(f"rule: {key!r} is missing")
    if not isinstance(body["subscriber"], str):
        raise PolicyError(f"rule {body['name']}: 'subscriber' must be a switch name")
    return dict(body)


# -- the service -------------------------------------------------------------------------------


class Reconnecting:
    """An installer that, when a switch was lost, reconnects the fabric once and tries again.

    A switch restarted between two applies comes back without a pipeline: the gRPC channel
    reconnects by itself, and the next Read answers FAILED_PRECONDITION, which the fabric
    reports as a :class:`SwitchConnectionError`. Connecting again learns that the pipeline is
    missing, and the retried apply pushes it and writes every entry (an apply is idempotent:
    it writes the difference to the plan)."""

    def __init__(self, fabric: Any) -> None:
        self.fabric = fabric

    def apply(self, plan: Any) -> Any:
        try:
            return self.fabric.apply(plan)
        except SwitchConnectionError as exc:
            LOG.warning("controller: %s; reconnecting to every switch and trying again", exc)
            self.fabric.close()
            self.fabric.connect()
            return self.fabric.apply(plan)

    def apply_delta(self, plan: Any, delta: Any) -> Any:
        """Write only ``delta`` (no Read); a lost switch → reconnect and apply with reads."""
        try:
            return self.fabric.apply_delta(plan, delta)
        except SwitchConnectionError as exc:
            LOG.warning("controller: %s; reconnecting to every switch and applying in full", exc)
            self.fabric.close()
            self.fabric.connect()
            return fell_back(self.fabric.apply(plan), f"{exc}; reconnected and applied with reads")


def fell_back(result: Any, why: str) -> Any:
    """``result`` of a full apply that stood in for a delta, saying so (``delta`` false,
    ``fallback`` the reason); an installer result without those fields is returned as is."""
    from wphw.install import InstallResult
    from wphw.p4rt import ApplyResult

    if isinstance(result, InstallResult):
        return dataclasses.replace(
            result, p4rt=dataclasses.replace(result.p4rt, delta=False, fallback=why)
        )
    if isinstance(result, ApplyResult):
        return dataclasses.replace(result, delta=False, fallback=why)
    return result


class Service:
    """See the module docstring. Thread-safe: one lock orders every change."""

    def __init__(
        self,
        topology: Topology,
        policy: Mapping[str, Any],
        installer: Installer,
        store: Store,
        *,
        controls: Mapping[str, str] | None = None,
        alive: Callable[[str], bool] = query_health,
        misses: int = 3,
        publish_contexts: Callable[[Sequence[WaypointContext]], Any] | None = None,
        prefer_file_policy: bool = False,
    ) -> None:
        """``policy``: the policy file's dict; used when the database has no desired state
        yet (or ``prefer_file_policy``). ``controls``: waypoint → control endpoint."""
        if misses < 1:
            raise ValueError(f"misses {misses} < 1")
        unknown = sorted(set(controls or {}) - set(topology.waypoints))
        if unknown:
            raise TopologyError(f"--control: unknown waypoint(s) {', '.join(unknown)}")
        self.topology = topology
        if hasattr(installer, "connect") and hasattr(installer, "close"):
            installer = Reconnecting(installer)  # a Fabric
        self.installer = installer
        self.store = store
        self.controls = dict(controls or {})
        self.alive = alive
        self.misses = misses
        self.file_policy = normalise_policy(policy, "policy file")
        self.prefer_file_policy = prefer_file_policy
        self.raw: dict[str, Any] = self.file_policy
        self.version = 0
        self.ctl = Controller(
            topology,
            policy_from_dict(self.raw, "policy file"),
            installer,
            controls=self.controls,
            alive=alive,
            publish_contexts=publish_contexts,
        )
        self._lock = threading.RLock()
        self._miss: dict[str, int] = dict.fromkeys(self.controls, 0)
        self.waypoint_up: dict[str, bool] = dict.fromkeys(self.controls, True)
        self.health_checked = 0.0
        self.repairs = 0
        self.applies = 0
        self.apply_seconds = 0.0
        self.last_change: Change | None = None
        self._stored_switches: set[str] = set()
        self._counted_cache: tuple[Plan, dict[tuple[str, int], str], dict[str, set[str]]] | None = (
            None
        )
        # rule name → its switch in self.raw (kept with each change, not recomputed)
        self._index: dict[str, str] = _where(self.raw)

    # -- start / resume ------------------------------------------------------------------------

    def start(self) -> Change:
        """Resume from the database (or the policy file), check PE health once, install."""
        with self._lock:
            inst = self.store.installed()
            reason = "start"
            if inst is not None:
                self.version = inst.policy_version
                try:
                    self.ctl.plan = Plan.from_json(inst.plan_json, f"{self.store.path}: installed")
                except PlanFormatError as exc:
                    # a plan for an older data plane: its entries mean something else on the
                    # pipeline this wphw pushes, so install everything as on a first start
                    LOG.warning("controller: %s; installing the whole plan again", exc)
                    self.ctl.plan = None
                self.ctl.failed = inst.failed & set(self.topology.pes)
                if self.prefer_file_policy and inst.policy != self.file_policy:
                    reason = "start: the policy file replaces the stored policy"
                else:
                    if inst.policy != self.file_policy:
                        LOG.warning(
                            "controller: the database's policy (version %d) differs from the"
                            " policy file; keeping the database's (--policy-from-file takes"
                            " the file)",
                            inst.policy_version,
                        )
                    self.raw = inst.policy
                    reason = f"start: resumed policy version {inst.policy_version}"
            policy = policy_from_dict(self.raw, "desired policy")
            self.ctl.policy = policy
            for wp in self.controls:  # at start a silent waypoint is down at once
                self._check(wp, threshold=1)
            return self._install(policy, self.raw, kind="start", reason=reason)

    def _install(
        self,
        policy: Policy,
        raw: dict[str, Any],
        *,
        kind: str,
        reason: str,
        actor: str = "",
        switches: Iterable[str] = (),
        changed_rules: Sequence[str] | None = None,
        failed: frozenset[str] | None = None,
        policy_change: Mapping[str, tuple[str, dict[str, Any]] | None] | None = None,
    ) -> Change:
        """Install and record; on failure record the refusal/error and re-raise (the desired
        state is unchanged). ``policy_change``: ``raw`` is the installed policy with these
        rules changed (stored as a delta version)."""
        failed = self.dead_pes() if failed is None else failed
        with gc_paused():
            return self._install_paused(
                policy,
                raw,
                kind=kind,
                reason=reason,
                actor=actor,
                switches=switches,
                changed_rules=changed_rules,
                failed=failed,
                policy_change=policy_change,
            )

    def _install_paused(
        self,
        policy: Policy,
        raw: dict[str, Any],
        *,
        kind: str,
        reason: str,
        actor: str,
        switches: Iterable[str],
        changed_rules: Sequence[str] | None,
        failed: frozenset[str],
        policy_change: Mapping[str, tuple[str, dict[str, Any]] | None] | None,
    ) -> Change:
        try:
            change = self.ctl.install(
                policy, reason=reason, failed=failed, changed_rules=changed_rules
            )
        except WphwError as exc:
            self.store.add_event(
                kind=kind,
                reason=reason,
                result="refused" if not _is_write_error(exc) else "error",
                error=f"{type(exc).__name__}: {exc}",
                actor=actor,
                switches=tuple(switches),
                policy_version=self.version,
            )
            raise
        assert self.ctl.plan is not None
        if policy_change is None:
            self._index = _where(raw)
        self.raw = raw
        self.applies += 1
        self.apply_seconds += change.apply_s
        self.last_change = change
        plan = self.ctl.plan
        changed = change.changed_switches
        if changed is None:  # first install: every switch's row
            changed = frozenset(plan.entries) | frozenset(self._stored_switches)
        t_store = time.perf_counter()
        self._stored_switches = {sw for sw in plan.entries if plan.entries[sw]}
        update = self.ctl.last_update
        rows: dict[tuple[str, str], str | None] | None = None
        if update is not None:  # only the rows the change touched
            rows = {("path", str(spi)): None for spi in update.spis_gone}
            rows.update(
                (("path", str(p.spi)), json.dumps(path_to_json(p), sort_keys=True))
                for p in update.paths_new
            )
            rows.update((("binding", name), None) for name in update.rules)
            rows.update(
                (("binding", b.rule), json.dumps(binding_to_json(b), sort_keys=True))
                for b in update.bindings_new
            )
            rows.update((("context", " ".join(map(str, k))), None) for k in update.contexts_gone)
            rows.update(
                (
                    ("context", f"{c.waypoint} {c.spi} {c.si}"),
                    json.dumps(context_to_json(c), sort_keys=True),
                )
                for c in update.contexts_new
            )
            head = dataclasses.replace(plan, entries={}, paths=(), bindings=(), contexts=())
        else:
            head = dataclasses.replace(plan, entries={})
            # a full plan's objects live until the next full compile: keep them out of the
            # cyclic GC's scans (a collection over a 10,000-rule plan's objects takes seconds,
            # and would land in some later request)
            gc.freeze()
        self.version = self.store.record_install(
            policy=raw,
            failed=change.failed,
            plan_json=head.to_json(),
            rows=rows,
            policy_change=policy_change if update is not None else None,
            entries={
                sw: json.dumps([entry_to_json(e) for e in plan.entries_for(sw)])
                if plan.entries_for(sw)
                else None
                for sw in sorted(changed)
            },
            event={
                "kind": kind,
                "reason": reason,
                "result": "ok",
                "compile_s": change.compile_s - change.verify_s,
                "verify_s": change.verify_s,
                "apply_s": change.apply_s,
                "contexts_s": change.contexts_s,
                "written": change.written,
                "entries": change.entries,
                "actor": actor,
                "switches": tuple(switches),
                "apply_mode": "delta" if change.delta_apply else "read",
                "apply_note": change.delta_fallback or None,
            },
        )
        change = dataclasses.replace(change, store_s=time.perf_counter() - t_store)
        self.last_change = change
        return change

    # -- health ----------------------------------------------------------------------------------

    def _check(self, waypoint: str, threshold: int | None = None) -> None:
        ok = self.alive(self.controls[waypoint])
        if ok:
            self._miss[waypoint] = 0
            self.waypoint_up[waypoint] = True
        else:
            self._miss[waypoint] += 1
            if self._miss[waypoint] >= (threshold or self.misses):
                self.waypoint_up[waypoint] = False

    def dead_pes(self) -> frozenset[str]:
        dead: set[str] = set()
        for wp, up in self.waypoint_up.items():
            if not up:
                dead.update(self.topology.waypoints[wp].pes)
        return frozenset(dead)

    def poll_health(self) -> Change | None:
        """Check every waypoint once; re-plan when the set of failed PEs changed."""
        for wp in sorted(self.controls):
            self._check(wp)
        self.health_checked = time.time()
        with self._lock:
            dead = self.dead_pes()
            if dead == self.ctl.failed:
                return None
            gone, back = dead - self.ctl.failed, self.ctl.failed - dead
            parts = []
            if gone:
                parts.append(f"PE(s) {', '.join(sorted(gone))} failed")
            if back:
                parts.append(f"PE(s) {', '.join(sorted(back))} back")
            reason = "; ".join(parts)
            LOG.warning("controller: %s", reason)
            policy = policy_from_dict(self.raw, "desired policy")
            return self._install(policy, self.raw, kind="health", reason=reason, failed=dead)

    # -- reconcile -------------------------------------------------------------------------------

    def reconcile(self) -> int:
        """Read the switches back and repair what differs from the installed plan; returns the
        number of updates written (0 when every switch matches)."""
        with self._lock:
            plan = self.ctl.plan
            if plan is None:
                return 0
            t0 = time.perf_counter()
            try:
                result = self.installer.apply(plan)
            except WphwError as exc:
                self.store.add_event(
                    kind="reconcile",
                    reason="read back and repair",
                    result="error",
                    error=f"{type(exc).__name__}: {exc}",
                    policy_version=self.version,
                )
                raise
            self.ctl.known = True  # the switches hold the plan again
            written = int(getattr(result, "written", 0))
            if written:
                touched = tuple(
                    s.switch
                    for s in getattr(result, "switches", ())
                    if s.inserted + s.modified + s.deleted
                )
                self.repairs += written
                LOG.warning(
                    "controller: reconcile repaired %d entries on %s", written, ", ".join(touched)
                )
                self.store.add_event(
                    kind="reconcile",
                    reason=f"repaired {written} entries on {', '.join(touched)}",
                    result="ok",
                    apply_s=time.perf_counter() - t0,
                    written=written,
                    entries=plan.entry_count(),
                    switches=touched,
                    policy_version=self.version,
                    apply_mode="read",
                )
            return written

    def run(
        self,
        stop: threading.Event,
        *,
        health_interval: float = 0.5,
        reconcile_interval: float = 10.0,
    ) -> None:
        """Watch health and reconcile until ``stop`` is set (errors are logged and retried)."""
        next_reconcile = time.monotonic() + reconcile_interval if reconcile_interval > 0 else None
        while not stop.wait(health_interval if self.controls else 0.2):
            try:
                if self.controls:
                    self.poll_health()
            except Exception:
                LOG.exception("controller: re-planning after a health change failed")
            if next_reconcile is not None and time.monotonic() >= next_reconcile:
                try:
                    self.reconcile()
                except Exception:
                    LOG.exception("controller: reconcile failed")
                next_reconcile = time.monotonic() + reconcile_interval

    # -- rules (northbound writes) ----------------------------------------------------------------

    def _writable(self, token: Token, switch: str) -> None:
        if not token.write:
            raise AccessError(f"token {token.name} may not change rules (read-only)")
        if not token.may_see(switch):
            raise AccessError(
                f"token {token.name} may change rules only on {', '.join(sorted(token.switches))}"
                f" (not {switch})"
            )

    def _find(self, raw: Mapping[str, Any], name: str, token: Token) -> tuple[str, int]:
        switch = self._index.get(name)
        if switch is not None and token.may_see(switch):
            for i, obj in enumerate(raw["subscribers"].get(switch, ())):
                if obj["name"] == name:
                    return switch, i
        raise NotFoundError(f"no rule {name!r}")

    def _change(
        self,
        token: Token,
        kind: str,
        name: str,
        edit: Callable[[dict[str, Any]], str | None],
    ) -> tuple[Change, dict[str, Any]]:
        """``edit(raw)`` changes rule ``name`` in a copy of the desired policy and returns the
        switch the rule is on afterwards (None: removed)."""
        with self._lock:
            raw = _copy_policy(self.raw)
            before = self._index.get(name)
            switches: set[str] = set()
            reason = f"{kind} {name} by {token.name}"
            try:
                sub = edit(raw)
                raw["subscribers"] = {k: v for k, v in raw["subscribers"].items() if v}
                switches = {s for s in (before, sub) if s is not None}
                policy = self._policy_with(raw, name, sub)
                unknown = sorted(set(switches) - set(self.topology.switches))
                if unknown:
                    raise PolicyError(
                        f"rule {name}: subscriber {', '.join(unknown)} is not a switch of the"
                        " topology"
                    )
            except WphwError as exc:
                self.store.add_event(
                    kind=kind,
                    reason=reason,
                    result="refused",
                    error=f"{type(exc).__name__}: {exc}",
                    actor=token.name,
                    switches=tuple(switches),
                    policy_version=self.version,
                )
                raise
            new_obj = (
                next(o for o in raw["subscribers"][sub] if o["name"] == name)
                if sub is not None
                else None
            )
            change = self._install(
                policy,
                raw,
                kind=kind,
                reason=reason,
                actor=token.name,
                switches=switches,
                changed_rules=[name],
                failed=self.ctl.failed,
                policy_change={name: (sub, new_obj) if sub is not None and new_obj else None},
            )
            if sub is None:
                self._index.pop(name, None)
            else:
                self._index[name] = sub
            row = next(
                (r for r in rule_rows({"subscribers": {sub: raw["subscribers"][sub]}})
                 if r["name"] == name),
                {},
            ) if sub is not None else {}  # fmt: skip
            return change, row

    def _policy_with(self, raw: Mapping[str, Any], name: str, switch: str | None) -> Policy:
        """The Policy of ``raw``, which differs from the installed one in rule ``name`` only
        (now on ``switch``; None: removed): that rule is parsed and put into the installed
        Policy (``Policy.with_rule``: checked against its switch's rules only; parsing and
        checking 10,000 rules again for every change costs more than compiling one)."""
        head = {k: v for k, v in raw.items() if k != "subscribers"}
        parsed = None
        if switch is not None:
            obj = next(o for o in raw["subscribers"][switch] if o.get("name") == name)
            parsed = policy_from_dict({**head, "subscribers": {switch: [obj]}}, "rule").rules[0]
        p = self.ctl.policy
        if parsed is None and len(p.rules) <= 1:
            raise PolicyError(f"rule {name}: the policy would have no rules")
        return p.with_rule(name, parsed, source=f"rule {name}")

    def add_rule(self, token: Token, body: Any) -> tuple[Change, dict[str, Any]]:
        name = str(body.get("name", "?")) if isinstance(body, Mapping) else "?"

        def edit(raw: dict[str, Any]) -> str | None:
            rule = _rule_body(body)
            self._writable(token, rule["subscriber"])
            if rule["name"] in self._index:
                raise PolicyError(f"rule {rule['name']}: a rule of that name exists")
            lst = raw["subscribers"].setdefault(rule["subscriber"], [])
            if "priority" not in rule:  # appended: below every rule of its switch
                lowest = min((r["priority"] for r in lst), default=1001)
                if lowest <= 1:
                    raise PolicyError(
                        f"rule {rule['name']}: give a priority (the lowest on"
                        f" {rule['subscriber']} is already 1)"
                    )
                rule["priority"] = lowest - 1
            lst.append({k: v for k, v in rule.items() if k != "subscriber"})
            return str(rule["subscriber"])

        return self._change(token, "rule-add", name, edit)

    def change_rule(self, token: Token, name: str, body: Any) -> tuple[Change, dict[str, Any]]:
        def edit(raw: dict[str, Any]) -> str | None:
            rule = _rule_body(body, name=name)
            switch, i = self._find(raw, name, token)
            self._writable(token, switch)
            self._writable(token, rule["subscriber"])
            old = raw["subscribers"][switch].pop(i)
            rule.setdefault("priority", old["priority"])
            raw["subscribers"].setdefault(rule["subscriber"], []).append(
                {k: v for k, v in rule.items() if k != "subscriber"}
            )
            return str(rule["subscriber"])

        return self._change(token, "rule-change", name, edit)

    def remove_rule(self, token: Token, name: str) -> tuple[Change, dict[str, Any]]:
        def edit(raw: dict[str, Any]) -> str | None:
            switch, i = self._find(raw, name, token)
            self._writable(token, switch)
            raw["subscribers"][switch].pop(i)
            if not any(raw["subscribers"].values()):
                raise PolicyError(f"rule {name}: the last rule cannot be removed")
            return None

        return self._change(token, "rule-remove", name, edit)

    # -- reads ---------------------------------------------------------------------------------

    def rules(self, token: Token) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in rule_rows(self.raw) if token.may_see(r["subscriber"])]

    def rule(self, token: Token, name: str) -> dict[str, Any]:
        for r in self.rules(token):
            if r["name"] == name:
                return r
        raise NotFoundError(f"no rule {name!r}")

    def policy_dict(self, token: Token) -> dict[str, Any]:
        with self._lock:
            raw = _copy_policy(self.raw)
        raw["subscribers"] = {k: v for k, v in raw["subscribers"].items() if token.may_see(k)}
        return raw

    def visible_spis(self, token: Token) -> set[int] | None:
        """The SPIs of the paths a tenant's rules use (None: everything is visible)."""
        if not token.tenant:
            return None
        plan = self.ctl.plan
        if plan is None:
            return set()
        return {
            p.spi
            for p in plan.paths
            if p.subscriber in token.switches or set(p.shared_by) & token.switches
        }

    def paths(self, token: Token) -> list[dict[str, Any]]:
        plan = self.ctl.plan
        if plan is None:
            return []
        spis = self.visible_spis(token)
        by_spi: dict[int, list[str]] = {}
        for b in plan.bindings:
            if token.may_see(b.subscriber) and b.spi is not None:
                for spi in range(b.spi, b.spi + max(b.paths, 1)):
                    by_spi.setdefault(spi, []).append(b.rule)
        return [
            {
                "spi": p.spi,
                "subscriber": p.subscriber,
                "final": p.final,
                "switches": list(p.switches),
                "shared_by": [s for s in p.shared_by if token.may_see(s)],
                "rules": sorted(by_spi.get(p.spi, [])),
                "hops": [
                    {"service": h.service, "pe": h.pe, "switch": h.switch, "si": h.si}
                    for h in p.hops
                ],
            }
            for p in plan.paths
            if spis is None or p.spi in spis
        ]

    def health(self) -> list[dict[str, Any]]:
        out = []
        for wp_name, wp in sorted(self.topology.waypoints.items()):
            watched = wp_name in self.controls
            for pe in wp.pes:
                out.append(
                    {
                        "pe": pe,
                        "waypoint": wp_name,
                        "watched": watched,
                        "up": pe not in self.ctl.failed,
                        "misses": self._miss.get(wp_name, 0),
                    }
                )
        return out

    def status(self) -> dict[str, Any]:
        plan = self.ctl.plan
        c = self.last_change
        return {
            "policy_version": self.version,
            "rules": len(self._index),
            "switches": sorted(self.topology.switches),
            "entries": plan.entry_count() if plan is not None else 0,
            "paths": len(plan.paths) if plan is not None else 0,
            "failed_pes": sorted(self.ctl.failed),
            "applies": self.applies,
            "reconcile_repairs": self.repairs,
            "tenant_roles": self.roles_granted(),
            "last_change": None
            if c is None
            else {
                "reason": c.reason,
                "compile_s": c.compile_s - c.verify_s,
                "verify_s": c.verify_s,
                "apply_s": c.apply_s,
                "contexts_s": c.contexts_s,
                "written": c.written,
                "incremental": c.incremental,
                "compiled_incrementally": c.compiled_incrementally,
                "full_compile_reason": c.full_compile_reason,
                "delta_apply": c.delta_apply,
                "delta_fallback": c.delta_fallback,
                "store_s": c.store_s,
            },
        }

    def roles_granted(self) -> dict[str, dict[str, bool]]:
        """Switch → tenant role → granted by the switch (``--tenant-roles``; empty without)."""
        fabric = getattr(self.installer, "fabric", self.installer)
        granted = getattr(fabric, "roles_granted", None)
        return dict(granted()) if callable(granted) else {}

    def events(self, token: Token, *, limit: int = 100, since: int = 0) -> list[Event]:
        if token.tenant:
            return self.store.events(
                limit=limit, since=since, actor=token.name, switches=sorted(token.switches)
            )
        return self.store.events(limit=limit, since=since)

    def _counted(self, plan: Plan) -> tuple[dict[tuple[str, int], str], dict[str, set[str]]]:
        """For ``plan`` (kept until the plan changes): (subscriber, priority) → rule name(s),
        and switch → the tables it holds entries of (only those are read for counters)."""
        cached = self._counted_cache
        if cached is not None and cached[0] is plan:
            return cached[1], cached[2]
        names: dict[tuple[str, int], str] = {}
        for b in plan.bindings:
            key = (b.subscriber, b.priority)
            names[key] = f"{names[key]}/{b.rule}" if key in names else b.rule
        tables = {
            sw: {e.table for e in plan.entries_for(sw) if not e.is_default} for sw in plan.entries
        }
        self._counted_cache = (plan, names, tables)
        return names, tables

    def counters(
        self,
        token: Token,
        read: Callable[[str, str], Any],
        *,
        hops: bool = True,
        read_many: Callable[[Sequence[str], str], Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Per-rule (wp_classify) and per-hop (wp_sff) counters, read with ``read(switch,
        table)`` → ``[(entry, packets, bytes)]`` (``Fabric.read_direct_counters``), or all
        switches at once with ``read_many(switches, table)`` (``read_direct_counters_many``).
        Only the switches whose installed plan has entries in the table are read; ``hops``
        False: the per-rule counters only (half the Reads)."""
        plan = self.ctl.plan
        if plan is None:
            return {"rules": [], "hops": []}
        names, tables = self._counted(plan)
        spis = self.visible_spis(token)

        def read_all(switches: list[str], table: str) -> Mapping[str, Any]:
            if read_many is not None:
                return read_many(switches, table)
            return {sw: read(sw, table) for sw in switches}

        switches = sorted(self.topology.switches)
        rule_sws = [
            sw for sw in switches if token.may_see(sw) and "wp_classify" in tables.get(sw, ())
        ]
        hop_sws: list[str] = []
        if hops:
            on_paths = (
                None
                if spis is None
                else {sw for p in plan.paths if p.spi in spis for sw in p.switches}
            )
            hop_sws = [
                sw
                for sw in switches
                if "wp_sff" in tables.get(sw, ()) and (on_paths is None or sw in on_paths)
            ]
        rules, hop_rows = [], []
        for sw, got in sorted(read_all(rule_sws, "wp_classify").items()):
            for entry, packets, octets in got:
                rule = names.get((sw, entry.priority))
                if rule is None and token.tenant:
                    continue
                rules.append(
                    {
                        "switch": sw,
                        "rule": rule or "",
                        "priority": entry.priority,
                        "packets": packets,
                        "bytes": octets,
                    }
                )
        for sw, got in sorted(read_all(hop_sws, "wp_sff").items()):
            for entry, packets, octets in got:
                m = entry.match_dict()
                spi, si = getattr(m.get("spi"), "value", None), getattr(m.get("si"), "value", None)
                if not isinstance(spi, int) or not isinstance(si, int):
                    continue
                if spis is not None and spi not in spis:
                    continue
                hop_rows.append(
                    {
                        "switch": sw,
                        "spi": spi,
                        "si": si,
                        "action": entry.action.name,
                        "packets": packets,
                        "bytes": octets,
                    }
                )
        return {"rules": rules, "hops": hop_rows}


def _where(raw: Mapping[str, Any]) -> dict[str, str]:
    """Rule name → its subscriber switch."""
    return {obj["name"]: switch for switch, rules in raw["subscribers"].items() for obj in rules}


def _copy_policy(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A copy whose rule lists may be edited (the rule dicts themselves are never changed in
    place: an edit replaces them)."""
    return {**raw, "subscribers": {k: list(v) for k, v in raw["subscribers"].items()}}


def _is_write_error(exc: BaseException) -> bool:
    from wphw.errors import SwitchConnectionError, WriteError

    return isinstance(exc, WriteError | SwitchConnectionError)
