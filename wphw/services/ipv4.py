"""IPv4 datagram helpers shared by every service model: checksums and header fields.

One implementation of each (the RTL testbenches, the software PEs and the verifier's header
effects all use these): RFC 1071 checksums, the RFC 1624 incremental update, the flow key a PE
sees, where an L4 payload starts. Functions take the datagram from its IPv4 header on; bytes
after the datagram (Ethernet padding) may follow and are never read past what a field needs.
"""

from __future__ import annotations

from collections.abc import Sequence

PROTO_TCP = 6
PROTO_UDP = 17

FlowKey = tuple[int, int, int, int, int]
"""(source address, destination address, protocol, source port, destination port)."""


def ones_add(a: int, b: int) -> int:
    """16-bit ones' complement addition."""
    s = a + b
    return (s & 0xFFFF) + (s >> 16)


def ones_sum(data: bytes) -> int:
    """16-bit ones' complement sum of ``data`` (zero-padded to even length)."""
    if len(data) % 2:
        data += b"\0"
    n = int.from_bytes(data, "big")
    s = n % 0xFFFF  # 2**16 == 1 (mod 0xFFFF): the sum of the 16-bit words, folded
    return 0xFFFF if s == 0 and n != 0 else s


def inet_checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    return ~ones_sum(data) & 0xFFFF


def checksum_update(csum: int, old_words: Sequence[int], new_words: Sequence[int]) -> int:
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') over every changed 16-bit word."""
    s = ~csum & 0xFFFF
    for old, new in zip(old_words, new_words, strict=True):
        s = ones_add(s, ~old & 0xFFFF)
        s = ones_add(s, new)
    return ~s & 0xFFFF


def words32(value: int) -> list[int]:
    """A 32-bit value as its two 16-bit words, high first."""
    return [(value >> 16) & 0xFFFF, value & 0xFFFF]


def ihl_bytes(ip: bytes) -> int:
    return (ip[0] & 0x0F) * 4


def first_fragment(ip: bytes) -> bool:
    return int.from_bytes(ip[6:8], "big") & 0x1FFF == 0


def l4_checksum_offset(ip: bytes) -> int | None:
    """Offset of the TCP/UDP checksum in ``ip`` when a first fragment carries it whole."""
    if not first_fragment(ip):
        return None
    off = {PROTO_TCP: 16, PROTO_UDP: 6}.get(ip[9])
    if off is None or len(ip) < ihl_bytes(ip) + off + 2:
        return None
    return ihl_bytes(ip) + off


def l4_checksum(ip: bytes) -> int:
    """The TCP/UDP checksum ``ip``'s segment should carry (pseudo-header included)."""
    hl = ihl_bytes(ip)
    proto = ip[9]
    seg = bytearray(ip[hl:])
    off = 16 if proto == PROTO_TCP else 6
    seg[off : off + 2] = b"\0\0"
    pseudo = ip[12:20] + bytes([0, proto]) + len(seg).to_bytes(2, "big")
    csum = inet_checksum(pseudo + bytes(seg))
    return 0xFFFF if proto == PROTO_UDP and csum == 0 else csum


def _flow_key(ip: bytes, l4: int | None) -> FlowKey:
    """The 5-tuple with the ports read at offset ``l4`` (None: no ports, both 0)."""
    sport = dport = 0
    if l4 is not None:
        sport = int.from_bytes(ip[l4 : l4 + 2], "big")
        dport = int.from_bytes(ip[l4 + 2 : l4 + 4], "big")
    src, dst = int.from_bytes(ip[12:16], "big"), int.from_bytes(ip[16:20], "big")
    return (src, dst, ip[9], sport, dport)


def switch_flow_key(ip: bytes) -> FlowKey:
    """The 5-tuple as the P4 switch classifies it: ports are 0 unless TCP/UDP with IHL 5 (the
    P4 parser reads no options), and 0 for non-first fragments."""
    tcp_udp = ip[9] in (PROTO_TCP, PROTO_UDP)
    ok = tcp_udp and ip[0] == 0x45 and len(ip) >= 24 and first_fragment(ip)
    return _flow_key(ip, 20 if ok else None)


def pe_flow_key(ip: bytes) -> FlowKey:
    """The 5-tuple as a PE reads it (hdl/wp_hdr_parse.v): the ports follow the IPv4 options,
    present for a TCP/UDP first fragment with four bytes of L4 header; 0 otherwise."""
    l4 = ihl_bytes(ip)
    ok = ip[9] in (PROTO_TCP, PROTO_UDP) and first_fragment(ip) and len(ip) >= l4 + 4
    return _flow_key(ip, l4 if ok else None)


def l4_payload_offset(ip: bytes) -> int:
    """Where the hardware IDS starts scanning: after the TCP/UDP header of a first fragment
    with IHL 5; after the IPv4 header otherwise."""
    hl = ihl_bytes(ip)
    if hl != 20 or not first_fragment(ip):
        return hl
    if ip[9] == PROTO_TCP and len(ip) >= hl + 20:
        return min(len(ip), hl + (ip[hl + 12] >> 4) * 4)
    if ip[9] == PROTO_UDP:
        return min(len(ip), hl + 8)
    return hl


def set_u16_fix_csum(buf: bytearray, off: int, new: int, csum_off: int) -> None:
    """Write the 16-bit word at ``off`` and patch the checksum at ``csum_off`` (RFC 1624)."""
    old = int.from_bytes(buf[off : off + 2], "big")
    buf[off : off + 2] = new.to_bytes(2, "big")
    c = checksum_update(int.from_bytes(buf[csum_off : csum_off + 2], "big"), [old], [new])
    buf[csum_off : csum_off + 2] = c.to_bytes(2, "big")
