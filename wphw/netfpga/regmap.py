"""The register map of the wphw hardware waypoint: defined once, here.

Every register block (the waypoint itself and each PE) is a :class:`Block`: a name, a base
offset in the waypoint's AXI-Lite / PCIe BAR address space, an ID constant, a VERSION, and its
registers. Every block starts with ``ID`` (offset 0x00) and ``VERSION`` (offset 0x04), both
read-only. From this module we generate

* ``hdl/include/wp_regmap.vh`` — Verilog `` `define`` constants that every RTL block includes, so
  no offset is typed twice: ``<BLOCK>_BASE``, ``<BLOCK>_BLOCK_ID``, ``<BLOCK>_BLOCK_VERSION``,
  ``<BLOCK>_REG_<NAME>`` (12-bit offset), ``..._STRIDE``, ``..._COUNT``, ``..._WIDTH``,
  ``..._RESET`` and ``..._<FIELD>_LSB`` / ``..._<FIELD>_WIDTH``;
* ``docs/regmap.md`` — the human-readable map.

``python -m wphw.netfpga.regmap --write`` regenerates both; ``--check`` (and the drift test in
``tests/test_regmap.py``) fails when the committed files differ from what this module renders.

Conventions (see docs/hardware.md):

* Block aperture is 4 KiB (``BLOCK_SIZE``); the waypoint decodes address bits [15:12] into a
  slot: slot 0 is the waypoint's own block, slot ``k + 1`` is the block of PE index ``k``.
* 64-bit registers (counters) occupy two words, low word first. Reading the low word latches
  the high word, so a read of LO then HI is consistent; always read LO first.
* Array registers repeat ``count`` times, ``stride`` bytes apart; element ``i`` of a register at
  ``offset`` is at ``offset + i * stride``. ``count`` is the maximum the map reserves; the
  number an instance actually implements is in its read-only ``CAPS`` register.
* Access: ``ro`` read-only, ``rw`` read/write, ``wo`` write-only (reads return 0; used for
  self-clearing command bits).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from wphw.errors import RegisterError

log = logging.getLogger(__name__)

BLOCK_SIZE = 0x1000
"""Aperture of every block (bytes); the waypoint decodes ``addr[15:12]`` into a slot."""

VERSION_MAJOR_SHIFT = 16
"""VERSION word layout: major in [31:16], minor in [15:0]."""


class Access(StrEnum):
    """How software may access a register."""

    RO = "ro"
    RW = "rw"
    WO = "wo"


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """A named bit field inside a 32-bit register."""

    name: str
    lsb: int
    width: int
    doc: str

    def __post_init__(self) -> None:
        if not 0 <= self.lsb < 32 or not 1 <= self.width <= 32 - self.lsb:
            raise RegisterError(
                f"field {self.name}: lsb {self.lsb} width {self.width} not in 0..31"
            )

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb


@dataclass(frozen=True, slots=True, kw_only=True)
class Register:
    """One register (or an array of them) of a block; ``offset`` is relative to the block base."""

    name: str
    offset: int
    access: Access
    doc: str
    width: int = 32
    count: int = 1
    stride: int = 4
    reset: int = 0
    fields: tuple[Field, ...] = ()
    # a secret (a key): plans written as JSON leave its value out unless asked (docs/design.md)
    secret: bool = False

    def __post_init__(self) -> None:
        if self.offset % 4:
            raise RegisterError(f"register {self.name}: offset {self.offset:#x} not word aligned")
        if not 1 <= self.width <= 64:
            raise RegisterError(f"register {self.name}: width {self.width} not in 1..64")
        if self.count < 1:
            raise RegisterError(f"register {self.name}: count {self.count} < 1")
        if self.count > 1 and self.stride < self.words * 4:
            raise RegisterError(f"register {self.name}: stride {self.stride:#x} overlaps elements")

    @property
    def words(self) -> int:
        """32-bit words one element occupies (2 for 64-bit counters)."""
        return 2 if self.width > 32 else 1

    @property
    def max_value(self) -> int:
        return (1 << self.width) - 1

    def addr(self, index: int = 0) -> int:
        """Offset of element ``index`` relative to the block base."""
        if not 0 <= index < self.count:
            raise RegisterError(f"register {self.name}: index {index} not in 0..{self.count - 1}")
        return self.offset + index * self.stride

    def word_offsets(self) -> list[int]:
        """Every word offset this register (all elements) occupies."""
        return [
            self.offset + i * self.stride + 4 * w
            for i in range(self.count)
            for w in range(self.words)
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """A register block: the waypoint or one PE. ``registers`` must start with ID and VERSION."""

    name: str
    base: int
    id: int
    version: int
    doc: str
    registers: tuple[Register, ...]

    def __post_init__(self) -> None:
        if self.base % BLOCK_SIZE:
            raise RegisterError(
                f"block {self.name}: base {self.base:#x} not {BLOCK_SIZE:#x}-aligned"
            )
        if len(self.registers) < 2 or [r.name for r in self.registers[:2]] != ["ID", "VERSION"]:
            raise RegisterError(f"block {self.name}: must start with ID and VERSION")
        if self.registers[0].offset != 0x00 or self.registers[1].offset != 0x04:
            raise RegisterError(f"block {self.name}: ID must be at 0x00 and VERSION at 0x04")
        seen: dict[int, str] = {}
        names: set[str] = set()
        for reg in self.registers:
            if reg.name in names:
                raise RegisterError(f"block {self.name}: duplicate register {reg.name}")
            names.add(reg.name)
            for off in reg.word_offsets():
                if off >= BLOCK_SIZE:
                    raise RegisterError(
                        f"block {self.name}: register {reg.name} word {off:#x} beyond block"
                    )
                if off in seen:
                    raise RegisterError(
                        f"block {self.name}: register {reg.name} overlaps {seen[off]} at {off:#x}"
                    )
                seen[off] = reg.name

    @property
    def prefix(self) -> str:
        """Upper-case prefix of the generated Verilog names, e.g. ``WP_FW``."""
        return self.name.upper()

    def reg(self, name: str) -> Register:
        for reg in self.registers:
            if reg.name == name:
                return reg
        known = ", ".join(r.name for r in self.registers)
        raise RegisterError(f"block {self.name}: no register {name!r} (known: {known})")


def _id_version(block_id: int, version: int) -> tuple[Register, Register]:
    return (
        Register(
            name="ID",
            offset=0x00,
            access=Access.RO,
            reset=block_id,
            doc=f"block identifier, reads {block_id:#010x}",
        ),
        Register(
            name="VERSION",
            offset=0x04,
            access=Access.RO,
            reset=version,
            doc="block version: major [31:16], minor [15:0]",
        ),
    )


def _ctrl_clear() -> Register:
    return Register(
        name="CTRL",
        offset=0x0C,
        access=Access.WO,
        doc="commands (self-clearing)",
        fields=(Field(name="CLEAR", lsb=0, width=1, doc="write 1: clear every counter"),),
    )


def _caps(what: str) -> Register:
    return Register(name="CAPS", offset=0x08, access=Access.RO, doc=f"number of {what} implemented")


def _version(major: int, minor: int) -> int:
    return (major << VERSION_MAJOR_SHIFT) | minor


# --- Parameters shared by HDL and drivers -------------------------------------------------------

WP_MAX_ENTRIES = 64
"""Waypoint dispatch table entries reserved in the map (an instance implements ``CAPS``)."""
WP_MAX_PES = 15
"""PE indices 0..14; PE ``k`` has its register block in slot ``k + 1``."""
FW_MAX_RULES = 64
NAT_MAX_MAPPINGS = 64

PE_FW = 0
"""PE index of the firewall inside ``wp_waypoint``."""
PE_NAT = 1
"""PE index of the NAT inside ``wp_waypoint``."""
PE_EXT_FIRST = 2
"""First PE index of the external PE ports of ``wp_waypoint`` (wp_chacha20, wp_ids)."""

WP_WAYPOINT = Block(
    name="wp_waypoint",
    base=0x0000,
    id=0x57500001,
    version=_version(1, 0),
    doc=(
        "Waypoint dispatch (Figure 5 interconnect): an NSH frame whose (SPI, SI) hits a valid "
        "entry goes to PE `ENTRY_PE` with tuser dst_port = `ENTRY_PORT`; non-NSH frames and "
        "misses go out unchanged with dst_port = `DEFAULT_PORT`; frames with tuser pkt_len > "
        "`MTU` are dropped."
    ),
    registers=(
        *_id_version(0x57500001, _version(1, 0)),
        _caps("dispatch table entries"),
        _ctrl_clear(),
        Register(
            name="DEFAULT_PORT",
            offset=0x10,
            access=Access.RW,
            width=8,
            doc="tuser dst_port for non-NSH frames and table misses",
        ),
        Register(
            name="MTU",
            offset=0x14,
            access=Access.RW,
            width=16,
            reset=9600,
            doc="frames with tuser pkt_len above this are dropped (bytes, Ethernet frame)",
        ),
        Register(
            name="NUM_PES", offset=0x18, access=Access.RO, width=8, doc="PE ports implemented"
        ),
        Register(
            name="NONNSH_PKTS",
            offset=0x20,
            access=Access.RO,
            width=64,
            doc="frames without NSH (sent to DEFAULT_PORT)",
        ),
        Register(
            name="MISS_PKTS",
            offset=0x28,
            access=Access.RO,
            width=64,
            doc="NSH frames that are malformed or whose (SPI, SI) has no valid entry",
        ),
        Register(
            name="DROP_PKTS",
            offset=0x30,
            access=Access.RO,
            width=64,
            doc="frames dropped because tuser pkt_len > MTU",
        ),
        Register(
            name="ENTRY_KEY",
            offset=0x100,
            access=Access.RW,
            count=WP_MAX_ENTRIES,
            stride=0x10,
            doc="entry i match key: SPI [31:8], SI [7:0] (the NSH service path header word)",
            fields=(
                Field(name="SPI", lsb=8, width=24, doc="service path identifier"),
                Field(name="SI", lsb=0, width=8, doc="service index"),
            ),
        ),
        Register(
            name="ENTRY_PE",
            offset=0x104,
            access=Access.RW,
            width=4,
            count=WP_MAX_ENTRIES,
            stride=0x10,
            doc="entry i: PE index that serves this hop (0 = fw, 1 = nat, 2.. = external)",
        ),
        Register(
            name="ENTRY_PORT",
            offset=0x108,
            access=Access.RW,
            width=8,
            count=WP_MAX_ENTRIES,
            stride=0x10,
            doc="entry i: tuser dst_port written into the frame (SUME one-hot port bits)",
        ),
        Register(
            name="ENTRY_CTRL",
            offset=0x10C,
            access=Access.RW,
            width=1,
            count=WP_MAX_ENTRIES,
            stride=0x10,
            doc="entry i control",
            fields=(Field(name="VALID", lsb=0, width=1, doc="entry takes part in lookups"),),
        ),
        Register(
            name="ENTRY_PKTS",
            offset=0x800,
            access=Access.RO,
            width=64,
            count=WP_MAX_ENTRIES,
            stride=0x10,
            doc="entry i: frames dispatched",
        ),
        Register(
            name="ENTRY_BYTES",
            offset=0x808,
            access=Access.RO,
            width=64,
            count=WP_MAX_ENTRIES,
            stride=0x10,
            doc="entry i: bytes dispatched (counted from tkeep)",
        ),
    ),
)

WP_FW = Block(
    name="wp_fw",
    base=0x1000 * (PE_FW + 1),
    id=0x57500002,
    version=_version(1, 0),
    doc=(
        "Firewall PE: rule i matches when the inner IPv4 source is in SRC_ADDR/SRC_PLEN, the "
        "destination in DST_ADDR/DST_PLEN, the protocol equals PROTO (unless ANY_PROTO) and the "
        "L4 ports are within SPORT/DPORT ranges (ports read as 0 for non-TCP/UDP and non-first "
        "fragments). The lowest-index valid matching rule decides; no match → DEFAULT_ACTION; "
        "frames that are not (NSH+)IPv4 → NONIP_ACTION. Permitted NSH frames leave with SI − 1."
    ),
    registers=(
        *_id_version(0x57500002, _version(1, 0)),
        _caps("rules"),
        _ctrl_clear(),
        Register(
            name="DEFAULT_ACTION",
            offset=0x10,
            access=Access.RW,
            width=1,
            doc="1 = permit, 0 = deny, when no rule matches",
        ),
        Register(
            name="NONIP_ACTION",
            offset=0x14,
            access=Access.RW,
            width=1,
            reset=1,
            doc="1 = permit, 0 = deny, for frames without a parseable IPv4 header",
        ),
        Register(name="PERMIT_PKTS", offset=0x20, access=Access.RO, width=64, doc="frames passed"),
        Register(name="DENY_PKTS", offset=0x28, access=Access.RO, width=64, doc="frames dropped"),
        Register(
            name="DEFAULT_PKTS",
            offset=0x30,
            access=Access.RO,
            width=64,
            doc="IPv4 frames no rule matched",
        ),
        Register(
            name="NONIP_PKTS",
            offset=0x38,
            access=Access.RO,
            width=64,
            doc="frames without a parseable IPv4 header",
        ),
        Register(
            name="RULE_CTRL",
            offset=0x100,
            access=Access.RW,
            width=3,
            count=FW_MAX_RULES,
            stride=0x20,
            doc="rule i control",
            fields=(
                Field(name="VALID", lsb=0, width=1, doc="rule takes part in matching"),
                Field(name="PERMIT", lsb=1, width=1, doc="1 = permit, 0 = deny"),
                Field(name="ANY_PROTO", lsb=2, width=1, doc="1 = ignore PROTO"),
            ),
        ),
        Register(
            name="RULE_SRC_ADDR",
            offset=0x104,
            access=Access.RW,
            count=FW_MAX_RULES,
            stride=0x20,
            doc="rule i: IPv4 source prefix address",
        ),
        Register(
            name="RULE_SRC_PLEN",
            offset=0x108,
            access=Access.RW,
            width=6,
            count=FW_MAX_RULES,
            stride=0x20,
            doc="rule i: IPv4 source prefix length 0..32",
        ),
        Register(
            name="RULE_DST_ADDR",
            offset=0x10C,
            access=Access.RW,
            count=FW_MAX_RULES,
            stride=0x20,
            doc="rule i: IPv4 destination prefix address",
        ),
        Register(
            name="RULE_DST_PLEN",
            offset=0x110,
            access=Access.RW,
            width=6,
            count=FW_MAX_RULES,
            stride=0x20,
            doc="rule i: IPv4 destination prefix length 0..32",
        ),
        Register(
            name="RULE_PROTO",
            offset=0x114,
            access=Access.RW,
            width=8,
            count=FW_MAX_RULES,
            stride=0x20,
            doc="rule i: IPv4 protocol",
        ),
        Register(
            name="RULE_SPORT",
            offset=0x118,
            access=Access.RW,
            count=FW_MAX_RULES,
            stride=0x20,
            doc="rule i: L4 source port range",
            fields=(
                Field(name="LO", lsb=0, width=16, doc="lowest port"),
                Field(name="HI", lsb=16, width=16, doc="highest port"),
            ),
        ),
        Register(
            name="RULE_DPORT",
            offset=0x11C,
            access=Access.RW,
            count=FW_MAX_RULES,
            stride=0x20,
            doc="rule i: L4 destination port range",
            fields=(
                Field(name="LO", lsb=0, width=16, doc="lowest port"),
                Field(name="HI", lsb=16, width=16, doc="highest port"),
            ),
        ),
        Register(
            name="RULE_HITS",
            offset=0x900,
            access=Access.RO,
            width=64,
            count=FW_MAX_RULES,
            stride=0x8,
            doc="rule i: frames it decided",
        ),
    ),
)

WP_NAT = Block(
    name="wp_nat",
    base=0x1000 * (PE_NAT + 1),
    id=0x57500003,
    version=_version(1, 0),
    doc=(
        "Static NAT PE: mapping i (SNAT: matches the inner IPv4 source, DNAT: the destination) "
        "rewrites the address to NEW_ADDR and, when PORT_EN, matches TCP/UDP port MATCH_PORT and "
        "rewrites it to NEW_PORT. The lowest-index valid matching mapping applies; IPv4 and "
        "TCP/UDP checksums are updated incrementally (RFC 1624; a UDP checksum of 0 stays 0). "
        "NSH frames leave with SI − 1."
    ),
    registers=(
        *_id_version(0x57500003, _version(1, 0)),
        _caps("mappings"),
        _ctrl_clear(),
        Register(
            name="XLATE_PKTS", offset=0x20, access=Access.RO, width=64, doc="frames rewritten"
        ),
        Register(
            name="PASS_PKTS",
            offset=0x28,
            access=Access.RO,
            width=64,
            doc="frames no mapping matched (passed unchanged but for SI)",
        ),
        Register(
            name="MAP_CTRL",
            offset=0x100,
            access=Access.RW,
            width=3,
            count=NAT_MAX_MAPPINGS,
            stride=0x10,
            doc="mapping i control",
            fields=(
                Field(name="VALID", lsb=0, width=1, doc="mapping takes part in matching"),
                Field(name="DNAT", lsb=1, width=1, doc="0 = SNAT (source), 1 = DNAT (destination)"),
                Field(name="PORT_EN", lsb=2, width=1, doc="also match and rewrite the L4 port"),
            ),
        ),
        Register(
            name="MAP_MATCH_ADDR",
            offset=0x104,
            access=Access.RW,
            count=NAT_MAX_MAPPINGS,
            stride=0x10,
            doc="mapping i: address to match",
        ),
        Register(
            name="MAP_NEW_ADDR",
            offset=0x108,
            access=Access.RW,
            count=NAT_MAX_MAPPINGS,
            stride=0x10,
            doc="mapping i: replacement address",
        ),
        Register(
            name="MAP_PORTS",
            offset=0x10C,
            access=Access.RW,
            count=NAT_MAX_MAPPINGS,
            stride=0x10,
            doc="mapping i: ports (used when PORT_EN)",
            fields=(
                Field(name="MATCH", lsb=0, width=16, doc="L4 port to match"),
                Field(name="NEW", lsb=16, width=16, doc="replacement L4 port"),
            ),
        ),
        Register(
            name="MAP_HITS",
            offset=0x900,
            access=Access.RO,
            width=64,
            count=NAT_MAX_MAPPINGS,
            stride=0x8,
            doc="mapping i: frames rewritten",
        ),
    ),
)

# -- blocks of the external PEs: a block of external PE index k (k >= PE_EXT_FIRST) sits at
# base 0x1000 * (k + 1).
# ================================================================================================
PE_CHACHA20 = PE_EXT_FIRST
"""PE index of wp_chacha20 on the waypoint's external PE ports."""
PE_IDS = PE_EXT_FIRST + 1
"""PE index of wp_ids on the waypoint's external PE ports."""
IDS_MAX_SIGS = 16
"""IDS signatures reserved in the map (an instance implements ``CAPS``)."""
IDS_SIG_MAX_LEN = 16
"""Longest IDS signature in bytes."""

