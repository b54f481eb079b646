"""Register buses: one async interface, a simulation and a hardware implementation.

The PE drivers (``wphw.netfpga.drivers``) only see :class:`RegisterBus`. In simulation the
bus is :class:`CocotbAxiLiteBus` (a cocotbext-axi ``AxiLiteMaster``); on a NetFPGA board it is
:class:`PcieBarBus`, a memory map of ``/sys/bus/pci/devices/<bdf>/resource<N>``. Both are
async so one driver class runs unchanged in a cocotb coroutine and under ``asyncio.run``.
Addresses are byte offsets from the bus base (the waypoint's address space, see regmap.md).
"""

from __future__ import annotations

import logging
import mmap
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Protocol

from wphw.errors import RegisterError

log = logging.getLogger(__name__)


def _check_word(addr: int, value: int | None = None) -> None:
    if addr < 0 or addr % 4:
        raise RegisterError(f"register address {addr:#x} is not a non-negative multiple of 4")
    if value is not None and not 0 <= value <= 0xFFFFFFFF:
        raise RegisterError(f"register value {value:#x} at {addr:#x} not in 0..0xffffffff")


class RegisterBus(ABC):
    """32-bit register access; addresses are byte offsets, word aligned."""

    @abstractmethod
    async def read32(self, addr: int) -> int:
        """Read the 32-bit word at ``addr``."""

    @abstractmethod
    async def write32(self, addr: int, value: int) -> None:
        """Write the 32-bit word ``value`` at ``addr``."""

    def at(self, base: int) -> RegisterBus:
        """A view of this bus whose address 0 is ``base`` (a block inside a larger space)."""
        return OffsetBus(self, base)


class OffsetBus(RegisterBus):
    """``bus`` shifted by ``base`` bytes."""

    def __init__(self, bus: RegisterBus, base: int) -> None:
        self.bus = bus
        self.base = base

    async def read32(self, addr: int) -> int:
        return await self.bus.read32(self.base + addr)

    async def write32(self, addr: int, value: int) -> None:
        await self.bus.write32(self.base + addr, value)


class _AxiLiteMaster(Protocol):
    async def read_dword(self, address: int) -> int: ...

    async def write_dword(self, address: int, data: int) -> None: ...


class CocotbAxiLiteBus(RegisterBus):
    """A cocotbext-axi ``AxiLiteMaster`` (simulation)."""

    def __init__(self, master: _AxiLiteMaster | Any, name: str = "axil") -> None:
        self.master = master
        self.name = name

    async def read32(self, addr: int) -> int:
        _check_word(addr)
        value = int(await self.master.read_dword(addr))
        log.debug("%s: read %#06x -> %#010x", self.name, addr, value)
        return value

    async def write32(self, addr: int, value: int) -> None:
        _check_word(addr, value)
        log.debug("%s: write %#06x <- %#010x", self.name, addr, value)
        await self.master.write_dword(addr, value)


class MemoryBus(RegisterBus):
    """A plain dict of words; for unit tests of code that only needs somewhere to write."""

    def __init__(self, words: dict[int, int] | None = None) -> None:
        self.words: dict[int, int] = dict(words or {})

    async def read32(self, addr: int) -> int:
        _check_word(addr)
        return self.words.get(addr, 0)

    async def write32(self, addr: int, value: int) -> None:
        _check_word(addr, value)
        self.words[addr] = value


class MappedBus(RegisterBus):
    """Registers in a memory-mappable file: a PCIe BAR's sysfs ``resource<N>``, a UIO map, or
    (tests) a plain file standing in for one. Accesses are single aligned 32-bit loads and
    stores through the mapping."""

    def __init__(self, path: Path, *, label: str | None = None) -> None:
        self.path = Path(path)
        self.label = label or str(path)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_SYNC)
        except OSError as exc:
            raise RegisterError(f"{self.label}: cannot open {self.path}: {exc}") from exc
        try:
            self.size = os.fstat(fd).st_size
            if self.size == 0:
                raise RegisterError(f"{self.label}: {self.path} has size 0 (no BAR)")
            self._map = mmap.mmap(fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as exc:
            raise RegisterError(f"{self.label}: cannot map {self.path}: {exc}") from exc
        finally:
            os.close(fd)
        self._view = memoryview(self._map)
        log.info("%s: mapped %d bytes of %s", self.label, self.size, self.path)

    def _check_range(self, addr: int) -> None:
        _check_word(addr)
        if addr + 4 > self.size:
            raise RegisterError(f"{self.label}: address {addr:#x} beyond BAR size {self.size:#x}")

    async def read32(self, addr: int) -> int:
        self._check_range(addr)
        # A 4-byte memoryview cast makes a single 32-bit load (no byte-wise copy).
        value: int = self._view[addr : addr + 4].cast("I")[0]
        return value

    async def write32(self, addr: int, value: int) -> None:
        self._check_range(addr)
        _check_word(addr, value)
        self._view[addr : addr + 4].cast("I")[0] = value

    def close(self) -> None:
        self._view.release()
        self._map.close()


class PcieBarBus(MappedBus):
    """A PCIe BAR mapped through sysfs: ``/sys/bus/pci/devices/<bdf>/resource<bar>``.

    Needs root (or read/write permission on the resource file) and a device whose BAR is
    memory (not I/O) space.
    """

    def __init__(self, bdf: str, bar: int = 0, *, sysfs: Path = Path("/sys/bus/pci/devices")):
        self.bdf = bdf
        self.bar = bar
        super().__init__(sysfs / bdf / f"resource{bar}", label=f"PCIe {bdf} BAR{bar}")


def bus_from_regs(regs: str) -> MappedBus:
    """The bus a topology's waypoint ``regs`` names: ``pcie:<bdf>[:bar<N>]`` or ``mmap:<path>``."""
    if regs.startswith("mmap:"):
        return MappedBus(Path(regs[5:]), label=f"registers {regs}")
    if regs.startswith("pcie:"):
        rest = regs[5:]
        bar = 0
        if rest.count(":") == 3:  # DDDD:BB:DD.F:barN
            rest, bar_text = rest.rsplit(":", 1)
            bar = int(bar_text.removeprefix("bar"))
        return PcieBarBus(rest, bar)
    raise RegisterError(f"regs {regs!r}: expected 'pcie:<bdf>[:bar<N>]' or 'mmap:<path>'")
