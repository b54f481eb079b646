"""`wphw apply` on FPGA waypoints (wphw/netfpga/install.py): register writes applied
make-before-break, alone and inside ``AsyncFabric.apply`` with the P4Runtime TEST DOUBLE.

The device is :class:`RecordingBus`, the register-file model of a freshly reset waypoint
(ID/VERSION/CAPS/NUM_PES from the register map, written registers read back); the same
installer runs on the RTL in sim/test_plan_registers.py.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from p4rt_common import FakePlan, Sw
from p4rt_testserver import P4RuntimeTestServer
from test_p4rt_fabric import FAST, PIPELINE, SCHEMA, classify, path

import wphw
from wphw.entries import RegisterWrite
from wphw.errors import RegisterError, TopologyError
from wphw.install import Installer
from wphw.netfpga import regmap
from wphw.netfpga.bus import MappedBus, RegisterBus, bus_from_regs
from wphw.netfpga.drivers import WaypointDriver
from wphw.netfpga.install import FpgaInstall, dispatch_entries, read_dispatch
from wphw.netfpga.plan import DEFAULT_LAYOUT, FpgaLayout, RecordingBus, waypoint_of
from wphw.p4rt import P4RuntimeWriteError
from wphw.policy import policy_from_dict
from wphw.topology import topology_from_dict

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def figure3_plans() -> tuple[wphw.Plan, wphw.Plan]:
    """Plan A (the example) and plan B (one path changed, one removed, compiled against A):
    on wp_branch B keeps (2, 255), drops (1, 255) and adds (5, 254) and (5, 255)."""
    topo = wphw.load_topology(EXAMPLES / "figure3" / "topology.yaml")
    raw = yaml.safe_load((EXAMPLES / "figure3" / "policy.yaml").read_text())
    a = wphw.compile(policy_from_dict(raw), topo)
    raw_b = copy.deepcopy(raw)
    raw_b["subscribers"]["s1"][1]["match"]["src"] = "10.0.2.0/25"
    raw_b["subscribers"]["s1"][0]["actions"] = ["encrypt", "decrypt", "route"]
    b = wphw.compile(policy_from_dict(raw_b), topo, previous=a)
    return a, b


def branch(plan: wphw.Plan) -> list[RegisterWrite]:
    return [w for w in plan.register_writes if waypoint_of(w) == "wp_branch"]


def keys(plan: wphw.Plan) -> set[tuple[int, int]]:
    return {e.key for e in dispatch_entries(branch(plan))}


async def device_rows(bus: RegisterBus) -> dict[int, tuple[int, int]]:
    drv = await WaypointDriver.attach(bus)
    return {row: e.key for row, e in (await read_dispatch(drv)).items()}


def rows_of(bus: RegisterBus) -> dict[int, tuple[int, int]]:
    return asyncio.run(device_rows(bus))


class LoggingBus(RegisterBus):
    """Wraps a device and logs every write (address, value) with a caller-given tag."""

    def __init__(self, inner: RegisterBus) -> None:
        self.inner = inner
        self.log: list[tuple[str, int, int]] = []
        self.tag = ""

    async def read32(self, addr: int) -> int:
        return await self.inner.read32(addr)

    async def write32(self, addr: int, value: int) -> None:
        self.log.append((self.tag, addr, value))
        await self.inner.write32(addr, value)


def entry_row(addr: int) -> int | None:
    """The dispatch row an address belongs to, if it is an ENTRY_* register."""
    blk = regmap.WP_WAYPOINT
    for name in ("ENTRY_KEY", "ENTRY_PE", "ENTRY_PORT", "ENTRY_CTRL"):
        r = blk.reg(name)
        off = addr - blk.base - r.offset
        if 0 <= off < r.count * r.stride and off % r.stride == 0:
            return off // r.stride
    return None


def install(writes: list[RegisterWrite], bus: RegisterBus, tag: str = "") -> FpgaInstall:
    inst = FpgaInstall(writes, {"wp_branch": lambda: bus})

    async def run() -> None:
        if isinstance(bus, LoggingBus):
            bus.tag = f"{tag}add"
        await inst.add()
        if isinstance(bus, LoggingBus):
            bus.tag = f"{tag}remove"
        await inst.remove_stale()

    asyncio.run(run())
    return inst


def test_fresh_install_then_reapply_writes_nothing() -> None:
    a, _ = figure3_plans()
    dev = LoggingBus(RecordingBus())
    first = install(branch(a), dev).results["wp_branch"]
    assert set(rows_of(dev).values()) == keys(a)
    assert sorted(first.blocks_written) == ["wp_chacha20", "wp_chacha20@4"]
    assert len(first.rows_added) == 2 and first.rows_stale == []
    dev.log.clear()
    again = install(branch(a), dev).results["wp_branch"]
    assert dev.log == [], "re-applying the same plan must not touch the device"
    assert again.blocks_written == [] and again.rows_added == [] and again.rows_kept == 2
    assert sorted(again.blocks_unchanged) == ["wp_chacha20", "wp_chacha20@4"]


def test_change_is_make_before_break() -> None:
    a, b = figure3_plans()
    dev = LoggingBus(RecordingBus())
    install(branch(a), dev)
    before = rows_of(dev)
    assert set(before.values()) == {(1, 255), (2, 255)}
    dev.log.clear()
    result = install(branch(b), dev).results["wp_branch"]
    # While adding, no row in use by plan A was written; the new ones went into free rows.
    touched_on_add = {entry_row(a_) for tag, a_, _ in dev.log if tag == "add"} - {None}
    assert touched_on_add.isdisjoint(before), (touched_on_add, before)
    assert sorted(result.rows_added) == sorted(touched_on_add)
    assert result.rows_kept == 1
    # Only the dropped entry's row is invalidated, and only after the flip.
    removed = [(entry_row(a_), v) for tag, a_, v in dev.log if tag == "remove"]
    stale_row = next(r for r, k in before.items() if k == (1, 255))
    assert removed == [(stale_row, 0)]
    after = rows_of(dev)
    assert set(after.values()) == keys(b) == {(2, 255), (5, 254), (5, 255)}
    kept_row = next(r for r, k in before.items() if k == (2, 255))
    assert after[kept_row] == (2, 255), "a kept entry stays in its row"


def test_no_room_for_old_and_new_side_by_side_writes_nothing() -> None:
    a, b = figure3_plans()
    small = FpgaLayout(
        caps=tuple((blk, 3 if blk == "wp_waypoint" else cap) for blk, cap in DEFAULT_LAYOUT.caps)
    )
    dev = LoggingBus(RecordingBus(small))
    install(branch(a), dev)
    dev.log.clear()
    with pytest.raises(RegisterError, match=r"waypoint wp_branch: dispatch table holds 3 rows"):
        install(branch(b), dev)
    assert dev.log == [], "the room is checked before anything is written"
    assert set(rows_of(dev).values()) == keys(a)


def test_changed_key_id_rewrites_the_block_and_wrong_block_is_refused() -> None:
    a, _ = figure3_plans()
    dev = RecordingBus()
    install(branch(a), dev)
    rekeyed = [
        RegisterWrite(pe=w.pe, block=w.block, register=w.register, index=w.index, value=2)
        if w.register == "KEY_ID" and w.block == "wp_chacha20"
        else w
        for w in branch(a)
    ]
    r = install(rekeyed, dev).results["wp_branch"]
    assert r.blocks_written == ["wp_chacha20"] and r.blocks_unchanged == ["wp_chacha20@4"]
    # A device whose ID at the waypoint base is not wp_waypoint: refused by name, nothing written.
    other = LoggingBus(RecordingBus())
    asyncio.run(other.inner.write32(regmap.WP_WAYPOINT.base, 0x12345678))
    other.log.clear()
    with pytest.raises(RegisterError, match="waypoint wp_branch at 0x0: ID 0x12345678"):
        install(branch(a), other)
    assert other.log == []


def test_regs_in_the_topology_and_the_mmap_bus(tmp_path: Path) -> None:
    base = yaml.safe_load((EXAMPLES / "figure3" / "topology.yaml").read_text())
    # A stand-in register file, laid out like a freshly reset waypoint.
    model = RecordingBus()
    image = bytearray(0x10000)
    for addr, value in model.words.items():
        image[addr : addr + 4] = value.to_bytes(4, "little")
    regfile = tmp_path / "resource0"
    regfile.write_bytes(bytes(image))
    raw = copy.deepcopy(base)
    raw["waypoints"]["wp_branch"]["regs"] = f"mmap:{regfile}"
    raw["waypoints"]["wp_hq"]["regs"] = "pcie:0000:03:00.0:bar2"
    topo = topology_from_dict(raw)
    assert topo.waypoints["wp_branch"].regs == f"mmap:{regfile}"
    a, _ = figure3_plans()
    bus = bus_from_regs(f"mmap:{regfile}")
    assert isinstance(bus, MappedBus)
    install(branch(a), bus)
    bus.close()
    again = bus_from_regs(f"mmap:{regfile}")
    assert set(rows_of(again).values()) == keys(a), "rows persisted in the register file"
    again.close()
    with pytest.raises(RegisterError, match=r"PCIe 0000:03:00\.0 BAR2: cannot open"):
        bus_from_regs("pcie:0000:03:00.0:bar2")
    for bad in ("pcie:3:0.0", "mmap:relative/path", "tcp:1.2.3.4", 5):
        raw = copy.deepcopy(base)
        raw["waypoints"]["wp_branch"]["regs"] = bad
        with pytest.raises(TopologyError, match=r"waypoint wp_branch: regs"):
            topology_from_dict(raw)
    raw = copy.deepcopy(base)
    raw["waypoints"]["wp_branch"]["pes"][0]["kind"] = "software"
    raw["waypoints"]["wp_branch"]["regs"] = f"mmap:{regfile}"
    with pytest.raises(TopologyError, match=r"wp_branch: regs .* has no FPGA PE"):
        topology_from_dict(raw)


# -- inside AsyncFabric.apply, against the P4Runtime TEST DOUBLE ----------------------------------


@dataclass(frozen=True)
class PlanWithRegs(FakePlan):
    register_writes: tuple[RegisterWrite, ...] = field(default_factory=tuple)


@pytest.fixture
def server() -> Any:
    with P4RuntimeTestServer() as s:
        yield s


def classifier_spis(server: P4RuntimeTestServer) -> list[bytes]:
    """The SPI parameter of every classifier entry (the only entries with a priority)."""
    spi_id = next(p.id for p in SCHEMA.action("start_chain").params if p.name == "spi")
    return sorted(
        p.value
        for te in server.entries()
        if te.priority
        for p in te.action.action.params
        if p.param_id == spi_id
    )


def test_fabric_applies_register_writes_between_paths_and_flip(
    server: P4RuntimeTestServer,
) -> None:
    a, b = figure3_plans()
    dev = LoggingBus(RecordingBus())
    seen: list[tuple[str, list[bytes]]] = []
    orig = dev.write32
    ctrl_reg = regmap.WP_WAYPOINT.reg("ENTRY_CTRL")

    async def spy(addr: int, value: int) -> None:
        row = entry_row(addr)
        if row is not None and addr == regmap.WP_WAYPOINT.base + ctrl_reg.addr(row):
            seen.append(("ctrl", classifier_spis(server)))
        await orig(addr, value)

    dev.write32 = spy  # type: ignore[method-assign]
    buses = {"wp_branch": lambda: dev}
    plan_a = PlanWithRegs({"s1": [*path(1), classify(1)]}, tuple(branch(a)))
    with Installer(
        [Sw("s1", server.address)], pipeline=PIPELINE, register_buses=buses, **FAST
    ) as f:
        r = f.apply(plan_a)
        assert set(rows_of(dev).values()) == keys(a)
        assert [x.waypoint for x in r.fpga] == ["wp_branch"] and r.fpga_skipped == ()
        assert "wp_branch (FPGA): blocks written wp_chacha20, wp_chacha20@4" in str(r)
        # Dispatch rows were written before the classifier existed (after its path).
        assert seen and all(spis == [] for _, spis in seen if _ == "ctrl")
        # Plan B: new SPI 2 on the switch; rows added before the flip, stale row removed after.
        seen.clear()
        plan_b = PlanWithRegs({"s1": [*path(2), classify(2)]}, tuple(branch(b)))
        r = f.apply(plan_b)
        ctrl = [spis for _, spis in seen]
        assert ctrl[0] == [b"\x01"], "new rows go in while the classifier still says SPI 1"
        assert ctrl[-1] == [b"\x02"], "the stale row goes after the flip"
        assert set(rows_of(dev).values()) == keys(b)
        # A failed flip: switches roll back to plan B, and the rows this apply added go too.
        plan_c = PlanWithRegs({"s1": [*path(3), classify(3)]}, tuple(branch(a)))
        server.inject = lambda u: (
            (6, "injected") if u.entity.table_entry.priority else None  # the classifier
        )
        with pytest.raises(P4RuntimeWriteError, match="injected"):
            f.apply(plan_c)
        server.inject = None
        assert classifier_spis(server) == [b"\x02"]
        assert set(rows_of(dev).values()) == keys(b), "rows of the failed apply removed"
    # A plan with register writes for a waypoint without a bus is applied to the switches and
    # says which waypoint it left alone.
    with Installer([Sw("s1", server.address)], pipeline=PIPELINE, **FAST) as f:
        r = f.apply(plan_a)
        assert r.fpga_skipped == ("wp_branch",)
        assert "register writes NOT applied (no 'regs' in the topology): wp_branch" in str(r)


def test_dry_run_reads_and_reports_but_writes_nothing(server: P4RuntimeTestServer) -> None:
    a, b = figure3_plans()
    dev = LoggingBus(RecordingBus())
    buses = {"wp_branch": lambda: dev}
    with Installer(
        [Sw("s1", server.address)], pipeline=PIPELINE, register_buses=buses, **FAST
    ) as f:
        f.apply(PlanWithRegs({"s1": [*path(1), classify(1)]}, tuple(branch(a))))
        dev.log.clear()
        r = f.apply(PlanWithRegs({"s1": [*path(2), classify(2)]}, tuple(branch(b))), dry_run=True)
    assert dev.log == [], "a dry run writes no register"
    (fp,) = r.fpga
    assert (len(fp.planned_rows), fp.rows_stale, fp.rows_kept, fp.rows_added) == (2, [0], 1, [])
    assert "wp_branch (FPGA): blocks written none, dispatch rows +2 -1 (1 kept)" in str(r)
    assert set(rows_of(dev).values()) == keys(a)