WP_CHACHA20 = Block(
    name="wp_chacha20",
    base=0x1000 * (PE_CHACHA20 + 1),
    id=0x57500004,
    version=_version(1, 0),
    doc=(
        "Encrypt/decrypt PE (ChaCha20, RFC 8439; frame format in encrypt_format.md). With "
        "ENABLE, encrypt inserts the 16-byte header {KEY_ID, SEQ, next protocol, version 1} after "
        "the IPv4 header of an Ethernet/IPv4 or Ethernet/NSH(MD2, length 2)/IPv4 frame (IHL 5) "
        "and encrypts the IPv4 payload with nonce KEY_ID‖SEQ; SEQ then increments. Decrypt "
        "undoes it for frames carrying KEY_ID. Frames it does not process pass unchanged; NSH "
        "frames leave with SI − 1 when DEC_SI."
    ),
    registers=(
        *_id_version(0x57500004, _version(1, 0)),
        _ctrl_clear(),
        Register(
            name="CONFIG",
            offset=0x10,
            access=Access.RW,
            width=3,
            reset=0x4,
            doc="configuration (DECRYPT resets to the DECRYPT parameter, DEC_SI to DEC_SI)",
            fields=(
                Field(name="ENABLE", lsb=0, width=1, doc="process frames (0: pass all, counted)"),
                Field(name="DECRYPT", lsb=1, width=1, doc="0 = encrypt, 1 = decrypt"),
                Field(name="DEC_SI", lsb=2, width=1, doc="decrement NSH SI of valid NSH frames"),
            ),
        ),
        Register(
            name="KEY_ID",
            offset=0x14,
            access=Access.RW,
            doc="key identifier: written into encrypted frames, required of decrypted ones",
        ),
        Register(
            name="SEQ",
            offset=0x18,
            access=Access.RW,
            width=64,
            doc=(
                "sequence number of the next encrypted frame (nonce = KEY_ID‖SEQ); write LO then "
                "HI (writing HI commits both); never reuse a (KEY, KEY_ID, SEQ)"
            ),
        ),
        Register(
            name="DONE_PKTS",
            offset=0x20,
            access=Access.RO,
            width=64,
            doc="frames encrypted (or decrypted)",
        ),
        Register(
            name="BYPASS_PKTS",
            offset=0x28,
            access=Access.RO,
            width=64,
            doc="frames passed unchanged (not IPv4 / not encrypted / disabled / malformed)",
        ),
        Register(
            name="REJECT_PKTS",
            offset=0x30,
            access=Access.RO,
            width=64,
            doc="decrypt: encrypted frames with another KEY_ID or version, passed unchanged",
        ),
        Register(
            name="KEY",
            offset=0x40,
            access=Access.WO,
            count=8,
            stride=4,
            secret=True,
            doc="256-bit key, word i = key bytes 4i..4i+3 little-endian (ChaCha20 state word 4+i)",
        ),
    ),
)

