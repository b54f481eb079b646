"""Typed drivers for the waypoint, firewall and NAT register blocks.

A driver is built with :meth:`BlockDriver.attach`, which reads the block's ID and VERSION and
raises :class:`~wphw.errors.RegisterError` when they do not match ``regmap.py``. Every value is
validated before anything is written; a bad value raises ``RegisterError`` naming the field and
its allowed range. The same classes run in cocotb (``CocotbAxiLiteBus``) and on hardware
(``PcieBarBus``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from wphw.errors import RegisterError
from wphw.netfpga import regmap
from wphw.netfpga.bus import RegisterBus
from wphw.netfpga.regmap import Access, Block
from wphw.services import FwRule, NatMapping

log = logging.getLogger(__name__)


def _check_range(what: str, value: int, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise RegisterError(f"{what}: {value!r} not in {lo}..{hi}")


class BlockDriver:
    """Generic access to one register block, by register name, with range checks.

    Subclasses set ``BLOCK`` (one per register block of :mod:`wphw.netfpga.regmap`).
    """

    BLOCK: ClassVar[Block]

    def __init__(self, bus: RegisterBus, *, base: int | None = None, name: str | None = None):
        self.block = self.BLOCK
        self.base = self.block.base if base is None else base
        self.bus = bus.at(self.base)
        self.name = name or self.block.name
        self.caps = 0

    @classmethod
    async def attach(
        cls, bus: RegisterBus, *, base: int | None = None, name: str | None = None
    ) -> Self:
        """Check ID and VERSION (same major, minor at least ours) and read CAPS."""
        drv = cls(bus, base=base, name=name)
        await drv.check_id()
        return drv

    async def check_id(self) -> None:
        blk = self.block
        got_id = await self.bus.read32(blk.reg("ID").offset)
        if got_id != blk.id:
            raise RegisterError(
                f"{self.name} at {self.base:#x}: ID {got_id:#010x}, expected {blk.id:#010x}"
            )
        got_ver = await self.bus.read32(blk.reg("VERSION").offset)
        shift = regmap.VERSION_MAJOR_SHIFT
        if got_ver >> shift != blk.version >> shift or got_ver & 0xFFFF < blk.version & 0xFFFF:
            raise RegisterError(
                f"{self.name} at {self.base:#x}: VERSION {got_ver:#010x} incompatible with "
                f"driver {blk.version:#010x} (same major, minor >= driver's needed)"
            )
        if any(r.name == "CAPS" for r in blk.registers):
            self.caps = await self.read("CAPS")
        log.info(
            "%s: attached at %#x (version %#010x, caps %d)",
            self.name,
            self.base,
            got_ver,
            self.caps,
        )

    def _where(self, reg: str, index: int) -> str:
        return f"{self.name}.{reg}" + (f"[{index}]" if self.block.reg(reg).count > 1 else "")

    async def read(self, reg: str, index: int = 0) -> int:
        """Read a register (64-bit ones as LO then HI; reading LO latches HI)."""
        r = self.block.reg(reg)
        addr = r.addr(index)
        value = await self.bus.read32(addr)
        if r.words == 2:
            value |= (await self.bus.read32(addr + 4)) << 32
        return value

    async def write(self, reg: str, value: int, index: int = 0) -> None:
        """Write a register after checking access, index and value range."""
        r = self.block.reg(reg)
        if r.access is Access.RO:
            raise RegisterError(f"{self._where(reg, index)} is read-only")
        if r.count > 1 and self.caps and index >= self.caps:
            raise RegisterError(
                f"{self._where(reg, index)}: index not in 0..{self.caps - 1} (CAPS of {self.name})"
            )
        _check_range(self._where(reg, index), value, 0, r.max_value)
        addr = r.addr(index)
        await self.bus.write32(addr, value & 0xFFFFFFFF)
        if r.words == 2:
            await self.bus.write32(addr + 4, value >> 32)

    async def clear_counters(self) -> None:
        await self.write("CTRL", 1 << self.block.reg("CTRL").fields[0].lsb)

    async def read_array(self, reg: str) -> tuple[int, ...]:
        return tuple([await self.read(reg, i) for i in range(self.caps)])


def _fields(block: Block, reg: str, **values: int) -> int:
    """Pack named field values into a register word."""
    r = block.reg(reg)
    word = 0
    for fld in r.fields:
        if fld.name in values:
            v = values.pop(fld.name)
            _check_range(f"{block.name}.{reg}.{fld.name}", v, 0, (1 << fld.width) - 1)
            word |= v << fld.lsb
    if values:
        raise RegisterError(f"{block.name}.{reg}: no field(s) {', '.join(values)}")
    return word


# --- Waypoint -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WaypointEntry:
    """Dispatch table entry: NSH (spi, si) → PE ``pe``, tuser dst_port ``port``."""

    spi: int
    si: int
    pe: int
    port: int

    def __post_init__(self) -> None:
        _check_range("WaypointEntry.spi", self.spi, 0, (1 << 24) - 1)
        _check_range("WaypointEntry.si", self.si, 0, 255)
        _check_range("WaypointEntry.pe", self.pe, 0, regmap.WP_MAX_PES - 1)
        _check_range("WaypointEntry.port", self.port, 0, 255)


@dataclass(frozen=True, slots=True, kw_only=True)
class WaypointCounters:
    nonnsh_pkts: int
    miss_pkts: int
    drop_pkts: int
    entry_pkts: tuple[int, ...]
    entry_bytes: tuple[int, ...]


class WaypointDriver(BlockDriver):
    BLOCK = regmap.WP_WAYPOINT

    async def set_entries(self, entries: Sequence[WaypointEntry]) -> None:
        """Replace the whole dispatch table; unused entries are invalidated."""
        if len(entries) > self.caps:
            raise RegisterError(f"{self.name}: {len(entries)} entries, table holds 0..{self.caps}")
        num_pes = await self.read("NUM_PES")
        keys = [(e.spi, e.si) for e in entries]
        for i, e in enumerate(entries):
            if e.pe >= num_pes:
                raise RegisterError(f"{self.name}: entry {i} pe {e.pe} not in 0..{num_pes - 1}")
            if keys.index((e.spi, e.si)) != i:
                raise RegisterError(f"{self.name}: entry {i} duplicates (spi {e.spi}, si {e.si})")
        for i in range(self.caps):
            await self.write("ENTRY_CTRL", 0, i)
            if i < len(entries):
                e = entries[i]
                await self.write("ENTRY_KEY", (e.spi << 8) | e.si, i)
                await self.write("ENTRY_PE", e.pe, i)
                await self.write("ENTRY_PORT", e.port, i)
                await self.write("ENTRY_CTRL", 1, i)
        log.info("%s: %d dispatch entries installed", self.name, len(entries))

    async def set_default_port(self, port: int) -> None:
        _check_range(f"{self.name}.DEFAULT_PORT", port, 0, 255)
        await self.write("DEFAULT_PORT", port)

    async def set_mtu(self, mtu: int) -> None:
        _check_range(f"{self.name}.MTU", mtu, 14, 0xFFFF)
        await self.write("MTU", mtu)

    async def counters(self) -> WaypointCounters:
        return WaypointCounters(
            nonnsh_pkts=await self.read("NONNSH_PKTS"),
            miss_pkts=await self.read("MISS_PKTS"),
            drop_pkts=await self.read("DROP_PKTS"),
            entry_pkts=await self.read_array("ENTRY_PKTS"),
            entry_bytes=await self.read_array("ENTRY_BYTES"),
        )


# --- Firewall -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FwCounters:
    permit_pkts: int
    deny_pkts: int
    default_pkts: int
    nonip_pkts: int
    rule_hits: tuple[int, ...]


class FirewallDriver(BlockDriver):
    BLOCK = regmap.WP_FW

    async def set_rules(
        self, rules: Sequence[FwRule], *, default_permit: bool = False, nonip_permit: bool = True
    ) -> None:
        """Replace the rule list (index 0 = highest priority) and the default actions."""
        if len(rules) > self.caps:
            raise RegisterError(f"{self.name}: {len(rules)} rules, table holds 0..{self.caps}")
        blk = self.block
        for i in range(self.caps):
            await self.write("RULE_CTRL", 0, i)
            if i >= len(rules):
                continue
            r = rules[i]
            await self.write("RULE_SRC_ADDR", int(r.src.network_address), i)
            await self.write("RULE_SRC_PLEN", r.src.prefixlen, i)
            await self.write("RULE_DST_ADDR", int(r.dst.network_address), i)
            await self.write("RULE_DST_PLEN", r.dst.prefixlen, i)
            await self.write("RULE_PROTO", r.proto or 0, i)
            await self.write(
                "RULE_SPORT", _fields(blk, "RULE_SPORT", LO=r.sport[0], HI=r.sport[1]), i
            )
            await self.write(
                "RULE_DPORT", _fields(blk, "RULE_DPORT", LO=r.dport[0], HI=r.dport[1]), i
            )
            ctrl = _fields(
                blk, "RULE_CTRL", VALID=1, PERMIT=int(r.permit), ANY_PROTO=int(r.proto is None)
            )
            await self.write("RULE_CTRL", ctrl, i)
        await self.write("DEFAULT_ACTION", int(default_permit))
        await self.write("NONIP_ACTION", int(nonip_permit))
        log.info("%s: %d rules installed", self.name, len(rules))

    async def counters(self) -> FwCounters:
        return FwCounters(
            permit_pkts=await self.read("PERMIT_PKTS"),
            deny_pkts=await self.read("DENY_PKTS"),
            default_pkts=await self.read("DEFAULT_PKTS"),
            nonip_pkts=await self.read("NONIP_PKTS"),
            rule_hits=await self.read_array("RULE_HITS"),
        )


# --- NAT ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NatCounters:
    xlate_pkts: int
    pass_pkts: int
    map_hits: tuple[int, ...]


class NatDriver(BlockDriver):
    BLOCK = regmap.WP_NAT

    async def set_mappings(self, mappings: Sequence[NatMapping]) -> None:
        """Replace the mapping list (index 0 = highest priority)."""
        if len(mappings) > self.caps:
            raise RegisterError(
                f"{self.name}: {len(mappings)} mappings, table holds 0..{self.caps}"
            )
        blk = self.block
        for i in range(self.caps):
            await self.write("MAP_CTRL", 0, i)
            if i >= len(mappings):
                continue
            m = mappings[i]
            port_en = m.match_port is not None
            match_port = m.match_port or 0
            new_port = match_port if m.new_port is None else m.new_port
            await self.write("MAP_MATCH_ADDR", int(m.match_addr), i)
            await self.write("MAP_NEW_ADDR", int(m.new_addr), i)
            await self.write(
                "MAP_PORTS", _fields(blk, "MAP_PORTS", MATCH=match_port, NEW=new_port), i
            )
            ctrl = _fields(blk, "MAP_CTRL", VALID=1, DNAT=int(m.dnat), PORT_EN=int(port_en))
            await self.write("MAP_CTRL", ctrl, i)
        log.info("%s: %d mappings installed", self.name, len(mappings))

    async def counters(self) -> NatCounters:
        return NatCounters(
            xlate_pkts=await self.read("XLATE_PKTS"),
            pass_pkts=await self.read("PASS_PKTS"),
            map_hits=await self.read_array("MAP_HITS"),
        )
