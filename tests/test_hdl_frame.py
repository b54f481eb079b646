"""hdl/include/wp_frame.vh — the frame layouts the RTL reads and writes — against scapy.

The header is hand-written (protocol constants, not registers); every value is checked here
against frames scapy builds (its Ethernet, NSH, IPv4, TCP and UDP layouts) and against the tuser
layout the testbenches and drivers use (``wphw.netfpga.cocotb_tb.tuser``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scapy.contrib.nsh import NSH
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from wphw.netfpga.cocotb_tb import tuser

VH = Path(__file__).resolve().parents[1] / "hdl" / "include" / "wp_frame.vh"


def _int(text: str) -> int:
    m = re.fullmatch(r"(?:(\d+)'([dhb]))?([0-9a-fA-F_]+)", text.strip())
    assert m, f"not a Verilog number: {text!r}"
    base = {"d": 10, "h": 16, "b": 2, None: 10}[m.group(2)]
    return int(m.group(3).replace("_", ""), base)


def _defines() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in VH.read_text(encoding="utf-8").splitlines():
        m = re.match(r"`define\s+(WP_\w+)(\([^)]*\))?\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(3).strip()
    return out


D = _defines()


def c(name: str) -> int:
    return _int(D[name])


def test_every_constant_parses() -> None:
    assert len(D) > 40
    for name in D:
        if name not in ("WP_FRAME_VH", "WP_PATCH_SI_DEC"):
            c(name)


def test_ethernet() -> None:
    b = bytes(Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02", type=0x1234))
    assert len(b) == c("WP_ETH_HDR_LEN")
    assert b[c("WP_ETH_TYPE_OFF") : c("WP_ETH_TYPE_OFF") + 2] == b"\x12\x34"
    assert bytes(Ether() / IP())[12:14] == c("WP_ETHERTYPE_IPV4").to_bytes(2, "big")
    assert bytes(Ether() / NSH())[12:14] == c("WP_ETHERTYPE_NSH").to_bytes(2, "big")


def test_nsh() -> None:
    b = bytes(Ether() / NSH(mdtype=2, nextproto=1, spi=0x123456, si=0xAB, ttl=0x3F) / IP())
    assert c("WP_NSH_OFF") == c("WP_ETH_HDR_LEN")
    assert b[c("WP_NSH_VER_OFF")] >> 6 == 0
    assert b[c("WP_NSH_LEN_OFF")] & 0x3F == 2 == c("WP_NSH_MIN_LEN")
    assert b[c("WP_NSH_MD_OFF")] & 0xF == 2 == c("WP_NSH_MD2")
    assert b[c("WP_NSH_NEXT_OFF")] == 1 == c("WP_NSH_NEXT_IPV4")
    spi = c("WP_NSH_SPI_OFF")
    assert b[spi : spi + 3] == bytes.fromhex("123456")
    assert b[c("WP_NSH_SI_OFF")] == 0xAB
    # base header + service path header, no context: the IPv4 header starts at WP_NSH_END
    assert b[c("WP_NSH_END")] == 0x45
    assert c("WP_NSH_END") == c("WP_NSH_OFF") + 4 * c("WP_NSH_MIN_LEN")
    v = bytes(NSH(ver=3))
    assert v[c("WP_NSH_VER_OFF") - c("WP_NSH_OFF")] >> 6 == 3
    md1 = bytes(Ether() / NSH(mdtype=1, nextproto=1) / IP())
    assert md1[c("WP_NSH_MD_OFF")] & 0xF == c("WP_NSH_MD1")
    assert md1[c("WP_NSH_LEN_OFF")] & 0x3F == c("WP_NSH_MAX_IP_LEN")  # MD type 1: 4 context words


def test_ipv4() -> None:
    ip = IP(tos=0x5C, len=0x1234, flags="MF", frag=0x1ABC, ttl=0x77, proto=0x99, chksum=0xBEEF)
    ip.src, ip.dst = "10.1.2.3", "192.168.4.5"
    b = bytes(ip)
    assert len(b) == c("WP_IPV4_HDR_LEN")
    assert b[c("WP_IPV4_TOS_OFF")] == 0x5C
    off = c("WP_IPV4_TOTAL_LEN_OFF")
    assert b[off : off + 2] == b"\x12\x34"
    off = c("WP_IPV4_FRAG_OFF")
    assert int.from_bytes(b[off : off + 2], "big") & 0x1FFF == 0x1ABC
    assert b[c("WP_IPV4_TTL_OFF")] == 0x77
    assert b[c("WP_IPV4_PROTO_OFF")] == 0x99
    off = c("WP_IPV4_CSUM_OFF")
    assert b[off : off + 2] == b"\xbe\xef"
    assert b[c("WP_IPV4_SRC_OFF") : c("WP_IPV4_SRC_OFF") + 4] == bytes([10, 1, 2, 3])
    assert b[c("WP_IPV4_DST_OFF") : c("WP_IPV4_DST_OFF") + 4] == bytes([192, 168, 4, 5])
    assert bytes(IP() / TCP())[9] == c("WP_IP_PROTO_TCP")
    assert bytes(IP() / UDP())[9] == c("WP_IP_PROTO_UDP")


def test_l4() -> None:
    t = bytes(
        TCP(sport=0x1111, dport=0x2222, chksum=0x3333, dataofs=7, options=[("NOP", None)] * 8)
    )
    assert t[c("WP_L4_SPORT_OFF") : c("WP_L4_SPORT_OFF") + 2] == b"\x11\x11"
    assert t[c("WP_L4_DPORT_OFF") : c("WP_L4_DPORT_OFF") + 2] == b"\x22\x22"
    assert t[c("WP_TCP_CSUM_OFF") : c("WP_TCP_CSUM_OFF") + 2] == b"\x33\x33"
    assert t[c("WP_TCP_DOFF_OFF")] >> 4 == 7
    assert len(bytes(TCP())) == c("WP_TCP_HDR_LEN")
    u = bytes(UDP(sport=0x1111, dport=0x2222, chksum=0x4444))
    assert u[c("WP_L4_SPORT_OFF") : c("WP_L4_SPORT_OFF") + 2] == b"\x11\x11"
    assert u[c("WP_L4_DPORT_OFF") : c("WP_L4_DPORT_OFF") + 2] == b"\x22\x22"
    assert u[c("WP_UDP_CSUM_OFF") : c("WP_UDP_CSUM_OFF") + 2] == b"\x44\x44"
    assert len(u) == c("WP_UDP_HDR_LEN")


@pytest.mark.parametrize("field", ["PKT_LEN", "SRC_PORT", "DST_PORT"])
def test_tuser(field: str) -> None:
    lsb, width = c(f"WP_TUSER_{field}_LSB"), c(f"WP_TUSER_{field}_WIDTH")
    value = {"PKT_LEN": tuser(0xFFFF), "SRC_PORT": tuser(0, src_port=0xFF)}.get(
        field, tuser(0, dst_port=0xFF)
    )
    assert value == ((1 << width) - 1) << lsb


def test_si_patch() -> None:
    """The SI patch writes one byte at WP_NSH_SI_OFF (wp_pe_out: {offset, len, value})."""
    m = re.fullmatch(r"\{8'd(\d+), 3'd(\d+), 24'd0, \(si\) - 8'd1\}", D["WP_PATCH_SI_DEC"])
    assert m, D["WP_PATCH_SI_DEC"]
    assert int(m.group(1)) == c("WP_NSH_SI_OFF")
    assert int(m.group(2)) == 1
    assert c("WP_PATCH_WIDTH") == 8 + 3 + 32


def test_tuser_width() -> None:
    """WP_TUSER_WIDTH (the SUME pipeline's 128-bit tuser) holds every field the RTL reads."""
    width = c("WP_TUSER_WIDTH")
    assert width == 128
    for field in ("PKT_LEN", "SRC_PORT", "DST_PORT"):
        assert c(f"WP_TUSER_{field}_LSB") + c(f"WP_TUSER_{field}_WIDTH") <= width
    assert tuser(0xFFFF, 0xFF, 0xFF) < 1 << width