WP_IDS = Block(
    name="wp_ids",
    base=0x1000 * (PE_IDS + 1),
    id=0x57500005,
    version=_version(1, 1),
    doc=(
        "IDS PE: signature i (LEN bytes, 1..16; 0 = disabled) matches when it occurs anywhere "
        "inside the L4 payload of the inner IPv4 packet (after the TCP/UDP header; whole IPv4 "
        "payload for other protocols, non-first fragments and IHL > 5), across beat boundaries. "
        "A frame takes the strongest ACTION of the signatures it contains: drop > mark > pass. "
        "Mark sets the IPv4 DSCP to MARK_DSCP (ECN kept, checksum updated). Store-and-forward; "
        "NSH frames leave with SI − 1 when DEC_SI. A change to SIG_CTRL/SIG_DATA takes effect at "
        "the next frame boundary: the PE then holds its input while it rebuilds its match tables "
        "(about 520 cycles; STATUS.UPDATING reads 1 until the new set is in force)."
    ),
    registers=(
        *_id_version(0x57500005, _version(1, 1)),
        _caps("signatures"),
        _ctrl_clear(),
        Register(
            name="CONFIG",
            offset=0x10,
            access=Access.RW,
            width=1,
            reset=0x1,
            doc="configuration (DEC_SI resets to the DEC_SI parameter)",
            fields=(
                Field(name="DEC_SI", lsb=0, width=1, doc="decrement NSH SI of valid NSH frames"),
            ),
        ),
        Register(
            name="MARK_DSCP",
            offset=0x14,
            access=Access.RW,
            width=6,
            doc="DSCP written into frames whose action is mark",
        ),
        Register(
            name="STATUS",
            offset=0x18,
            access=Access.RO,
            width=1,
            doc="state of the signature set",
            fields=(
                Field(
                    name="UPDATING",
                    lsb=0,
                    width=1,
                    doc="a written signature set is not yet in force (match tables being rebuilt)",
                ),
            ),
        ),
        Register(name="PKTS", offset=0x20, access=Access.RO, width=64, doc="frames scanned"),
        Register(
            name="MATCH_PKTS",
            offset=0x28,
            access=Access.RO,
            width=64,
            doc="frames containing at least one signature",
        ),
        Register(name="MARK_PKTS", offset=0x30, access=Access.RO, width=64, doc="frames marked"),
        Register(name="DROP_PKTS", offset=0x38, access=Access.RO, width=64, doc="frames dropped"),
        Register(
            name="OVERSIZE_PKTS",
            offset=0x40,
            access=Access.RO,
            width=64,
            doc="frames longer than the frame buffer, dropped",
        ),
        Register(
            name="SIG_CTRL",
            offset=0x100,
            access=Access.RW,
            width=10,
            count=IDS_MAX_SIGS,
            stride=0x20,
            doc="signature i control",
            fields=(
                Field(name="LEN", lsb=0, width=5, doc="length in bytes 0..16 (0 = disabled)"),
                Field(name="ACTION", lsb=8, width=2, doc="0 = pass, 1 = mark, 2 = drop"),
            ),
        ),
        *(
            Register(
                name=f"SIG_DATA{w}",
                offset=0x104 + 4 * w,
                access=Access.RW,
                count=IDS_MAX_SIGS,
                stride=0x20,
                doc=f"signature i bytes {4 * w}..{4 * w + 3}, byte {4 * w} in bits [7:0]",
            )
            for w in range(4)
        ),
        Register(
            name="SIG_HITS",
            offset=0x900,
            access=Access.RO,
            width=64,
            count=IDS_MAX_SIGS,
            stride=0x8,
            doc="signature i: frames containing it",
        ),
    ),
)

