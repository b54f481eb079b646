"""What an apply did, and how a failed one failed: per-switch counts, every failed update."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wphw.entries import TableEntry
from wphw.errors import WriteError
from wphw.p4rt.diff import (
    Diff,
)
from wphw.p4rt.encode import describe


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateFailure:
    """One failed update of a Write RPC, as the switch reported it."""

    switch: str
    batch: int  # the number of the Write RPC in this apply (1-based)
    index: int  # the update's index in that RPC
    code: str  # gRPC canonical code name, e.g. "ALREADY_EXISTS"
    message: str
    kind: str  # insert / modify / delete
    entry: TableEntry

    def __str__(self) -> str:
        return (
            f"{self.switch} batch {self.batch} update {self.index}: {self.code}"
            f" {self.message!r} — {self.kind} {describe(self.entry)}"
        )


class P4RuntimeWriteError(WriteError):
    """Updates failed. ``failures`` lists each; ``rolled_back`` says whether every switch is
    back to what it had before ``apply`` (``rollback_failures`` lists what failed if not)."""

    def __init__(
        self,
        message: str,
        failures: Sequence[UpdateFailure],
        *,
        rolled_back: bool,
        rollback_failures: Sequence[UpdateFailure] = (),
    ) -> None:
        shown = 20
        lines = [message, *(f"  - {f}" for f in failures[:shown])]
        if len(failures) > shown:
            lines.append(f"  ... and {len(failures) - shown} more (see .failures)")
        if rolled_back:
            lines.append("every switch was rolled back to what it had before apply")
        else:
            lines.append("ROLLBACK FAILED; the switches may hold a mix of old and new entries:")
            lines.extend(f"  - {f}" for f in rollback_failures[:shown])
        super().__init__("\n".join(lines))
        self.failures = tuple(failures)
        self.rolled_back = rolled_back
        self.rollback_failures = tuple(rollback_failures)


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchResult:
    switch: str
    inserted: int
    modified: int
    deleted: int
    unchanged: int
    write_rpcs: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    switches: tuple[SwitchResult, ...]
    seconds: float
    diff: Diff | None = None  # only for dry runs (decoding every change costs time)
    # written as a delta (``apply_delta``): the changed switches only, none of them read.
    # False for ``apply`` and for a delta that had to read (a switch restarted or reconnected
    # mid-apply); ``fallback`` then says why.
    delta: bool = False
    fallback: str = ""

    @property
    def written(self) -> int:
        return sum(s.inserted + s.modified + s.deleted for s in self.switches)

    def __str__(self) -> str:
        lines = [
            f"{s.switch}: +{s.inserted} ~{s.modified} -{s.deleted} ({s.unchanged} unchanged,"
            f" {s.write_rpcs} Write RPCs)"
            for s in self.switches
        ]
        lines.append(f"{self.written} updates in {self.seconds:.3f} s")
        return "\n".join(lines)
