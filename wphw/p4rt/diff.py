"""Desired vs installed entries: ownership, ordered phases, and the diff as plain values.

**Ownership.** wphw owns every entry of the tables of docs/dataplane.md (``OWNED_TABLES``) that
exist in the switch's P4Info, and nothing else. ``apply`` deletes entries of owned tables that a
plan does not contain — including entries someone else put there — and never touches other
tables. Default entries are only changed when a plan has an ``is_default`` entry for the table,
and are never deleted.

**Phases** (make-before-break; one barrier across all switches between phases, and each phase
is a sequence of separate, ordered Write RPCs because BMv2 neither applies a batch atomically
nor promises an order inside one):

0. inserts and modifies in service-path tables (every owned table but the edge tables);
1. inserts and modifies in the edge tables ``wp_classify`` and ``ipv4_lpm`` (the flip);
2. deletes in the edge tables;
3. deletes in service-path tables (old paths go last).

A diff is computed on canonical wire bytes (:class:`~wphw.p4rt.encode.EncodedEntry`): ``key``
identifies an entry, ``action`` is compared to decide MODIFY.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import wphw.p4names as P4
from wphw.entries import TableEntry
from wphw.p4rt.encode import EncodedEntry, Encoder, UpdateKind, describe

OWNED_TABLES: tuple[str, ...] = (
    P4.WP_CLASSIFY,
    P4.WP_PROXY_RETURN,
    P4.WP_FW,
    P4.WP_NAT,
    P4.WP_COUNT,
    P4.WP_RATELIMIT,
    P4.WP_SFF,
    P4.IPV4_LPM,
)
EDGE_TABLES: frozenset[str] = frozenset({P4.WP_CLASSIFY, P4.IPV4_LPM})

PHASES: tuple[str, ...] = ("path upserts", "edge upserts", "edge deletes", "path deletes")
PATH_UPSERT, EDGE_UPSERT, EDGE_DELETE, PATH_DELETE = range(4)


class Op(NamedTuple):
    """One update to write. ``old`` is what was installed (modify/delete), for display."""

    phase: int
    kind: UpdateKind
    enc: EncodedEntry
    old: EncodedEntry | None


def phase_of(kind: UpdateKind, edge: bool) -> int:
    if kind == "delete":
        return EDGE_DELETE if edge else PATH_DELETE
    return EDGE_UPSERT if edge else PATH_UPSERT


def compute_ops(
    desired: Mapping[bytes, EncodedEntry],
    installed: Mapping[bytes, EncodedEntry],
    edge_table_ids: frozenset[int],
) -> list[list[Op]]:
    """Ops per phase that turn ``installed`` into ``desired`` (both keyed by entry key)."""
    phases: list[list[Op]] = [[], [], [], []]
    for key, enc in desired.items():
        old = installed.get(key)
        edge = enc.table_id in edge_table_ids
        if old is None:
            # A default entry always exists on the switch: it is modified, never inserted.
            kind: UpdateKind = "modify" if enc.is_default else "insert"
            phases[EDGE_UPSERT if edge else PATH_UPSERT].append(Op(0, kind, enc, None))
        elif not old.same_value(enc):
            phases[EDGE_UPSERT if edge else PATH_UPSERT].append(Op(0, "modify", enc, old))
    for key, old in installed.items():
        if key not in desired and not old.is_default:  # defaults are never deleted
            edge = old.table_id in edge_table_ids
            phases[EDGE_DELETE if edge else PATH_DELETE].append(Op(0, "delete", old, old))
    return [[op._replace(phase=i) for op in ops] for i, ops in enumerate(phases)]


def compute_deletes(
    desired: Mapping[bytes, EncodedEntry],
    installed: Mapping[bytes, EncodedEntry],
    edge_table_ids: frozenset[int],
) -> list[list[Op]]:
    """Only the delete phases of :func:`compute_ops` (after the upsert phases were streamed,
    ``installed`` holds every desired entry: what is left is what to remove)."""
    phases: list[list[Op]] = [[], [], [], []]
    for key, old in installed.items():
        if key not in desired and not old.is_default:  # defaults are never deleted
            phase = EDGE_DELETE if old.table_id in edge_table_ids else PATH_DELETE
            phases[phase].append(Op(phase, "delete", old, old))
    return phases


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One difference on one switch, by short names."""

    kind: UpdateKind
    entry: TableEntry  # the new entry (insert/modify) or the one to delete
    old: TableEntry | None = None  # what is installed now (modify)

    def __str__(self) -> str:
        sign = {"insert": "+", "modify": "~", "delete": "-"}[self.kind]
        text = f"{sign} {describe(self.entry)}"
        if self.old is not None and self.kind == "modify":
            text += f"  (was {self.old.action.name}"
            text += f"({', '.join(f'{k}={v}' for k, v in self.old.action.params)}))"
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchDiff:
    switch: str
    changes: tuple[tuple[Change, ...], ...]  # per phase
    unchanged: int
    # The switch runs another pipeline (or none): apply would replace it first, dropping
    # the ``foreign_entries`` it holds (counted by a wildcard Read; 0 without a pipeline).
    replaces_pipeline: bool = False
    device_cookie: int | None = None
    foreign_entries: int = 0

    @property
    def inserts(self) -> int:
        return sum(1 for ph in self.changes for c in ph if c.kind == "insert")

    @property
    def modifies(self) -> int:
        return sum(1 for ph in self.changes for c in ph if c.kind == "modify")

    @property
    def deletes(self) -> int:
        return sum(1 for ph in self.changes for c in ph if c.kind == "delete")

    @property
    def total(self) -> int:
        return sum(len(ph) for ph in self.changes)

    def lines(self) -> list[str]:
        out = [
            f"{self.switch}: +{self.inserts} ~{self.modifies} -{self.deletes}"
            f" ({self.unchanged} unchanged)"
        ]
        if self.replaces_pipeline:
            if self.device_cookie is None and not self.foreign_entries:
                out.append("  runs no pipeline of ours: apply would push wphw's pipeline first")
            else:
                cookie = "none" if self.device_cookie is None else f"{self.device_cookie:#x}"
                n = self.foreign_entries
                out.append(
                    f"  runs another pipeline (cookie {cookie}): apply would replace it,"
                    f" dropping the {n} table entr{'y' if n == 1 else 'ies'} it holds"
                )
        for name, changes in zip(PHASES, self.changes, strict=True):
            if changes:
                out.append(f"  [{name}]")
                out.extend(f"    {c}" for c in changes)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Diff:
    switches: tuple[SwitchDiff, ...]

    @property
    def total(self) -> int:
        return sum(s.total for s in self.switches)

    def __str__(self) -> str:
        lines: list[str] = []
        for s in self.switches:
            lines.extend(s.lines())
        if not self.total and not any(s.replaces_pipeline for s in self.switches):
            lines.append("no changes")
        return "\n".join(lines)


def make_switch_diff(
    switch: str, encoder: Encoder, phases: Iterable[list[Op]], unchanged: int
) -> SwitchDiff:
    changes = []
    for ops in phases:
        changes.append(
            tuple(
                Change(
                    kind=op.kind,
                    entry=encoder.decode_encoded(op.enc),
                    old=encoder.decode_encoded(op.old) if op.old is not None else None,
                )
                for op in ops
            )
        )
    return SwitchDiff(switch=switch, changes=tuple(changes), unchanged=unchanged)