BLOCKS: tuple[Block, ...] = (WP_WAYPOINT, WP_FW, WP_NAT, WP_CHACHA20, WP_IDS)
"""Every register block, in base-address order (a new block is appended here)."""


def block(name: str) -> Block:
    """The block called ``name`` (``wp_fw``...)."""
    for blk in BLOCKS:
        if blk.name == name:
            return blk
    raise RegisterError(f"no register block {name!r} (known: {', '.join(b.name for b in BLOCKS)})")


def check_blocks(blocks: tuple[Block, ...] = BLOCKS) -> None:
    """Reject duplicate names, IDs or overlapping bases across blocks."""
    seen_names: set[str] = set()
    seen_ids: dict[int, str] = {}
    seen_bases: dict[int, str] = {}
    for blk in blocks:
        if blk.name in seen_names:
            raise RegisterError(f"duplicate block name {blk.name}")
        seen_names.add(blk.name)
        if blk.id in seen_ids:
            raise RegisterError(f"block {blk.name}: ID {blk.id:#x} also used by {seen_ids[blk.id]}")
        seen_ids[blk.id] = blk.name
        if blk.base in seen_bases:
            raise RegisterError(
                f"block {blk.name}: base {blk.base:#x} also used by {seen_bases[blk.base]}"
            )
        seen_bases[blk.base] = blk.name


