"""Unit tests of the software PE: services and frame handling on bytes (no sockets, no root)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.contrib.nsh import NSH
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from wphw.errors import PEError
from wphw.pe.runtime import FrameProcessor
from wphw.pe.services import Drop, make_service
from wphw.services import esp
from wphw.services.ipv4 import inet_checksum, l4_checksum

KEY = bytes(range(32))
KEY_HEX = KEY.hex()


def ip_bytes(pkt: IP) -> bytes:
    return bytes(pkt)


def nsh_frame(inner: IP, spi: int = 7, si: int = 255, ttl: int = 63) -> bytes:
    return bytes(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / NSH(ttl=ttl, mdtype=2, nextproto=1, spi=spi, si=si)
        / inner
    )


def checksums_ok(ip: bytes) -> None:
    """Scapy recomputes checksums when they are deleted: compare with what we carry."""
    pkt = IP(ip)
    ref = pkt.copy()
    del ref.chksum
    if TCP in ref:
        del ref[TCP].chksum
    if UDP in ref:
        del ref[UDP].chksum
    ref = IP(bytes(ref))
    assert pkt.chksum == ref.chksum
    if TCP in pkt:
        assert pkt[TCP].chksum == ref[TCP].chksum
    if UDP in pkt and pkt[UDP].chksum != 0:
        assert pkt[UDP].chksum == ref[UDP].chksum


def test_checksum_helpers_match_scapy() -> None:
    for payload in (b"", b"x", b"hello world!", bytes(range(256)) * 3):
        pkt = IP(bytes(IP(src="10.0.0.1", dst="10.9.8.7") / TCP(sport=1234, dport=80) / payload))
        assert l4_checksum(bytes(pkt)) == pkt[TCP].chksum
        assert inet_checksum(bytes(pkt)[:20]) == 0  # a valid header sums to 0xFFFF
        u = IP(bytes(IP(src="1.2.3.4", dst="5.6.7.8") / UDP(sport=5, dport=53) / payload))
        assert l4_checksum(bytes(u)) == u[UDP].chksum


def test_encrypt_decrypt_roundtrip_and_interop_with_esp() -> None:
    enc = make_service("encrypt", {"key": KEY_HEX, "key_id": 5, "seq_start": 100}, pe="e")
    dec = make_service("decrypt", {"key": KEY_HEX, "key_id": 5}, pe="d")
    plain = ip_bytes(IP(src="10.0.0.1", dst="10.0.0.2", id=42) / UDP(dport=9) / (b"secret" * 20))
    c1 = enc.process(plain)
    c2 = enc.process(plain)
    assert isinstance(c1, bytes) and isinstance(c2, bytes)
    assert c1 != c2  # fresh SEQ per packet
    assert b"secret" not in c1
    assert c1[9] == esp.WP_ESP_PROTO and len(c1) == len(plain) + esp.HEADER_LEN
    assert esp.Header.unpack(c1[20:36]).seq == 100
    assert inet_checksum(c1[:20]) == 0
    # the reference model (and therefore the Verilog PE) produces the same bytes
    frame = bytes(Ether() / IP(plain))
    assert esp.encrypt(frame, key=KEY, key_id=5, seq=100)[14:] == c1
    assert dec.process(c1) == plain
    assert dec.process(c2) == plain
    assert enc.counters()["done"] == 2 and enc.counters()["next_seq"] == 102
    assert dec.counters()["done"] == 2


def test_encrypt_seq_seeded_from_clock_and_unique() -> None:
    a = make_service("encrypt", {"key": KEY_HEX}, pe="a")
    b = make_service("encrypt", {"key": KEY_HEX}, pe="b")
    assert a.counters()["next_seq"] > 1_600_000_000 * 10**9
    assert b.counters()["next_seq"] > a.counters()["next_seq"]


def test_decrypt_multiple_keys_reject_and_bypass() -> None:
    other = bytes(32 * [7])
    dec = make_service(
        "decrypt",
        {"keys": [{"key_id": 1, "key": KEY_HEX}, {"key_id": 2, "key": other.hex()}]},
        pe="d",
    )
    plain = ip_bytes(IP(src="1.1.1.1", dst="2.2.2.2") / TCP() / b"abc")
    for kid, key in ((1, KEY), (2, other)):
        c = esp.encrypt(bytes(Ether() / IP(plain)), key=key, key_id=kid, seq=9)[14:]
        assert dec.process(c) == plain
    c3 = esp.encrypt(bytes(Ether() / IP(plain)), key=KEY, key_id=3, seq=9)[14:]
    assert dec.process(c3) == c3  # unknown key id: passed unchanged, like the hardware
    assert dec.process(plain) == plain
    assert dec.counters() == {"done": 2, "bypass": 1, "reject": 1}
    strict = make_service("decrypt", {"key": KEY_HEX, "key_id": 1, "reject": "drop"}, pe="s")
    assert strict.process(c3) == Drop("decrypt_reject")


def test_encrypt_bypass_options_packet() -> None:
    enc = make_service("encrypt", {"key": KEY_HEX, "bypass": "drop"}, pe="e")
    opt = ip_bytes(IP(options=[b"\x01\x01\x01\x00"]) / UDP() / b"x")
    assert enc.process(opt) == Drop("encrypt_bypass")
    enc2 = make_service("encrypt", {"key": KEY_HEX}, pe="e")
    assert enc2.process(opt) == opt


@pytest.mark.parametrize(
    "bad",
    [
        {"key": "00"},
        {"key": "zz" * 32},
        {},
        {"key": KEY_HEX, "key_id": -1},
        {"key": KEY_HEX, "bypass": "maybe"},
    ],
)
def test_encrypt_bad_params(bad: dict[str, object]) -> None:
    with pytest.raises(PEError, match="PE e"):
        make_service("encrypt", bad, pe="e")


FW = {
    "rules": [
        {"src": "10.0.0.0/24", "proto": "tcp", "dst_port": "80-90", "action": "permit"},
        {"src": "10.0.0.0/16", "action": "deny"},
        {"dst": "192.168.2.0/24", "proto": "udp", "src_port": 53, "action": "deny"},
    ],
    "default": "permit",
}


def test_fw_first_match_ports_and_default() -> None:
    fw = make_service("fw", FW, pe="fw1")
    cases = [
        (IP(src="10.0.0.5", dst="8.8.8.8") / TCP(dport=85), True),
        (IP(src="10.0.0.5", dst="8.8.8.8") / TCP(dport=91), False),
        (IP(src="10.0.1.5", dst="8.8.8.8") / UDP(dport=85), False),
        (IP(src="10.1.0.5", dst="192.168.2.9") / UDP(sport=53), False),
        (IP(src="10.1.0.5", dst="192.168.2.9") / UDP(sport=54), True),
        (IP(src="10.1.0.5", dst="192.168.2.9") / ICMP(), True),
    ]
    for pkt, permit in cases:
        b = bytes(pkt)
        assert fw.process(b) == (b if permit else Drop("fw_deny")), pkt.summary()
    c = fw.counters()
    assert c["permit"] == 3 and c["deny"] == 3 and c["default"] == 2
    assert c["rule_hits"] == [1, 2, 1]
    deny_all = make_service("fw", {"default": "deny"}, pe="fw2")
    assert deny_all.process(bytes(IP() / ICMP())) == Drop("fw_deny")


def test_fw_bad_rule() -> None:
    with pytest.raises(PEError, match=r"rules\[0\]"):
        make_service("fw", {"rules": [{"src": "10.0.0.0/33", "action": "deny"}]}, pe="f")
    with pytest.raises(PEError, match="permit\\|deny"):
        make_service("fw", {"rules": [{"src": "10.0.0.0/8"}]}, pe="f")


IDS = {
    "signatures": [
        {"name": "evil", "pattern": "EVIL", "action": "drop"},
        {"name": "sus", "hex": "deadbeef", "action": "mark"},
        {"name": "note", "pattern": "hello", "action": "pass"},
    ],
    "mark_dscp": 46,
}


def test_ids_count_mark_drop() -> None:
    ids = make_service("ids", IDS, pe="ids1")
    base = IP(src="10.0.0.1", dst="10.0.0.2", tos=0x01) / TCP(sport=1, dport=2)
    hello = bytes(base / b"say hello")
    assert ids.process(hello) == hello
    marked = ids.process(bytes(base / b"xx\xde\xad\xbe\xefyy"))
    assert isinstance(marked, bytes)
    assert IP(marked).tos == (46 << 2) | 0x01  # DSCP set, ECN kept
    checksums_ok(marked)
    assert ids.process(bytes(base / b"an EVIL deadbeef hello")) == Drop("ids_drop")
    # the L4 header is not scanned: a port that spells a signature does not match
    assert ids.process(bytes(IP() / UDP(sport=0x6865, dport=0x6C6C) / b"o")) != Drop("ids_drop")
    c = ids.counters()
    assert c["pkts"] == 4 and c["match_pkts"] == 3 and c["mark_pkts"] == 1 and c["drop_pkts"] == 1
    assert c["sig_hits"] == {"evil": 1, "sus": 1, "note": 2}


def test_nat_snat_dnat_checksums() -> None:
    nat = make_service(
        "nat", {"mappings": [{"inside": "192.168.0.10", "outside": "203.0.113.10"}]}, pe="n"
    )
    out = nat.process(bytes(IP(src="192.168.0.10", dst="8.8.8.8") / TCP(sport=5, dport=80) / b"x"))
    assert isinstance(out, bytes)
    assert IP(out).src == "203.0.113.10"
    checksums_ok(out)
    back = nat.process(bytes(IP(src="8.8.8.8", dst="203.0.113.10") / UDP(sport=53) / b"answer"))
    assert isinstance(back, bytes)
    assert IP(back).dst == "192.168.0.10"
    checksums_ok(back)
    nock = IP(src="192.168.0.10", dst="1.1.1.1") / UDP() / b"z"
    raw = bytearray(bytes(nock))
    raw[26:28] = b"\0\0"  # UDP without checksum
    out3 = nat.process(bytes(raw))
    assert isinstance(out3, bytes) and out3[26:28] == b"\0\0"
    checksums_ok(out3)
    other = bytes(IP(src="1.2.3.4", dst="5.6.7.8") / ICMP())
    assert nat.process(other) == other
    assert nat.counters() == {"snat": 2, "dnat": 1, "pass": 1}


def test_count_flows() -> None:
    cnt = make_service("count", {"max_flows": 2}, pe="c")
    a = bytes(IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=1, dport=2) / b"aaaa")
    b = bytes(IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=1, dport=3))
    c = bytes(IP(src="3.3.3.3", dst="2.2.2.2") / TCP())
    for pkt in (a, a, b, c):
        assert cnt.process(pkt) == pkt
    assert cnt.counters() == {
        "pkts": 4,
        "bytes": 2 * len(a) + len(b) + len(c),
        "overflow": 1,
        "flows": 2,
    }
    flows = {(f["dst_port"]): f for f in cnt.flows()}  # type: ignore[attr-defined]
    assert flows[2]["packets"] == 2 and flows[2]["bytes"] == 2 * len(a)
    assert flows[3]["packets"] == 1 and flows[3]["src"] == "1.1.1.1"


HTTP = {
    "block": ["example.com/admin", "BAD.test"],
    "rewrite": [{"header": "User-Agent", "value": "wphw"}, {"header": "X-Long", "value": "y" * 50}],
}


def http_req(path: str, host: str, sport: int = 40000, extra: str = "") -> bytes:
    payload = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/8.5.0\r\n{extra}\r\n"
    return bytes(
        IP(src="192.168.1.5", dst="10.0.0.80") / TCP(sport=sport, dport=80, flags="PA") / payload
    )


def test_http_proxy_block_and_rewrite() -> None:
    hp = make_service("http_proxy", HTTP, pe="hp")
    blocked = http_req("/admin/users", "example.com")
    assert hp.process(blocked) == Drop("http_blocked")
    cont = bytes(
        IP(src="192.168.1.5", dst="10.0.0.80") / TCP(sport=40000, dport=80) / b"rest of body"
    )
    assert hp.process(cont) == Drop("http_blocked_flow")  # rest of the blocked flow
    assert hp.process(http_req("/", "www.bad.test", sport=40001)) == Drop("http_blocked")
    ok = http_req("/index.html", "example.com", sport=40002, extra="X-Long: short\r\n")
    out = hp.process(ok)
    assert isinstance(out, bytes) and len(out) == len(ok)
    payload = bytes(IP(out)[TCP].payload)
    assert b"\r\nUser-Agent: wphw      \r\n" in payload  # same length, padded with spaces
    assert b"X-Long: short\r\n" in payload  # new value does not fit: unchanged
    checksums_ok(out)
    not_http = bytes(IP() / TCP(dport=443) / b"GET /admin HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert hp.process(not_http) == not_http
    c = hp.counters()
    assert c["requests"] == 3 and c["blocked"] == 2 and c["rewritten"] == 1
    assert c["rewrite_too_long"] == 1 and c["blocked_flow_pkts"] == 1 and c["blocked_flows"] == 2


def test_unknown_service() -> None:
    with pytest.raises(PEError, match="unknown service 'dpi'"):
        make_service("dpi", {}, pe="x")


# --- frame handling ------------------------------------------------------------------------


def test_nsh_frame_si_decrement_and_spi_kept() -> None:
    proc = FrameProcessor(make_service("count", {}, pe="c"), name="c", stamp=True)
    inner = IP(src="10.0.0.1", dst="10.0.0.2", id=777) / UDP(sport=5, dport=6) / b"data"
    out = proc.process(nsh_frame(inner, spi=0x123456, si=200, ttl=9))
    assert out is not None
    pkt = Ether(out)
    assert pkt[NSH].spi == 0x123456 and pkt[NSH].si == 199 and pkt[NSH].ttl == 9
    assert bytes(pkt[NSH].payload) == bytes(inner)
    stamp = proc.stamps_since(0)[0]
    assert stamp["ip_id"] == 777 and stamp["spi"] == 0x123456 and stamp["si"] == 200
    assert (stamp["src"], stamp["dst_port"], stamp["verdict"]) == ("10.0.0.1", 6, "tx")
    assert proc.stamps_since(1) == []


def test_malformed_frames_are_counted() -> None:
    proc = FrameProcessor(make_service("count", {}, pe="c"), name="c")
    good = nsh_frame(IP() / UDP())
    frames = {
        "runt": b"\x01\x02",
        "not_nsh": bytes(Ether() / IP() / UDP()),
        "bad_nsh": good[:18],
        "si_zero": nsh_frame(IP() / UDP(), si=0),
        "bad_ipv4": good[:30],
        "not_ipv4": bytes(Ether() / NSH(mdtype=2, nextproto=3) / (b"\x00" * 40)),
    }
    bad_ver = bytearray(good)
    bad_ver[14] |= 0x40
    frames["bad_nsh "] = bytes(bad_ver)
    for frame in frames.values():
        assert proc.process(frame) is None
    assert proc.process(good) is not None
    c = proc.counters()
    assert c["rx"] == 8 and c["tx"] == 1 and c["dropped"] == 7
    assert c["by_reason"] == {
        "runt": 1,
        "not_nsh": 1,
        "bad_nsh": 2,
        "si_zero": 1,
        "bad_ipv4": 1,
        "not_ipv4": 1,
    }


def test_padding_kept_and_service_errors_contained() -> None:
    class Boom(type(make_service("count", {}, pe="b"))):  # type: ignore[misc]
        def process(self, ip: bytes) -> bytes:
            raise RuntimeError("boom")

    padded = nsh_frame(IP() / UDP()) + b"\0" * 10
    ok = FrameProcessor(make_service("count", {}, pe="c"), name="c").process(padded)
    assert ok is not None and ok.endswith(b"\0" * 10) and len(ok) == len(padded)
    proc = FrameProcessor(Boom({}, pe="b"), name="b")
    assert proc.process(padded) is None
    assert proc.counters()["by_reason"] == {"service_error": 1}


def test_legacy_mode_keeps_vlan() -> None:
    proc = FrameProcessor(make_service("fw", FW, pe="fw"), legacy=True, name="fw")
    permit = Ether() / Dot1Q(vlan=42, prio=3) / IP(src="10.0.0.1") / TCP(dport=80)
    out = proc.process(bytes(permit))
    assert out == bytes(permit)
    deny = Ether() / Dot1Q(vlan=42) / IP(src="10.0.1.1") / TCP(dport=80)
    assert proc.process(bytes(deny)) is None
    assert proc.process(nsh_frame(IP() / UDP())) is None
    assert proc.counters()["by_reason"] == {"fw_deny": 1, "not_vlan": 1}


def test_encrypt_on_frames_matches_esp_with_nsh() -> None:
    """The software PE's output frame is the reference model's output (SI aside)."""
    enc = make_service("encrypt", {"key": KEY_HEX, "key_id": 9, "seq_start": 1000}, pe="e")
    proc = FrameProcessor(enc, name="e")
    frame = nsh_frame(IP(src="10.0.0.1", dst="10.0.0.2") / TCP() / b"payload", si=255)
    out = proc.process(frame)
    ref = esp.encrypt(frame, key=KEY, key_id=9, seq=1000)
    assert out is not None and out[:21] == ref[:21] and out[21] == 254 and out[22:] == ref[22:]


@settings(max_examples=200, deadline=None)
@given(
    payload=st.binary(max_size=300),
    proto=st.integers(0, 255),
    seq=st.integers(0, esp.SEQ_MAX),
    key_id=st.integers(0, esp.KEY_ID_MAX),
    key=st.binary(min_size=32, max_size=32),
)
def test_fast_path_is_the_reference_model(
    payload: bytes, proto: int, seq: int, key_id: int, key: bytes
) -> None:
    """The services' C-speed XOR gives exactly the bytes of wphw.services.esp (the hardware model)."""
    ip = bytes(IP(src="10.1.2.3", dst="10.4.5.6", proto=proto, id=seq & 0xFFFF) / payload)
    enc = make_service(
        "encrypt", {"key": key.hex(), "key_id": key_id, "seq_start": seq}, pe="e"
    ).process(ip)
    ref = esp.encrypt(bytes(Ether())[:12] + b"\x08\x00" + ip, key=key, key_id=key_id, seq=seq)
    assert enc == ref[14:]
    dec = make_service("decrypt", {"key": key.hex(), "key_id": key_id}, pe="d").process(ref[14:])
    assert dec == ip == esp.decrypt(ref, key=key, key_id=key_id)[14:]
