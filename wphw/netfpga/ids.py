"""Driver of the ``wp_ids`` signature-matching PE (register block ``wp_ids``).

A :class:`Signature` is 1..16 bytes matched anywhere in the L4 payload of the inner IPv4
packet (see the block description in ``docs/regmap.md``); a frame takes the strongest action of
the signatures it contains: :attr:`IdsAction.DROP` > :attr:`IdsAction.MARK` >
:attr:`IdsAction.PASS`. Mark sets the IPv4 DSCP to the value of :meth:`IdsDriver.set_mark_dscp`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from wphw.errors import RegisterError
from wphw.netfpga import regmap
from wphw.netfpga.drivers import BlockDriver, _check_range, _fields

log = logging.getLogger(__name__)

UPDATE_MAX_READS = 10_000
"""Reads of ``STATUS`` :meth:`IdsDriver.wait_in_force` makes before it gives up."""


class IdsAction(enum.IntEnum):
    """What a frame containing a signature undergoes (register encoding)."""

    PASS = 0
    MARK = 1
    DROP = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """A byte pattern and the action for frames whose L4 payload contains it."""

    pattern: bytes
    action: IdsAction = IdsAction.PASS

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, bytes):
            raise RegisterError(f"Signature.pattern: {self.pattern!r} is not bytes")
        if not 1 <= len(self.pattern) <= regmap.IDS_SIG_MAX_LEN:
            raise RegisterError(
                f"Signature.pattern: length {len(self.pattern)} not in 1..{regmap.IDS_SIG_MAX_LEN}"
            )
        if not isinstance(self.action, IdsAction):
            raise RegisterError(
                f"Signature.action: {self.action!r} not one of "
                f"{', '.join(a.name for a in IdsAction)}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class IdsCounters:
    pkts: int
    match_pkts: int
    mark_pkts: int
    drop_pkts: int
    oversize_pkts: int
    sig_hits: tuple[int, ...]


class IdsDriver(BlockDriver):
    """Typed access to one ``wp_ids`` instance."""

    BLOCK = regmap.WP_IDS

    async def set_signatures(self, sigs: Sequence[Signature]) -> None:
        """Replace every signature (index i = SIG_*[i]); unused slots are disabled."""
        if len(sigs) > self.caps:
            raise RegisterError(
                f"{self.name}: {len(sigs)} signatures, this instance holds 0..{self.caps}"
            )
        for s in sigs:
            if not isinstance(s, Signature):
                raise RegisterError(f"{self.name}: {s!r} is not a Signature")
        blk = self.block
        for i in range(self.caps):
            await self.write("SIG_CTRL", 0, i)
            if i >= len(sigs):
                continue
            sig = sigs[i]
            padded = sig.pattern.ljust(regmap.IDS_SIG_MAX_LEN, b"\0")
            for w in range(4):
                word = int.from_bytes(padded[4 * w : 4 * w + 4], "little")
                await self.write(f"SIG_DATA{w}", word, i)
            ctrl = _fields(blk, "SIG_CTRL", LEN=len(sig.pattern), ACTION=int(sig.action))
            await self.write("SIG_CTRL", ctrl, i)
        await self.wait_in_force()
        log.info("%s: %d signatures installed", self.name, len(sigs))

    async def wait_in_force(self, *, max_reads: int = UPDATE_MAX_READS) -> None:
        """Return when the written signature set is in force (``STATUS.UPDATING`` reads 0).

        The PE applies a new set at the next frame boundary and holds its input while it
        rebuilds its match tables (about 520 clock cycles); a frame stuck half-way into the PE
        delays that indefinitely, so this gives up after ``max_reads`` reads of ``STATUS``.
        """
        (updating,) = (f for f in self.block.reg("STATUS").fields if f.name == "UPDATING")
        lsb = updating.lsb
        for _ in range(max_reads):
            if not (await self.read("STATUS") >> lsb) & 1:
                return
        raise RegisterError(
            f"{self.name}.STATUS.UPDATING: still 1 after {max_reads} reads (the new signature "
            "set waits for a frame boundary: is a frame stuck half-way into the PE?)"
        )

    async def set_mark_dscp(self, dscp: int) -> None:
        _check_range(f"{self.name}.MARK_DSCP", dscp, 0, 63)
        await self.write("MARK_DSCP", dscp)

    async def configure(self, *, dec_si: bool = True) -> None:
        if not isinstance(dec_si, bool):
            raise RegisterError(f"{self.name}.CONFIG.DEC_SI: {dec_si!r} not a bool")
        await self.write("CONFIG", _fields(self.block, "CONFIG", DEC_SI=int(dec_si)))

    async def counters(self) -> IdsCounters:
        return IdsCounters(
            pkts=await self.read("PKTS"),
            match_pkts=await self.read("MATCH_PKTS"),
            mark_pkts=await self.read("MARK_PKTS"),
            drop_pkts=await self.read("DROP_PKTS"),
            oversize_pkts=await self.read("OVERSIZE_PKTS"),
            sig_hits=await self.read_array("SIG_HITS"),
        )
