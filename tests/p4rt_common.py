"""Shared helpers of the tests/test_p4rt_*.py files (P4Info paths, plan-like values)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wphw.entries import Action, Exact, TableEntry

ROOT = Path(__file__).resolve().parent.parent
TEST_P4INFO = ROOT / "tests" / "data" / "wphw_test.p4info.txtpb"
REAL_P4INFO = ROOT / "p4" / "build" / "wphw.p4info.txtpb"
REAL_BMV2_JSON = ROOT / "p4" / "build" / "wphw.json"
EXAMPLES = ("table1", "figure3", "figure4", "fattree")


def p4infos() -> list[Path]:
    """The hand-made P4Info, and the compiled one when the P4 build has produced it."""
    return [TEST_P4INFO] + ([REAL_P4INFO] if REAL_P4INFO.exists() else [])


@dataclass(frozen=True)
class Sw:
    name: str
    address: str
    device_id: int = 1


@dataclass(frozen=True)
class FakePlan:
    entries: Mapping[str, Sequence[TableEntry]] = field(default_factory=dict)


def sff(spi: int, si: int, port: int) -> TableEntry:
    return TableEntry.of(
        "wp_sff",
        {"spi": Exact(value=spi), "si": Exact(value=si)},
        Action.of("sff_forward", port=port),
    )


def sff_entries(n: int, spi0: int = 1) -> list[TableEntry]:
    return [sff(spi0 + i // 4, 255 - i % 4, 1 + i % 8) for i in range(n)]
