"""Register map: structure rules, generated files in sync, driver validation."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest

from wphw.errors import RegisterError, ServiceParamError
from wphw.netfpga import regmap
from wphw.netfpga.bus import MemoryBus, PcieBarBus
from wphw.netfpga.drivers import FirewallDriver, FwRule, NatMapping, WaypointEntry


def test_generated_files_do_not_drift() -> None:
    stale = regmap.drifted()
    assert not stale, f"regenerate with: python -m wphw.netfpga.regmap --write ({stale})"


def test_every_block_starts_with_id_and_version() -> None:
    regmap.check_blocks()
    for blk in regmap.BLOCKS:
        assert blk.registers[0].name == "ID" and blk.registers[0].offset == 0
        assert blk.registers[1].name == "VERSION" and blk.registers[1].offset == 4
        assert blk.registers[0].reset == blk.id


def test_block_rejects_overlap_and_missing_id() -> None:
    idv = regmap.WP_FW.registers[:2]
    a = regmap.Register(name="A", offset=0x10, access=regmap.Access.RW, doc="a", width=64)
    b = regmap.Register(name="B", offset=0x14, access=regmap.Access.RW, doc="b")
    with pytest.raises(RegisterError, match="overlaps"):
        regmap.Block(name="x", base=0, id=1, version=1, doc="", registers=(*idv, a, b))
    with pytest.raises(RegisterError, match="ID and VERSION"):
        regmap.Block(name="x", base=0, id=1, version=1, doc="", registers=(a,))
    with pytest.raises(RegisterError, match="no register"):
        regmap.WP_FW.reg("NOPE")


def test_value_validation_names_field_and_range() -> None:
    with pytest.raises(RegisterError, match=r"WaypointEntry.si: 256 not in 0..255"):
        WaypointEntry(spi=1, si=256, pe=0, port=1)
    with pytest.raises(RegisterError, match=r"WaypointEntry.spi"):
        WaypointEntry(spi=1 << 24, si=1, pe=0, port=1)
    with pytest.raises(ServiceParamError, match=r"FwRule.dport high: 10 not in 20..65535"):
        FwRule(permit=True, dport=(20, 10))
    with pytest.raises(ServiceParamError, match=r"FwRule.proto"):
        FwRule(permit=True, proto=300)
    with pytest.raises(ServiceParamError, match=r"NatMapping.new_port: needs match_port"):
        NatMapping(
            dnat=False,
            match_addr=ipaddress.IPv4Address("1.2.3.4"),
            new_addr=ipaddress.IPv4Address("5.6.7.8"),
            new_port=5,
        )


def test_attach_checks_id_and_version() -> None:
    fw = regmap.WP_FW
    good = {fw.base: fw.id, fw.base + 4: fw.version, fw.base + 8: 4}

    async def go() -> None:
        drv = await FirewallDriver.attach(MemoryBus(good))
        assert drv.caps == 4
        with pytest.raises(RegisterError, match=r"wp_fw.RULE_SRC_PLEN\[0\]: 64 not in 0..63"):
            await drv.write("RULE_SRC_PLEN", 64, 0)
        with pytest.raises(RegisterError, match="read-only"):
            await drv.write("RULE_HITS", 0, 0)
        with pytest.raises(RegisterError, match=r"index not in 0..3"):
            await drv.write("RULE_PROTO", 6, 4)
        with pytest.raises(RegisterError, match=r"5 rules, table holds 0..4"):
            await drv.set_rules([FwRule(permit=True)] * 5)
        with pytest.raises(RegisterError, match="ID 0x57500003, expected 0x57500002"):
            await FirewallDriver.attach(MemoryBus({**good, fw.base: regmap.WP_NAT.id}))
        with pytest.raises(RegisterError, match="VERSION 0x00020000 incompatible"):
            await FirewallDriver.attach(MemoryBus({**good, fw.base + 4: 0x20000}))

    asyncio.run(go())


def test_set_rules_writes_expected_words() -> None:
    fw = regmap.WP_FW
    bus = MemoryBus({fw.base: fw.id, fw.base + 4: fw.version, fw.base + 8: 2})

    async def go() -> None:
        drv = await FirewallDriver.attach(bus)
        rule = FwRule(
            permit=True,
            src=ipaddress.IPv4Network("10.1.0.0/16"),
            proto=6,
            dport=(80, 443),
        )
        await drv.set_rules([rule], default_permit=False)

    asyncio.run(go())
    r0 = fw.base
    assert bus.words[r0 + fw.reg("RULE_SRC_ADDR").addr(0)] == 0x0A010000
    assert bus.words[r0 + fw.reg("RULE_SRC_PLEN").addr(0)] == 16
    assert bus.words[r0 + fw.reg("RULE_DPORT").addr(0)] == (443 << 16) | 80
    assert bus.words[r0 + fw.reg("RULE_CTRL").addr(0)] == 0b011
    assert bus.words[r0 + fw.reg("RULE_CTRL").addr(1)] == 0
    assert bus.words[r0 + fw.reg("DEFAULT_ACTION").offset] == 0


def test_pcie_bar_bus_maps_resource_file(tmp_path: Path) -> None:
    """PcieBarBus on a stand-in sysfs resource file: 32-bit stores/loads, range checks."""
    dev = tmp_path / "0000:03:00.0"
    dev.mkdir()
    (dev / "resource0").write_bytes(bytes(0x10000))
    fw = regmap.WP_FW
    bus = PcieBarBus("0000:03:00.0", 0, sysfs=tmp_path)

    async def go() -> None:
        await bus.write32(fw.base, fw.id)
        await bus.write32(fw.base + 4, fw.version)
        await bus.write32(fw.base + 8, 3)
        drv = await FirewallDriver.attach(bus)
        assert drv.caps == 3
        with pytest.raises(RegisterError, match="beyond BAR size"):
            await bus.read32(0x10000)
        with pytest.raises(RegisterError, match="not a non-negative multiple of 4"):
            await bus.read32(2)

    asyncio.run(go())
    bus.close()
    assert (dev / "resource0").read_bytes()[fw.base : fw.base + 4] == fw.id.to_bytes(4, "little")
    with pytest.raises(RegisterError, match="cannot open"):
        PcieBarBus("0000:99:00.0", 0, sysfs=tmp_path)


def test_ids_set_signatures_waits_until_in_force() -> None:
    """IdsDriver.set_signatures returns once STATUS.UPDATING reads 0, and names the register
    when it never does (a test double of the register file: STATUS clears after two reads)."""
    from wphw.netfpga.ids import IdsAction, IdsDriver, Signature

    ids = regmap.WP_IDS
    status = ids.base + ids.reg("STATUS").offset

    class RebuildingBus(MemoryBus):
        def __init__(self, words: dict[int, int], busy_reads: int) -> None:
            super().__init__(words)
            self.busy_reads = busy_reads
            self.status_reads = 0

        async def read32(self, addr: int) -> int:
            if addr == status:
                self.status_reads += 1
                return 1 if self.status_reads <= self.busy_reads else 0
            return await super().read32(addr)

    good = {ids.base: ids.id, ids.base + 4: ids.version, ids.base + 8: 2}
    sig = Signature(pattern=b"EVIL", action=IdsAction.DROP)

    async def go() -> None:
        bus = RebuildingBus(good, busy_reads=2)
        drv = await IdsDriver.attach(bus, base=ids.base)
        await drv.set_signatures([sig])
        assert bus.status_reads == 3
        stuck = RebuildingBus(good, busy_reads=10**9)
        drv = await IdsDriver.attach(stuck, base=ids.base)
        with pytest.raises(RegisterError, match=r"wp_ids.STATUS.UPDATING: still 1 after 5 reads"):
            await drv.wait_in_force(max_reads=5)

    asyncio.run(go())