# --- Generators ----------------------------------------------------------------------------------

_GENERATED = "GENERATED by wphw/netfpga/regmap.py — do not edit; run python -m wphw.netfpga.regmap"


def render_verilog(blocks: tuple[Block, ...] = BLOCKS) -> str:
    """The Verilog header: one `` `define`` per block constant, register offset and field."""
    check_blocks(blocks)
    out = [
        f"// {_GENERATED} --write",
        "`ifndef WP_REGMAP_VH",
        "`define WP_REGMAP_VH",
        "",
        f"`define WP_BLOCK_SIZE 32'h{BLOCK_SIZE:08x}",
        f"`define WP_BLOCK_ADDR_WIDTH {BLOCK_SIZE.bit_length() - 1}",
        f"`define WP_PE_FW {PE_FW}",
        f"`define WP_PE_NAT {PE_NAT}",
        f"`define WP_PE_EXT_FIRST {PE_EXT_FIRST}",
        "",
    ]
    for blk in blocks:
        p = blk.prefix
        out.append(f"// ---- {blk.name} ----")
        out.append(f"`define {p}_BASE 32'h{blk.base:08x}")
        out.append(f"`define {p}_BLOCK_ID 32'h{blk.id:08x}")
        out.append(f"`define {p}_BLOCK_VERSION 32'h{blk.version:08x}")
        for reg in blk.registers:
            r = f"{p}_REG_{reg.name}"
            out.append(f"`define {r} 12'h{reg.offset:03x}")
            if reg.count > 1:
                out.append(f"`define {r}_STRIDE {reg.stride}")
                out.append(f"`define {r}_COUNT {reg.count}")
            out.append(f"`define {r}_WIDTH {reg.width}")
            if reg.reset and reg.name not in ("ID", "VERSION"):
                out.append(f"`define {r}_RESET {reg.width}'d{reg.reset}")
            for fld in reg.fields:
                out.append(f"`define {r}_{fld.name}_LSB {fld.lsb}")
                out.append(f"`define {r}_{fld.name}_WIDTH {fld.width}")
        out.append("")
    out.append("`endif")
    out.append("")
    return "\n".join(out)


