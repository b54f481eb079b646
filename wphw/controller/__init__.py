"""The controller: desired state → plan → verify → install; PE health and failover.

``Controller`` keeps the installed plan. Every change — a new policy, a PE that died or came
back — is compiled against the installed plan (``compile(..., previous=installed)``), so
unchanged service paths keep their SPIs and new or changed ones get fresh SPIs; the plan is
verified by packet walks before anything is written (a plan that breaks its policy is never
installed); then ``Fabric.apply`` writes the difference make-before-break: new paths first,
then the classifier flips, then old paths go. Every packet therefore follows the old chain or
the new one, never a mix.

Health: a waypoint's PEs are alive while its control endpoint answers ``/health`` with
``ok`` (software waypoints and the co-simulated FPGA waypoint both serve it). A dead waypoint
makes all of its PEs failed; the next compile leaves them out, and each affected rule moves to
another instance or follows its service's failure mode (``bypass``: skip, ``block``: drop).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from wphw.errors import PEError, WriteError
from wphw.plan import Plan, WaypointContext, compile
from wphw.plan_incremental import IncrementalCompiler, NotIncremental, Update
from wphw.policy import Policy
from wphw.topology import Topology
from wphw.verify import Report, verify, verify_change

LOG = logging.getLogger("wphw.controller")


class Installer(Protocol):
    def apply(self, plan: Any) -> Any: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One reconfiguration: why, what failed, and how long compiling and installing took."""

    reason: str
    failed: frozenset[str]
    compile_s: float  # compile + verify
    apply_s: float  # the switches (and FPGA registers): installer.apply
    contexts_s: float  # waypoint contexts: old+new before, new after, each waited for
    entries: int
    result: str
    # switches whose entries differ from the previous plan (None: not compared, first install)
    changed_switches: frozenset[str] | None = None
    verify_s: float = 0.0  # the verify part of compile_s
    written: int = 0  # updates written (inserts + modifies + deletes), when the installer says
    incremental: bool = False  # verified with verify_change against the last report
    # compiled incrementally (wphw.plan_incremental); else why the full compile ran
    compiled_incrementally: bool = False
    full_compile_reason: str = ""
    # written as a delta to the changed switches only (no Read); False: read and diffed
    delta_apply: bool = False
    # a delta was tried and the change was applied with reads instead: why (else "")
    delta_fallback: str = ""
    state_s: float = 0.0  # keeping the incremental compiler's state (commit or rebuild)
    store_s: float = 0.0  # writing the change to the controller's database (wphw.controller)


def query_health(control: str, timeout: float = 0.3) -> bool:
    """True when the PE (or waypoint) control endpoint answers ``/health`` with ok."""
    from wphw.pe.runtime import query

    try:
        body = query(control, "/health", timeout=timeout)
    except (PEError, OSError, ValueError):
        return False
    return bool(isinstance(body, dict) and body.get("ok"))


