"""Incremental compile: a policy change → the new Plan, touching only what the change touches.

``compile(policy, topology, previous=plan)`` recompiles every rule and every service path (and
the routes to every host) for any change: on a 980-switch fat tree with 10,000 rules that is
seconds for one added rule. :class:`IncrementalCompiler` keeps what that compile derived per
rule (its PE choice and service-path group), per group (its SPI) and per switch (the sorted
entries), and for a change of a few rules recomputes only

* the changed rules' ``wp_classify`` entries on their subscriber switches,
* the service paths that appear (a group no previous rule used: fresh SPIs, allocated exactly
  as ``compile`` allocates them) or disappear (the last rule using it went), with their
  ``wp_sff``/in-switch entries on the switches along them and their waypoint contexts,
* the bindings of the changed rules;

every other switch's entries, path, binding and context is the previous plan's. The result is
the plan ``compile(new_policy, topology, previous=old_plan, failed_pes=...)`` returns, entry for
entry (tests/test_plan_incremental.py holds it to that over random policies and random
add/remove/change sequences); ``update`` also says which switches changed, so nothing needs to
compare 400,000 entries to find them.

It refuses (raises :class:`NotIncremental`, and the caller compiles in full) when the change is
of a kind it does not do:

* anything but rules changed: services, metric, chain end, the failed PEs, the topology;
* ``chain_end: last-pe`` policies (whether a chain may end at its last PE depends on every other
  subscriber's service rules, and shared paths change their entry switches);
* a PE loaded to its capacity (then one rule's choice depends on the order rules are placed in);
* a path through a legacy (NSH-unaware) PE appearing or disappearing (its proxy VLANs are
  numbered in SPI order over the whole plan);
* a changed rule ``compile`` would refuse (the full compile then raises its own error), a
  service no rule used before (its parameters are checked on first use), FPGA waypoints whose
  registers the plan manages (their dispatch rows are computed over the whole plan).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import wphw.p4names as P4
from wphw._gc import gc_paused
from wphw.entries import Action, TableEntry
from wphw.errors import WphwError
from wphw.plan import (
    _TABLE_ORDER,
    Plan,
    RuleBinding,
    ServicePath,
    WaypointContext,
    _Builder,
    _Candidates,
    _choose_instances,
    _emit_path,
    _GroupKey,
    classify_match,
    final_classifier_action,
)
from wphw.policy import ChainEnd, Policy, Rule
from wphw.topology import PEKind, Topology


class NotIncremental(Exception):
    """This change cannot be compiled incrementally; ``str(exc)`` says why. Compile in full."""


def entry_sort_key(e: TableEntry) -> tuple[Any, ...]:
    """The order of ``plan._ordered`` (unique per entry key for the entries compile emits)."""
    match = tuple((k, *(getattr(v, f) for f in v.__slots__)) for k, v in e.match)
    return (_TABLE_ORDER.get(e.table, 99), e.table, -e.priority, match)


def _binding_key(b: RuleBinding) -> tuple[str, int, str]:
    return (b.subscriber, -b.priority, b.rule)


def _context_key(c: WaypointContext) -> tuple[str, int, int]:
    return (c.waypoint, c.spi, c.si)


class Update(NamedTuple):
    """An incremental compile's result: the plan, the switches whose entries changed, and per
    changed switch the entries that went (or changed) and those that came (or changed)."""

    plan: Plan
    changed: frozenset[str]
    delta: dict[str, tuple[tuple[TableEntry, ...], tuple[TableEntry, ...]]]
    # what else changed: paths (SPIs gone, paths come), bindings (every changed rule's goes;
    # those of the rules still there come), waypoint contexts ((waypoint, spi, si) gone, come)
    spis_gone: frozenset[int] = frozenset()
    paths_new: tuple[ServicePath, ...] = ()
    rules: frozenset[str] = frozenset()
    bindings_new: tuple[RuleBinding, ...] = ()
    contexts_gone: frozenset[tuple[str, int, int]] = frozenset()
    contexts_new: tuple[WaypointContext, ...] = ()


@dataclass(slots=True)
class _RuleInfo:
    rule: Rule
    key: _GroupKey | None  # its service-path group (None: no chain)
    blocked: bool
    skipped: tuple[str, ...]


@dataclass(slots=True)
class _Emitted:
    """What one group's paths put into a plan."""

    paths: list[ServicePath]
    entries: dict[str, list[TableEntry]]
    contexts: list[WaypointContext]


