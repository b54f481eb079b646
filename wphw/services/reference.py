"""Reference models of the packet-processing services, over one IPv4 datagram.

The software PEs (:mod:`wphw.pe.services`) run these; the cocotb testbenches (sim/) check the
RTL against them, so the hardware and the software PE are held to one model. ``ip`` starts at
the IPv4 header; bytes after the datagram (Ethernet padding) may follow, and lengths are those
of the given buffer, as the RTL sees a frame. WP-ESP encryption is :mod:`wphw.services.esp`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from wphw.errors import ServiceParamError
from wphw.services.ipv4 import (
    PROTO_TCP,
    PROTO_UDP,
    FlowKey,
    checksum_update,
    first_fragment,
    ihl_bytes,
    l4_checksum_offset,
    l4_payload_offset,
    set_u16_fix_csum,
    words32,
)
from wphw.services.params import FwRule, IdsParams, NatPair, check_range


def fw_decide(
    rules: Sequence[FwRule], default_permit: bool, key: FlowKey
) -> tuple[bool, int | None]:
    """(permit, index of the deciding rule or None for the default): first match wins."""
    for i, rule in enumerate(rules):
        if rule.matches(key):
            return rule.permit, i
    return default_permit, None


@dataclass(frozen=True, slots=True, kw_only=True)
class NatMapping:
    """One NAT translation as the hardware holds it. SNAT matches/rewrites the source, DNAT
    the destination. With ``match_port``, only TCP/UDP first fragments whose (source /
    destination) port equals it match, and the port becomes ``new_port`` (default unchanged)."""

    dnat: bool
    match_addr: ipaddress.IPv4Address
    new_addr: ipaddress.IPv4Address
    match_port: int | None = None
    new_port: int | None = None

    def __post_init__(self) -> None:
        for name in ("match_addr", "new_addr"):
            if not isinstance(getattr(self, name), ipaddress.IPv4Address):
                raise ServiceParamError(
                    f"NatMapping.{name}: {getattr(self, name)!r} not an IPv4Address"
                )
        if self.match_port is not None:
            check_range("NatMapping.match_port", self.match_port, 0, 0xFFFF)
        if self.new_port is not None:
            if self.match_port is None:
                raise ServiceParamError("NatMapping.new_port: needs match_port (port mapping)")
            check_range("NatMapping.new_port", self.new_port, 0, 0xFFFF)


def nat_table(pairs: Sequence[NatPair]) -> list[NatMapping]:
    """Static 1:1 pairs as the ordered translations: per pair an SNAT then a DNAT."""
    out = []
    for p in pairs:
        out.append(NatMapping(dnat=False, match_addr=p.inside, new_addr=p.outside))
        out.append(NatMapping(dnat=True, match_addr=p.outside, new_addr=p.inside))
    return out


def _ports_present(ip: bytes) -> bool:
    l4 = ihl_bytes(ip)
    return ip[9] in (PROTO_TCP, PROTO_UDP) and first_fragment(ip) and len(ip) >= l4 + 4


def nat_translate(table: Sequence[NatMapping], ip: bytes) -> tuple[bytes, int | None]:
    """``ip`` after the first matching translation (IPv4 and TCP/UDP checksums patched,
    RFC 1624; a UDP checksum of 0 stays 0) and the index of that translation, or None."""
    src = int.from_bytes(ip[12:16], "big")
    dst = int.from_bytes(ip[16:20], "big")
    l4 = ihl_bytes(ip)
    ports = _ports_present(ip)
    sport = int.from_bytes(ip[l4 : l4 + 2], "big") if ports else 0
    dport = int.from_bytes(ip[l4 + 2 : l4 + 4], "big") if ports else 0
    hit = None
    for i, m in enumerate(table):
        if (dst if m.dnat else src) == int(m.match_addr) and (
            m.match_port is None or (ports and (dport if m.dnat else sport) == m.match_port)
        ):
            hit = i
            break
    if hit is None:
        return ip, None
    m = table[hit]
    old_addr = dst if m.dnat else src
    new_addr = int(m.new_addr)
    out = bytearray(ip)
    a_off = 16 if m.dnat else 12
    out[a_off : a_off + 4] = new_addr.to_bytes(4, "big")
    old_w, new_w = words32(old_addr), words32(new_addr)
    hc = checksum_update(int.from_bytes(ip[10:12], "big"), old_w, new_w)
    out[10:12] = hc.to_bytes(2, "big")
    if m.match_port is not None:
        new_port = m.match_port if m.new_port is None else m.new_port
        p_off = l4 + (2 if m.dnat else 0)
        out[p_off : p_off + 2] = new_port.to_bytes(2, "big")
        old_w.append(dport if m.dnat else sport)
        new_w.append(new_port)
    c_off = l4_checksum_offset(ip)
    if c_off is not None:
        lc = int.from_bytes(ip[c_off : c_off + 2], "big")
        if not (ip[9] == PROTO_UDP and lc == 0):  # UDP without checksum stays so
            nc = checksum_update(lc, old_w, new_w)
            if ip[9] == PROTO_UDP and nc == 0:
                nc = 0xFFFF
            out[c_off : c_off + 2] = nc.to_bytes(2, "big")
    return bytes(out), hit


def ids_match(params: IdsParams, ip: bytes) -> tuple[int, tuple[int, ...]]:
    """(strongest action index, -1 for none; indices of the matching signatures): a signature
    matches anywhere in the L4 payload (:func:`~wphw.services.ipv4.l4_payload_offset`)."""
    payload = ip[l4_payload_offset(ip) :]
    hits = tuple(i for i, s in enumerate(params.signatures) if s.pattern in payload)
    return max((params.signatures[i].strength for i in hits), default=-1), hits


def ids_mark(ip: bytes, dscp: int) -> bytes:
    """``ip`` with its DSCP set to ``dscp`` (ECN kept), header checksum patched."""
    out = bytearray(ip)
    set_u16_fix_csum(out, 0, (out[0] << 8) | (dscp << 2) | (out[1] & 3), 10)
    return bytes(out)