class Controller:
    """Owns the installed plan of one topology; see the module docstring."""

    def __init__(
        self,
        topology: Topology,
        policy: Policy,
        installer: Installer,
        *,
        controls: Mapping[str, str] | None = None,
        alive: Callable[[str], bool] = query_health,
        publish_contexts: Callable[[Sequence[WaypointContext]], Any] | None = None,
    ) -> None:
        """``controls``: waypoint name → control endpoint (unix socket path or host:port).
        ``publish_contexts(rows)``: gives software waypoints their context table. Around an
        install it is called twice — old and new rows together before any switch is written,
        only the new rows once the old paths are gone — so a PE knows every path a packet in
        flight can be on (make-before-break, as for the switches)."""
        self.publish_contexts = publish_contexts
        self.topology = topology
        self.policy = policy
        self.installer = installer
        self.controls = dict(controls or {})
        self.alive = alive
        self.plan: Plan | None = None
        self.failed: frozenset[str] = frozenset()
        self.history: list[Change] = []
        # the last full (or chained incremental) verification report: verify_change's baseline
        self.report: Report | None = None
        # the incremental compiler's state for self.plan (None: the next change compiles in
        # full and builds it again)
        self.inc: IncrementalCompiler | None = None
        # the last install's incremental Update (None: it compiled in full)
        self.last_update: Update | None = None
        # the switches hold self.plan as far as the controller knows (False after a failed
        # apply: the next one reads them back)
        self.known = False
        self._lock = threading.RLock()

    def install(
        self,
        policy: Policy | None = None,
        *,
        reason: str = "install",
        failed: frozenset[str] | None = None,
        changed_rules: Sequence[str] | None = None,
    ) -> Change:
        """Compile (against the installed plan), verify, and apply. Raises on any failure, in
        which case the installed plan, policy and failed set are unchanged (the installer
        rolls a failed write back), so the next poll tries again.

        ``changed_rules``: the names of the rules added, changed or removed (as a northbound
        API knows them): the plan is then verified with ``verify_change`` against the last
        report, walking only the packet classes the change can affect (a full ``verify``
        when there is no report yet or the failed PEs changed)."""
        with self._lock:
            want_policy = self.policy if policy is None else policy
            want_failed = self.failed if failed is None else failed
            t0 = time.perf_counter()
            update = None
            reason_full = ""
            if changed_rules is None:
                reason_full = "not a rule change"
            elif want_failed != self.failed:
                reason_full = "the failed PEs changed"
            elif self.inc is None or self.inc.plan is not self.plan:
                reason_full = "no incremental state"
            else:
                try:
                    update = self.inc.update(want_policy, changed_rules)
                except NotIncremental as exc:
                    reason_full = str(exc)
            changed: frozenset[str] | None = None
            if update is not None:
                plan, changed = update.plan, update.changed
            else:
                if changed_rules is not None:
                    LOG.info("controller: full compile: %s", reason_full)
                plan = compile(
                    want_policy, self.topology, previous=self.plan, failed_pes=want_failed
                )
                if self.plan is not None:
                    prev = self.plan
                    changed = frozenset(
                        sw
                        for sw in set(plan.entries) | set(prev.entries)
                        if plan.entries_for(sw) != prev.entries_for(sw)
                    )
            tv = time.perf_counter()
            incremental = (
                changed_rules is not None
                and self.report is not None
                and self.plan is not None
                and want_failed == self.failed
            )
            if incremental:
                assert self.report is not None and self.plan is not None
                report = verify_change(
                    plan,
                    want_policy,
                    self.topology,
                    previous_plan=self.plan,
                    previous_policy=self.policy,
                    baseline=self.report,
                    failed_pes=want_failed,
                    changed_rules=changed_rules,
                    changed_switches=changed,
                )
            else:
                report = verify(plan, want_policy, self.topology, failed_pes=want_failed)
            report.raise_for_violations()
            t1 = time.perf_counter()
            if self.publish_contexts is not None:
                old = self.plan.contexts if self.plan is not None else ()
                self.publish_contexts(tuple(dict.fromkeys((*old, *plan.contexts))))
            t2 = time.perf_counter()
            apply_delta = getattr(self.installer, "apply_delta", None)
            delta_apply = update is not None and self.known and apply_delta is not None
            delta_fallback = ""
            self.known = False
            if delta_apply:
                assert update is not None and apply_delta is not None
                try:
                    result = apply_delta(plan, update.delta)
                    # what really ran: a switch lost mid-change makes it a full apply with
                    # reads (an installer that does not say wrote the delta it was given)
                    delta_apply = bool(getattr(result, "delta", True))
                    delta_fallback = "" if delta_apply else str(getattr(result, "fallback", ""))
                except WriteError as exc:
                    # the switches did not hold what was installed (someone changed them):
                    # read them back and write the difference
                    LOG.warning("controller: delta apply refused (%s); applying with reads", exc)
                    delta_apply = False
                    first = "; ".join(line.strip() for line in str(exc).split("\n", 2)[:2])
                    delta_fallback = f"delta refused ({first}); applied with reads"
                    result = self.installer.apply(plan)
                if not delta_apply:
                    LOG.warning(
                        "controller: %s: not written as a delta: %s", reason, delta_fallback
                    )
            else:
                result = self.installer.apply(plan)
            self.known = True
            t3 = time.perf_counter()
            if self.publish_contexts is not None:
                self.publish_contexts(plan.contexts)
            t4 = time.perf_counter()
            self.plan = plan
            self.policy = want_policy
            self.failed = want_failed
            self.report = report
            t5 = time.perf_counter()
            self.last_update = update
            if update is not None:
                assert self.inc is not None
                self.inc.commit(plan)
            else:
                try:
                    self.inc = IncrementalCompiler.from_plan(
                        plan, want_policy, self.topology, want_failed
                    )
                except NotIncremental as exc:
                    LOG.info("controller: rule changes will compile in full: %s", exc)
                    self.inc = None
            state_s = time.perf_counter() - t5
            change = Change(
                reason=reason,
                failed=self.failed,
                compile_s=t1 - t0,
                apply_s=t3 - t2,
                contexts_s=(t2 - t1) + (t4 - t3),
                entries=plan.entry_count(),
                result=str(result),
                verify_s=t1 - tv,
                changed_switches=changed,
                written=int(getattr(result, "written", 0)),
                incremental=incremental,
                compiled_incrementally=update is not None,
                full_compile_reason=reason_full,
                delta_apply=delta_apply,
                delta_fallback=delta_fallback,
                state_s=state_s,
            )
            self.history.append(change)
            LOG.info(
                "controller: %s: %d entries (compile+verify %.3f s, switches %.3f s,"
                " waypoint contexts %.3f s)",
                reason,
                change.entries,
                change.compile_s,
                change.apply_s,
                change.contexts_s,
            )
            return change

    def dead_pes(self) -> frozenset[str]:
        """PEs whose waypoint does not answer its health check."""
        dead: set[str] = set()
        for waypoint, control in sorted(self.controls.items()):
            if not self.alive(control):
                dead.update(self.topology.waypoints[waypoint].pes)
        return frozenset(dead)

    def poll(self) -> Change | None:
        """Check health once; when the set of failed PEs changed, re-plan and install."""
        dead = self.dead_pes()
        if dead == self.failed:
            return None
        gone, back = dead - self.failed, self.failed - dead
        parts = []
        if gone:
            parts.append(f"PE(s) {', '.join(sorted(gone))} failed")
        if back:
            parts.append(f"PE(s) {', '.join(sorted(back))} back")
        LOG.warning("controller: %s", "; ".join(parts))
        return self.install(reason="; ".join(parts), failed=dead)

    def watch(self, stop: threading.Event, interval: float = 0.1) -> threading.Thread:
        """Poll in a background thread every ``interval`` seconds until ``stop`` is set."""

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.poll()
                except Exception:  # keep watching; the failure is logged with its cause
                    LOG.exception("controller: re-planning failed")

        thread = threading.Thread(target=loop, name="wphw-controller", daemon=True)
        thread.start()
        return thread