@dataclass(slots=True)
class _Pending:
    """A computed update, not yet the compiler's state (``commit`` makes it so)."""

    plan: Plan
    policy: Policy
    rules: dict[str, _RuleInfo | None]
    members: dict[_GroupKey, int]
    spi_of: dict[_GroupKey, int | None]
    rep: dict[_GroupKey, Rule]
    load: dict[str, int]
    sw_keys: dict[str, list[tuple[Any, ...]]]
    path_spis: list[int]
    binding_keys: list[tuple[str, int, str]]
    context_keys: list[tuple[str, int, int]]
    changed: frozenset[str]


@dataclass(slots=True)
class IncrementalCompiler:
    """See the module docstring. Build it from a plan ``compile`` returned
    (:meth:`from_plan`); ``update(policy, changed_rules)`` gives the next plan and the switches
    it changed; ``commit()`` makes that plan the base of the next update (an update that is
    not committed — refused by the verifier, failed on the switches — leaves the base as it
    was)."""

    topology: Topology
    policy: Policy
    failed: frozenset[str]
    plan: Plan
    rules: dict[str, _RuleInfo]
    members: dict[_GroupKey, int]
    spi_of: dict[_GroupKey, int]
    rep: dict[_GroupKey, Rule]  # one rule of each group (its final action, error messages)
    load: dict[str, int]
    used_services: frozenset[str]
    path_spis: list[int]
    binding_keys: list[tuple[str, int, str]]
    context_keys: list[tuple[str, int, int]]
    # sort keys of plan.entries[switch], computed when a switch is first touched
    sw_keys: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    cand_cache: dict[tuple[str, str], _Candidates] = field(default_factory=dict)
    service_params: dict[tuple[str, str], Any] = field(default_factory=dict)
    pending: _Pending | None = None

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def from_plan(
        cls, plan: Plan, policy: Policy, topology: Topology, failed_pes: Iterable[str] = ()
    ) -> IncrementalCompiler:
        """The compiler state of ``plan``, which ``compile(policy, topology, failed_pes=...)``
        returned (with or without ``previous``). O(rules); the entries are not looked at until
        a change touches their switch. Raises NotIncremental when ``plan`` is not one this
        class can continue from (see the module docstring) or does not match the policy."""
        failed = frozenset(failed_pes)
        _check_head(policy)
        if plan.register_writes:
            raise NotIncremental("the plan writes FPGA registers (computed over the whole plan)")
        self = cls(
            topology=topology,
            policy=policy,
            failed=failed,
            plan=plan,
            rules={},
            members={},
            spi_of={},
            rep={},
            load={},
            used_services=frozenset(s for r in policy.rules for s in r.services),
            path_spis=[p.spi for p in plan.paths],
            binding_keys=[_binding_key(b) for b in plan.bindings],
            context_keys=[_context_key(c) for c in plan.contexts],
        )
        if self.path_spis != sorted(self.path_spis) or self.binding_keys != sorted(
            self.binding_keys
        ):
            raise NotIncremental("the plan's paths or bindings are not in compile's order")
        bindings = {b.rule: b for b in plan.bindings}
        if len(bindings) != len(policy.rules):
            raise NotIncremental("the plan's bindings are not the policy's rules")
        for rule in policy.rules:
            try:
                info = self._choose(rule)
            except WphwError as exc:
                raise NotIncremental(f"rule {rule.name}: {exc}") from None
            self.rules[rule.name] = info
            b = bindings.get(rule.name)
            if b is None:
                raise NotIncremental(f"rule {rule.name} has no binding in the plan")
            if info.key is not None:
                if b.spi is None:
                    raise NotIncremental(f"rule {rule.name}: the plan gives it no path")
                spi = self.spi_of.setdefault(info.key, b.spi)
                if spi != b.spi:
                    raise NotIncremental(f"rule {rule.name}: its group has two SPIs")
                if self.members.get(info.key, 0) == 0:
                    _add_load(self.load, info.key, 1)
                    self.rep[info.key] = rule
                self.members[info.key] = self.members.get(info.key, 0) + 1
            if b != self._binding(info):
                raise NotIncremental(
                    f"rule {rule.name}: the plan's binding differs from its own choice"
                    " (the plan was compiled with PEs at capacity?)"
                )
        self._check_capacity(self.load)
        spis = sorted(
            spi + j for key, spi in self.spi_of.items() for j in range(len(key.alternatives))
        )
        if spis != self.path_spis:
            raise NotIncremental("the plan's paths are not its groups' paths")
        return self

    # -- one rule ------------------------------------------------------------------------------

    def _choose(self, rule: Rule) -> _RuleInfo:
        """Step 1 of compile for one rule, with no PE load (the plan has none at capacity)."""
        policy, topology = self.policy, self.topology
        chosen: list[tuple[str, tuple[str, ...]]] = []
        skip: list[str] = []
        blocked = False
        if rule.services:
            for service in rule.services:
                pes = _choose_instances(
                    policy,
                    topology,
                    rule,
                    service,
                    self.failed,
                    {},
                    policy.metric,
                    self.cand_cache,
                )
                if not pes:
                    if policy.spec(service).failure.value == "bypass":
                        skip.append(service)
                        continue
                    blocked = True
                    break
                chosen.append((service, pes))
        key = None
        if not blocked and chosen:
            k = max(len(pes) for _, pes in chosen)
            key = _GroupKey(
                subscriber=rule.subscriber,
                alternatives=tuple(
                    tuple((service, pes[j % len(pes)]) for service, pes in chosen) for j in range(k)
                ),
                final=str(rule.final),
            )
        return _RuleInfo(
            rule=rule, key=key, blocked=blocked, skipped=tuple(skip) if rule.services else ()
        )

    def _binding(
        self, info: _RuleInfo, spi_of: Mapping[_GroupKey, int | None] | None = None
    ) -> RuleBinding:
        rule = info.rule
        if info.blocked:
            return RuleBinding(
                rule=rule.name, subscriber=rule.subscriber, priority=rule.priority, action="drop"
            )
        if info.key is None:
            return RuleBinding(
                rule=rule.name,
                subscriber=rule.subscriber,
                priority=rule.priority,
                action=final_classifier_action(rule.final).name,
                skipped=info.skipped,
            )
        spi = (spi_of or self.spi_of).get(info.key)
        if spi is None:
            spi = self.spi_of[info.key]
        return RuleBinding(
            rule=rule.name,
            subscriber=rule.subscriber,
            priority=rule.priority,
            action="start_chain",
            spi=spi,
            paths=len(info.key.alternatives),
            skipped=info.skipped,
        )

    def _classify_entry(self, info: _RuleInfo, spi: int | None) -> TableEntry:
        rule = info.rule
        if info.blocked:
            action = Action.of("drop")
        elif info.key is None:
            action = final_classifier_action(rule.final)
        else:
            assert spi is not None
            action = Action.of("start_chain", spi=spi, paths=len(info.key.alternatives))
        return TableEntry.of(
            P4.WP_CLASSIFY, classify_match(rule.match), action, priority=rule.priority
        )

    def _check_rule(self, rule: Rule) -> None:
        """compile's per-rule checks (_check_policy_against_topology); a failure → full
        compile, which raises its own error."""
        topology = self.topology
        if rule.subscriber not in topology.switches:
            raise NotIncremental(f"rule {rule.name}: unknown subscriber")
        known = topology.services()
        if any(s not in known for s in rule.services):
            raise NotIncremental(f"rule {rule.name}: a service no PE offers")
        if any(s not in self.used_services for s in rule.services):
            raise NotIncremental(f"rule {rule.name}: a service no rule used before")
        ports = set(topology.ports(rule.subscriber))
        for port in (rule.match.in_port, rule.final.port):
            if port is not None and port not in ports:
                raise NotIncremental(f"rule {rule.name}: a port its switch does not have")

    def _check_capacity(self, load: Mapping[str, int], pes: Iterable[str] | None = None) -> None:
        for pe in load if pes is None else pes:
            if load.get(pe, 0) >= self.topology.pes[pe].capacity:
                raise NotIncremental(f"PE {pe} is at its capacity ({load[pe]} contexts)")

    def _emit(self, key: _GroupKey, spi: int, rule: Rule) -> _Emitted:
        """compile's step 3 for one group (chain_end subscriber: not shared)."""
        for alt in key.alternatives:
            for _, pe in alt:
                if self.topology.pes[pe].kind is PEKind.LEGACY:
                    raise NotIncremental(
                        f"a path through legacy PE {pe} (proxy VLANs are numbered plan-wide)"
                    )
        b = _Builder(topology=self.topology, policy=self.policy, metric=self.policy.metric)
        b.service_params = self.service_params
        paths = [
            _emit_path(b, spi + j, (key.subscriber,), alt, rule.final, rule, False)
            for j, alt in enumerate(key.alternatives)
        ]
        return _Emitted(
            paths=paths,
            entries={sw: list(tbl.values()) for sw, tbl in b.entries.items()},
            contexts=b.contexts,
        )

    # -- updating ------------------------------------------------------------------------------

    def update(self, policy: Policy, changed_rules: Iterable[str] | None = None) -> Update:
        """The plan of ``policy`` (equal to ``compile(policy, topology, previous=self.plan,
        failed_pes=self.failed)``), the switches whose entries differ from ``self.plan`` and
        what differs on each (:class:`Update`).

        ``changed_rules``: the names of every rule added, changed or removed (None: found by
        comparing the policies, O(rules)). Raises NotIncremental (nothing changed) when the
        change needs a full compile. The result becomes the base of the next update only
        after :meth:`commit`. Runs with the cyclic GC paused, as compile does (a collection
        over a 10,000-rule plan's objects takes seconds)."""
        with gc_paused():
            return self._update(policy, changed_rules)

    def _update(self, policy: Policy, changed_rules: Iterable[str] | None) -> Update:
        self.pending = None
        old = self.policy
        if policy.services != old.services or policy.metric != old.metric:
            raise NotIncremental("the policy's services or metric changed")
        if policy.chain_end is not old.chain_end:
            raise NotIncremental("the policy's chain end changed")
        new_rules: dict[str, Rule]
        if changed_rules is None:
            names: set[str] = set()
            seen: set[str] = set()
            new_rules = {}
            for r in policy.rules:
                seen.add(r.name)
                info = self.rules.get(r.name)
                if info is None or (info.rule is not r and info.rule != r):
                    names.add(r.name)
                    new_rules[r.name] = r
            names.update(n for n in self.rules if n not in seen)
        else:
            names = set(changed_rules)
            new_rules = {r.name: r for r in policy.rules if r.name in names}
            if len(policy.rules) != len(self.rules) + sum(
                (n in new_rules) - (n in self.rules) for n in names
            ):
                raise NotIncremental("changed_rules does not name every rule that changed")

        members = self.members
        d_members: dict[_GroupKey, int] = {}
        new_infos: dict[str, _RuleInfo | None] = {}
        # per switch: entry sort keys to remove, entries to add
        removes: dict[str, list[tuple[Any, ...]]] = {}
        adds: dict[str, list[TableEntry]] = {}
        for name in sorted(names):
            before = self.rules.get(name)
            if before is not None:
                removes.setdefault(before.rule.subscriber, []).append(
                    entry_sort_key(
                        self._classify_entry(
                            before,
                            self.spi_of.get(before.key) if before.key is not None else None,
                        )
                    )
                )
                if before.key is not None:
                    d_members[before.key] = d_members.get(before.key, 0) - 1
            rule = new_rules.get(name)
            if rule is None:
                new_infos[name] = None
                continue
            self._check_rule(rule)
            try:
                info = self._choose(rule)
            except WphwError as exc:
                raise NotIncremental(f"rule {name}: {exc}") from None
            new_infos[name] = info
            if info.key is not None:
                d_members[info.key] = d_members.get(info.key, 0) + 1

        # groups that go and groups that come
        gone: list[_GroupKey] = []
        fresh: list[_GroupKey] = []
        new_members: dict[_GroupKey, int] = {}
        for key, d in d_members.items():
            n = members.get(key, 0) + d
            new_members[key] = n
            if n == 0 and key in self.spi_of:
                gone.append(key)
            elif n > 0 and key not in self.spi_of:
                fresh.append(key)
        load = dict(self.load)
        for key in gone:
            _add_load(load, key, -1)
        for key in fresh:
            _add_load(load, key, 1)
        self._check_capacity(
            load, {pe for key in fresh for alt in key.alternatives for _, pe in alt}
        )

        # fresh SPIs, as compile allocates them: in the order of each group's first rule
        def first_rule(key: _GroupKey) -> Rule:
            return min(
                (i.rule for i in new_infos.values() if i is not None and i.key == key),
                key=lambda r: (r.subscriber, -r.priority, r.name),
            )

        firsts = {key: first_rule(key) for key in fresh}
        fresh.sort(key=lambda k: (firsts[k].subscriber, -firsts[k].priority, firsts[k].name))
        prev_used = self.path_spis  # sorted
        used_set = set(prev_used)
        taken: set[int] = set()
        spi_of: dict[_GroupKey, int | None] = {key: None for key in gone}
        nxt = 1
        for key in fresh:
            n = len(key.alternatives)
            while any(s in used_set or s in taken for s in range(nxt, nxt + n)):
                nxt += 1
            spi_of[key] = nxt
            taken.update(range(nxt, nxt + n))
            nxt += n

        # entries: classifiers of the changed rules, paths of the groups that come and go
        for info in new_infos.values():
            if info is not None:
                spi = None
                if info.key is not None:
                    spi = spi_of.get(info.key) or self.spi_of.get(info.key)
                adds.setdefault(info.rule.subscriber, []).append(self._classify_entry(info, spi))
        path_removed: set[int] = set()
        ctx_removed: set[tuple[str, int, int]] = set()
        path_added: list[ServicePath] = []
        ctx_added: list[WaypointContext] = []
        try:
            for key in gone:
                spi = self.spi_of[key]
                em = self._emit(key, spi, self.rep[key])
                for sw, es in em.entries.items():
                    removes.setdefault(sw, []).extend(entry_sort_key(e) for e in es)
                path_removed.update(p.spi for p in em.paths)
                ctx_removed.update(_context_key(c) for c in em.contexts)
            for key in fresh:
                spi_new = spi_of[key]
                assert spi_new is not None
                em = self._emit(key, spi_new, firsts[key])
                for sw, es in em.entries.items():
                    adds.setdefault(sw, []).extend(es)
                path_added.extend(em.paths)
                ctx_added.extend(em.contexts)
        except WphwError as exc:  # a path compile refuses: the full compile says why
            raise NotIncremental(str(exc)) from None

        # per switch: the sorted entries, edited
        entries = dict(self.plan.entries)
        sw_keys: dict[str, list[tuple[Any, ...]]] = {}
        changed: set[str] = set()
        delta: dict[str, tuple[tuple[TableEntry, ...], tuple[TableEntry, ...]]] = {}
        for sw in set(removes) | set(adds):
            old_es = self.plan.entries.get(sw, ())
            keys = self._keys(sw)
            ks, es = list(keys), list(old_es)
            went: list[TableEntry] = []
            for k in removes.get(sw, ()):
                i = bisect.bisect_left(ks, k)
                if i == len(ks) or ks[i] != k:
                    raise NotIncremental(f"{sw}: an entry to remove is not in the plan")
                went.append(es[i])
                del ks[i], es[i]
            for e in adds.get(sw, ()):
                k = entry_sort_key(e)
                i = bisect.bisect_left(ks, k)
                if i < len(ks) and ks[i] == k:
                    raise NotIncremental(f"{sw}: two entries with one key ({e.table})")
                ks.insert(i, k)
                es.insert(i, e)
            new_es = tuple(es)
            if new_es != old_es:
                changed.add(sw)
                delta[sw] = (tuple(went), tuple(adds.get(sw, ())))
            if new_es:
                entries[sw] = new_es
            else:
                entries.pop(sw, None)
            sw_keys[sw] = ks

        # paths, bindings, contexts: the previous plan's, edited in order
        paths = list(self.plan.paths)
        path_spis = list(self.path_spis)
        for spi in sorted(path_removed, reverse=True):
            i = bisect.bisect_left(path_spis, spi)
            del paths[i], path_spis[i]
        for p in path_added:
            i = bisect.bisect_left(path_spis, p.spi)
            paths.insert(i, p)
            path_spis.insert(i, p.spi)
        bindings = list(self.plan.bindings)
        binding_keys = list(self.binding_keys)
        new_bindings: list[RuleBinding] = []
        for name in names:
            before = self.rules.get(name)
            if before is not None:
                k = (before.rule.subscriber, -before.rule.priority, name)
                i = bisect.bisect_left(binding_keys, k)
                del bindings[i], binding_keys[i]
        for name, info in new_infos.items():
            if info is not None:
                k = (info.rule.subscriber, -info.rule.priority, name)
                i = bisect.bisect_left(binding_keys, k)
                nb = self._binding(info, spi_of)
                new_bindings.append(nb)
                bindings.insert(i, nb)
                binding_keys.insert(i, k)
        contexts = list(self.plan.contexts)
        context_keys = list(self.context_keys)
        for ck in sorted(ctx_removed, reverse=True):
            i = bisect.bisect_left(context_keys, ck)
            del contexts[i], context_keys[i]
        for c in ctx_added:
            ck = _context_key(c)
            i = bisect.bisect_left(context_keys, ck)
            contexts.insert(i, c)
            context_keys.insert(i, ck)

        plan = Plan(
            entries=entries,
            paths=tuple(paths),
            bindings=tuple(bindings),
            contexts=tuple(contexts),
            metric=self.plan.metric,
        )
        self.pending = _Pending(
            plan=plan,
            policy=policy,
            rules=new_infos,
            members=new_members,
            spi_of=spi_of,
            rep=firsts,
            load=load,
            sw_keys=sw_keys,
            path_spis=path_spis,
            binding_keys=binding_keys,
            context_keys=context_keys,
            changed=frozenset(changed),
        )
        return Update(
            plan,
            frozenset(changed),
            delta,
            spis_gone=frozenset(path_removed),
            paths_new=tuple(path_added),
            rules=frozenset(names),
            bindings_new=tuple(new_bindings),
            contexts_gone=frozenset(ctx_removed),
            contexts_new=tuple(ctx_added),
        )

    def commit(self, plan: Plan | None = None) -> None:
        """Make the last update's plan the base (``plan``: check it is that one)."""
        p = self.pending
        if p is None or (plan is not None and plan is not p.plan):
            raise ValueError("commit: no such pending update")
        self.pending = None
        for name, info in p.rules.items():
            if info is None:
                self.rules.pop(name, None)
            else:
                self.rules[name] = info
        for key, n in p.members.items():
            if n:
                self.members[key] = n
            else:
                self.members.pop(key, None)
        for key, spi in p.spi_of.items():
            if spi is None:
                self.spi_of.pop(key, None)
                self.rep.pop(key, None)
            else:
                self.spi_of[key] = spi
        self.rep.update(p.rep)
        self.load = p.load
        self.sw_keys.update(p.sw_keys)
        self.path_spis = p.path_spis
        self.binding_keys = p.binding_keys
        self.context_keys = p.context_keys
        self.plan = p.plan
        self.policy = p.policy

    # -- helpers -------------------------------------------------------------------------------

    def _keys(self, switch: str) -> list[tuple[Any, ...]]:
        keys = self.sw_keys.get(switch)
        if keys is None:
            keys = self.sw_keys[switch] = [
                entry_sort_key(e) for e in self.plan.entries.get(switch, ())
            ]
        return keys


def _add_load(load: dict[str, int], key: _GroupKey, sign: int) -> None:
    for alt in key.alternatives:
        for _, pe in alt:
            load[pe] = load.get(pe, 0) + sign


def _check_head(policy: Policy) -> None:
    if policy.chain_end is ChainEnd.LAST_PE:
        raise NotIncremental(
            "chain_end last-pe (whether a chain may end at its last PE depends on every"
            " subscriber's rules)"
        )


__all__ = ["IncrementalCompiler", "NotIncremental", "Update", "entry_sort_key"]