def render_markdown(blocks: tuple[Block, ...] = BLOCKS) -> str:
    """``docs/regmap.md``: one table per block."""
    check_blocks(blocks)
    out = [
        "# Register map",
        "",
        f"<!-- {_GENERATED} --write -->",
        "",
        f"Every block has a {BLOCK_SIZE:#x}-byte aperture in the waypoint's AXI-Lite / PCIe BAR "
        "space and starts with `ID` (0x00) and `VERSION` (0x04, major [31:16] minor [15:0]). "
        "64-bit registers are two words, low word first; reading the low word latches the high "
        "word. Arrays: element *i* is at offset + *i* × stride; `CAPS` says how many elements an "
        "instance implements. See [hardware.md](hardware.md).",
        "",
        "| block | base | ID | VERSION |",
        "| --- | --- | --- | --- |",
    ]
    for blk in blocks:
        major, minor = blk.version >> VERSION_MAJOR_SHIFT, blk.version & 0xFFFF
        out.append(
            f"| [{blk.name}](#{blk.name}) | `{blk.base:#06x}` | `{blk.id:#010x}` "
            f"| {major}.{minor} |"
        )
    for blk in blocks:
        out += ["", f"## {blk.name}", "", blk.doc, ""]
        out += ["| offset | name | access | width | count × stride | reset | description |"]
        out += ["| --- | --- | --- | --- | --- | --- | --- |"]
        for reg in blk.registers:
            arr = f"{reg.count} × {reg.stride:#x}" if reg.count > 1 else ""
            doc = reg.doc
            if reg.fields:
                doc += "; " + ", ".join(
                    f"`{f.name}` [{f.lsb + f.width - 1}:{f.lsb}] {f.doc}" for f in reg.fields
                )
            out.append(
                f"| `{reg.offset:#05x}` | `{reg.name}` | {reg.access.value} | {reg.width} | {arr} "
                f"| `{reg.reset:#x}` | {doc} |"
            )
    out.append("")
    return "\n".join(out)


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def generated_files(root: Path | None = None) -> dict[Path, str]:
    """Every generated file with the text it must contain."""
    base = root if root is not None else repo_root()
    return {
        base / "hdl" / "include" / "wp_regmap.vh": render_verilog(),
        base / "docs" / "regmap.md": render_markdown(),
    }


def drifted(root: Path | None = None) -> list[Path]:
    """Generated files whose committed text differs from what this module renders."""
    return [
        path
        for path, text in generated_files(root).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def write_generated(root: Path | None = None) -> list[Path]:
    """(Re)write every generated file; returns the paths written."""
    written = []
    for path, text in generated_files(root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        log.info("wrote %s", path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="regenerate the files")
    group.add_argument("--check", action="store_true", help="fail when the files drifted")
    args = parser.parse_args(argv)
    if args.write:
        for path in write_generated():
            sys.stdout.write(f"wrote {path}\n")
        return 0
    stale = drifted()
    for path in stale:
        sys.stderr.write(f"{path} drifted from wphw/netfpga/regmap.py; run with --write\n")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
