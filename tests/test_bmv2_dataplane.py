"""Packet tests of the wphw v1model program on a real BMv2 simple_switch_grpc (PTF style).

One scenario per test. A module-wide :class:`Bmv2Lab` (tests/bmv2_harness.py) runs the switch with
4 veth ports and pushes p4/build/wphw.{json,p4info.txtpb} over P4Runtime; before each test every
table entry is deleted. Entries are :class:`wphw.entries.TableEntry` values with the short names
of docs/dataplane.md. Ports: 0 access (subscribers), 1 uplink, 2 NSH-aware PE, 3 legacy PE.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator

import pytest
from scapy.contrib.nsh import NSH
from scapy.layers.inet import IP, TCP, UDP, IPOption_RR
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw
from scapy.utils import checksum

try:
    import bmv2_harness as harness
except ImportError:  # pragma: no cover - tests/ imported as a package
    from tests import bmv2_harness as harness  # type: ignore[no-redef]

from wphw.entries import LPM, Action, Exact, Range, TableEntry, Ternary

pytestmark = pytest.mark.bmv2

ACCESS, UPLINK, PE, LEGACY = 0, 1, 2, 3
HOST_MAC = "02:00:00:00:00:01"
ROUTER_MAC = "02:00:00:00:00:fe"
NEXT_HOP_MAC = "02:00:00:00:01:01"
ETHERTYPE_NSH = 0x894F


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def mac(text: str) -> int:
    return int(text.replace(":", ""), 16)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab() -> Iterator[harness.Bmv2Lab]:
    reason = harness.skip_reason()
    if reason:
        pytest.skip(reason)
    with harness.Bmv2Lab(harness.WPHW, n_ports=4) as running:
        yield running


@pytest.fixture
def sw(lab: harness.Bmv2Lab) -> Iterator[harness.Bmv2Lab]:
    assert lab.alive(), "simple_switch_grpc died"
    lab.clear()
    lab.drain()
    yield lab
    assert lab.alive(), "simple_switch_grpc died during the test"


# -- packets and entries ------------------------------------------------------------------------


def udp_packet(
    src: str = "10.0.0.1",
    dst: str = "10.0.2.2",
    sport: int = 1234,
    dport: int = 80,
    **ip_kw: object,
) -> Ether:
    return (
        Ether(src=HOST_MAC, dst=ROUTER_MAC)
        / IP(src=src, dst=dst, ttl=64, **ip_kw)
        / UDP(sport=sport, dport=dport)
        / Raw(b"waypoint" * 8)
    )


def tcp_packet(
    src: str = "10.0.0.1", dst: str = "10.0.2.2", sport: int = 4321, dport: int = 80
) -> Ether:
    return (
        Ether(src=HOST_MAC, dst=ROUTER_MAC)
        / IP(src=src, dst=dst, ttl=64)
        / TCP(sport=sport, dport=dport, flags="PA", seq=1000, ack=2000)
        / Raw(b"GET / HTTP/1.0\r\n\r\n")
    )


def nsh_packet(
    spi: int, si: int, ttl: int = 63, inner: Ether | None = None, **nsh_kw: int
) -> Ether:
    inner_ip = (inner or udp_packet())[IP]
    fields = {"ver": 0, "ttl": ttl, "length": 2, "mdtype": 2, "nextproto": 1, "spi": spi, "si": si}
    fields.update(nsh_kw)
    return Ether(src=HOST_MAC, dst=ROUTER_MAC, type=ETHERTYPE_NSH) / NSH(**fields) / inner_ip


def route(prefix: str = "10.0.2.0", length: int = 24, port: int = UPLINK) -> TableEntry:
    return TableEntry.of(
        "ipv4_lpm",
        {"ipv4_dst": LPM(value=ip(prefix), prefix_len=length)},
        Action.of("ipv4_forward", dst_mac=mac(NEXT_HOP_MAC), port=port),
    )


def classify(action: Action, priority: int = 10, **match: Ternary | Range) -> TableEntry:
    return TableEntry.of("wp_classify", dict(match), action, priority=priority)


def to_dst(addr: str, plen: int = 32) -> Ternary:
    return Ternary(value=ip(addr), mask=(0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)


def sff(spi: int, si: int, action: Action) -> TableEntry:
    return TableEntry.of("wp_sff", {"spi": Exact(value=spi), "si": Exact(value=si)}, action)


def service(
    table: str, spi: int, si: int, action: Action, priority: int = 0, **match: object
) -> TableEntry:
    keys: dict[str, object] = {"spi": Exact(value=spi), "si": Exact(value=si), **match}
    return TableEntry.of(table, keys, action, priority=priority)  # type: ignore[arg-type]


def only(frames: dict[int, list[bytes]], port: int) -> Ether:
    """Exactly one frame came out, on ``port``."""
    seen = {p: len(f) for p, f in frames.items() if f}
    assert seen == {port: 1}, f"expected one frame on port {port}, got {seen}"
    return Ether(frames[port][0])


def send_and_collect(
    sw: harness.Bmv2Lab, port: int, *frames: Ether, wait: float = 0.6
) -> dict[int, list[bytes]]:
    for frame in frames:
        sw.send(port, frame)
    return sw.recv_all(timeout=wait)


def assert_nothing_out(sw: harness.Bmv2Lab, port: int, frame: Ether | bytes) -> None:
    sw.send(port, frame)
    got = sw.recv_all(timeout=0.5)
    assert not any(got.values()), (
        f"expected a drop, got {[(p, len(f)) for p, f in got.items() if f]}"
    )


def assert_checksums_valid(frame: Ether) -> None:
    """IPv4 header checksum and TCP/UDP checksum verify (ones' complement sum = 0)."""
    raw = bytes(frame[IP])
    hlen = frame[IP].ihl * 4
    assert checksum(raw[:hlen]) == 0, "IPv4 header checksum wrong"
    total = frame[IP].len
    proto = frame[IP].proto
    l4 = raw[hlen:total]
    if proto == 17 and frame[UDP].chksum == 0:
        return
    if proto in (6, 17):
        pseudo = (
            bytes(ipaddress.IPv4Address(frame[IP].src).packed)
            + bytes(ipaddress.IPv4Address(frame[IP].dst).packed)
            + bytes([0, proto])
            + len(l4).to_bytes(2, "big")
        )
        assert checksum(pseudo + l4) == 0, f"L4 (proto {proto}) checksum wrong"


def assert_still_forwards(sw: harness.Bmv2Lab) -> None:
    """After bad input: the switch is alive and routes a good packet."""
    assert sw.alive()
    sw.clear()
    sw.insert([route()])
    out = only(send_and_collect(sw, ACCESS, udp_packet()), UPLINK)
    assert out[IP].dst == "10.0.2.2"


# -- classification ------------------------------------------------------------------------------


def test_classification_miss_routes(sw: harness.Bmv2Lab) -> None:
    sw.insert([route()])
    sent = udp_packet()
    out = only(send_and_collect(sw, ACCESS, sent), UPLINK)
    assert out.dst == NEXT_HOP_MAC and out.src == ROUTER_MAC
    assert out[IP].ttl == 63
    assert bytes(out[UDP]) == bytes(sent[UDP])
    assert_checksums_valid(out)


def test_route_miss_drops(sw: harness.Bmv2Lab) -> None:
    sw.insert([route("10.9.0.0", 16)])
    assert_nothing_out(sw, ACCESS, udp_packet(dst="10.0.2.2"))


def test_classification_hit_forward(sw: harness.Bmv2Lab) -> None:
    sw.insert([route(), classify(Action.of("forward", port=PE), ipv4_dst=to_dst("10.0.2.2"))])
    sent = udp_packet()
    out = only(send_and_collect(sw, ACCESS, sent), PE)
    assert bytes(out) == bytes(sent), "forward must send the packet unchanged"


def test_classification_hit_drop(sw: harness.Bmv2Lab) -> None:
    sw.insert([route(), classify(Action.of("drop"), ip_proto=Ternary(value=17, mask=0xFF))])
    assert_nothing_out(sw, ACCESS, udp_packet())
    only(send_and_collect(sw, ACCESS, tcp_packet()), UPLINK)


def test_classification_priority_ports_and_ranges(sw: harness.Bmv2Lab) -> None:
    sw.insert(
        [
            route(),
            classify(
                Action.of("forward", port=PE),
                priority=20,
                l4_dst_port=Range(low=80, high=89),
                ingress_port=Ternary(value=ACCESS, mask=0x1FF),
            ),
            classify(
                Action.of("forward", port=LEGACY), priority=10, l4_dst_port=Range(low=0, high=1000)
            ),
        ]
    )
    only(send_and_collect(sw, ACCESS, udp_packet(dport=80)), PE)
    only(send_and_collect(sw, ACCESS, udp_packet(dport=89)), PE)
    only(send_and_collect(sw, ACCESS, udp_packet(dport=90)), LEGACY)
    only(send_and_collect(sw, UPLINK, udp_packet(dport=80)), LEGACY)  # other ingress port
    only(send_and_collect(sw, ACCESS, udp_packet(dport=1001)), UPLINK)  # miss -> route


# -- service chains ------------------------------------------------------------------------------


def test_chain_start_pushes_nsh(sw: harness.Bmv2Lab) -> None:
    sw.insert(
        [
            classify(Action.of("start_chain", spi=100, paths=1), ipv4_dst=to_dst("10.0.2.2")),
            sff(100, 255, Action.of("sff_forward", port=PE, si=255)),
        ]
    )
    sent = udp_packet()
    out = only(send_and_collect(sw, ACCESS, sent), PE)
    assert out.type == ETHERTYPE_NSH
    nsh = out[NSH]
    # pushed with TTL 63; sff_forward takes one for leaving with NSH (docs/dataplane.md)
    assert (nsh.ver, nsh.oam, nsh.ttl, nsh.length, nsh.mdtype, nsh.nextproto) == (0, 0, 62, 2, 2, 1)
    assert (nsh.spi, nsh.si) == (100, 255)
    assert bytes(nsh.payload) == bytes(sent[IP]), "inner IPv4 packet must be untouched"


def test_sff_hop_keeps_nsh_and_decrements_ttl(sw: harness.Bmv2Lab) -> None:
    sw.insert([sff(100, 254, Action.of("sff_forward", port=UPLINK, si=254))])
    sent = nsh_packet(100, 254, ttl=40)
    out = only(send_and_collect(sw, PE, sent), UPLINK)
    assert (out[NSH].spi, out[NSH].si, out[NSH].ttl) == (100, 254, 39)
    assert bytes(out[NSH].payload) == bytes(sent[IP])


def test_sff_miss_drops(sw: harness.Bmv2Lab) -> None:
    sw.insert([sff(100, 254, Action.of("sff_forward", port=UPLINK, si=254)), route()])
    assert_nothing_out(sw, PE, nsh_packet(100, 253))
    assert_nothing_out(sw, PE, nsh_packet(101, 254))


def test_chain_end_forward_pops_nsh(sw: harness.Bmv2Lab) -> None:
    sw.insert([sff(100, 253, Action.of("sff_end_forward", port=UPLINK))])
    sent = nsh_packet(100, 253)
    out = only(send_and_collect(sw, PE, sent), UPLINK)
    assert out.type == 0x0800 and NSH not in out
    assert bytes(out[IP]) == bytes(sent[IP])


def test_chain_end_route_pops_nsh_and_routes(sw: harness.Bmv2Lab) -> None:
    sw.insert([sff(100, 253, Action.of("sff_end_route")), route()])
    out = only(send_and_collect(sw, PE, nsh_packet(100, 253)), UPLINK)
    assert NSH not in out and out.dst == NEXT_HOP_MAC and out[IP].ttl == 63
    assert_checksums_valid(out)


def test_nsh_ttl_expiry(sw: harness.Bmv2Lab) -> None:
    sw.insert([sff(100, 254, Action.of("sff_forward", port=UPLINK, si=254))])
    out = only(send_and_collect(sw, PE, nsh_packet(100, 254, ttl=1)), UPLINK)
    assert out[NSH].ttl == 0  # leaves with 0 ...
    assert_nothing_out(sw, PE, out)  # ... and the next switch drops it
    assert_nothing_out(sw, PE, nsh_packet(100, 254, ttl=0))


# -- SFC proxy for NSH-unaware PEs -----------------------------------------------------------------


def test_proxy_strips_nsh_towards_legacy_pe(sw: harness.Bmv2Lab) -> None:
    sw.insert(
        [
            classify(Action.of("start_chain", spi=100, paths=1), ipv4_dst=to_dst("10.0.2.2")),
            sff(100, 255, Action.of("sff_proxy", port=LEGACY, vlan=42)),
        ]
    )
    sent = udp_packet()
    out = only(send_and_collect(sw, ACCESS, sent), LEGACY)
    assert NSH not in out and out.type == 0x8100
    assert out[Dot1Q].vlan == 42 and out[Dot1Q].type == 0x0800
    assert bytes(out[IP]) == bytes(sent[IP])


def test_proxy_restores_nsh_from_legacy_pe(sw: harness.Bmv2Lab) -> None:
    sw.insert(
        [
            TableEntry.of(
                "wp_proxy_return",
                {"ingress_port": Exact(value=LEGACY), "vlan_id": Exact(value=42)},
                Action.of("proxy_restore", spi=100, si=254),
            ),
            sff(100, 254, Action.of("sff_forward", port=UPLINK, si=254)),
        ]
    )
    inner = udp_packet()
    back = Ether(src=HOST_MAC, dst=ROUTER_MAC) / Dot1Q(vlan=42) / inner[IP]
    out = only(send_and_collect(sw, LEGACY, back), UPLINK)
    assert Dot1Q not in out and out.type == ETHERTYPE_NSH
    assert (out[NSH].spi, out[NSH].si, out[NSH].ttl, out[NSH].mdtype) == (100, 254, 62, 2)
    assert bytes(out[NSH].payload) == bytes(inner[IP])


def test_proxy_return_miss_is_treated_as_untagged(sw: harness.Bmv2Lab) -> None:
    sw.insert(
        [
            TableEntry.of(
                "wp_proxy_return",
                {"ingress_port": Exact(value=LEGACY), "vlan_id": Exact(value=42)},
                Action.of("proxy_restore", spi=100, si=254),
            ),
            route(),
        ]
    )
    tagged = Ether(src=HOST_MAC, dst=ROUTER_MAC) / Dot1Q(vlan=43) / udp_packet()[IP]
    out = only(send_and_collect(sw, LEGACY, tagged), UPLINK)
    assert NSH not in out and out[Dot1Q].vlan == 43 and out[IP].ttl == 63  # routed, tag kept


# -- in-switch services ------------------------------------------------------------------------------


def _fw_chain() -> list[TableEntry]:
    return [
        classify(Action.of("start_chain", spi=200, paths=1), ipv4_dst=to_dst("10.0.2.0", 24)),
        service(
            "wp_fw", 200, 255, Action.of("fw_deny"), priority=20, l4_dst_port=Range(low=22, high=22)
        ),
        service("wp_fw", 200, 255, Action.of("fw_permit"), priority=1),
        sff(200, 255, Action.of("sff_end_forward", port=UPLINK)),  # the pass entered at 255
    ]


def test_fw_permit(sw: harness.Bmv2Lab) -> None:
    sw.insert(_fw_chain())
    sent = tcp_packet(dport=80)
    out = only(send_and_collect(sw, ACCESS, sent), UPLINK)
    assert NSH not in out and bytes(out[IP]) == bytes(sent[IP])


def test_fw_deny(sw: harness.Bmv2Lab) -> None:
    sw.insert(_fw_chain())
    assert_nothing_out(sw, ACCESS, tcp_packet(dport=22))


def _nat_chain(action: Action) -> list[TableEntry]:
    return [
        classify(Action.of("start_chain", spi=300, paths=1), ipv4_dst=to_dst("10.0.2.0", 24)),
        service("wp_nat", 300, 255, action, priority=10, ipv4_src=to_dst("10.0.0.0", 8)),
        service("wp_nat", 300, 255, Action.of("nat_pass"), priority=1),
        sff(300, 255, Action.of("sff_end_forward", port=UPLINK)),
    ]


def test_nat_snat_tcp_checksums(sw: harness.Bmv2Lab) -> None:
    sw.insert(_nat_chain(Action.of("nat_snat", addr=ip("192.0.2.1"))))
    sent = tcp_packet(src="10.0.0.7")
    out = only(send_and_collect(sw, ACCESS, sent), UPLINK)
    assert out[IP].src == "192.0.2.1" and out[IP].dst == "10.0.2.2"
    assert out[TCP].payload.load == sent[TCP].payload.load
    assert_checksums_valid(out)


def test_nat_dnat_udp_checksums(sw: harness.Bmv2Lab) -> None:
    sw.insert(_nat_chain(Action.of("nat_dnat", addr=ip("10.0.2.99"))))
    out = only(send_and_collect(sw, ACCESS, udp_packet(src="10.0.0.7")), UPLINK)
    assert out[IP].dst == "10.0.2.99" and out[UDP].chksum != 0
    assert_checksums_valid(out)
    # UDP without checksum (0) stays without checksum
    no_csum = udp_packet(src="10.0.0.7")
    no_csum[UDP].chksum = 0
    out = only(send_and_collect(sw, ACCESS, no_csum), UPLINK)
    assert out[IP].dst == "10.0.2.99" and out[UDP].chksum == 0
    assert_checksums_valid(out)


def test_nat_pass_leaves_addresses(sw: harness.Bmv2Lab) -> None:
    sw.insert(_nat_chain(Action.of("nat_snat", addr=ip("192.0.2.1"))))
    sent = tcp_packet(src="172.16.0.1")
    out = only(send_and_collect(sw, ACCESS, sent), UPLINK)
    assert bytes(out[IP]) == bytes(sent[IP])


def test_count_service_counts_and_sff_sets_the_si(sw: harness.Bmv2Lab) -> None:
    count = service("wp_count", 400, 255, Action.of("count_hit"))
    sw.insert(
        [
            classify(Action.of("start_chain", spi=400, paths=1), ipv4_dst=to_dst("10.0.2.2")),
            count,
            sff(400, 255, Action.of("sff_forward", port=PE, si=254)),
        ]
    )
    got = send_and_collect(sw, ACCESS, *[udp_packet(sport=1000 + i) for i in range(5)])
    assert len(got[PE]) == 5
    assert {Ether(f)[NSH].si for f in got[PE]} == {254}
    packets, octets = sw.direct_counter(count)
    assert packets == 5 and octets > 0


def test_classify_and_sff_counters_increment(sw: harness.Bmv2Lab) -> None:
    cls = classify(Action.of("start_chain", spi=100, paths=1), ipv4_dst=to_dst("10.0.2.2"))
    hop1 = sff(100, 255, Action.of("sff_forward", port=PE, si=255))
    hop2 = sff(100, 254, Action.of("sff_end_forward", port=UPLINK))
    sw.insert([cls, hop1, hop2])
    assert sw.direct_counter(cls)[0] == 0 and sw.direct_counter(hop1)[0] == 0
    got = send_and_collect(sw, ACCESS, *[udp_packet() for _ in range(3)])
    assert len(got[PE]) == 3
    got = send_and_collect(sw, PE, *[nsh_packet(100, 254) for _ in range(2)])
    assert len(got[UPLINK]) == 2
    assert sw.direct_counter(cls)[0] == 3
    assert sw.direct_counter(hop1)[0] == 3
    assert sw.direct_counter(hop2)[0] == 2


def test_ratelimit_meter_drops_over_rate(sw: harness.Bmv2Lab) -> None:
    limit = service("wp_ratelimit", 600, 255, Action.of("ratelimit_check"))
    sw.insert(
        [
            classify(Action.of("start_chain", spi=600, paths=1), ipv4_dst=to_dst("10.0.2.2")),
            limit,
            sff(600, 255, Action.of("sff_end_forward", port=UPLINK)),
        ]
    )
    # unconfigured meter: everything is green
    got = send_and_collect(sw, ACCESS, *[udp_packet() for _ in range(10)])
    assert len(got[UPLINK]) == 10
    # 1 byte/s with 500-byte buckets (CIR = PIR, as the plan configures it): a burst of 106-byte
    # frames is green for the first few, then over the rate (yellow on BMv2) and dropped
    sw.set_direct_meter(limit, cir=1, cburst=500, pir=1, pburst=500)
    got = send_and_collect(sw, ACCESS, *[udp_packet() for _ in range(20)], wait=1.0)
    expected = 500 // len(udp_packet())  # BMv2 meters the frame as received
    assert len(got[UPLINK]) == expected, f"{len(got[UPLINK])} of 20 passed the meter"


def test_recirculation_runs_an_earlier_service(sw: harness.Bmv2Lab) -> None:
    """Chain nat -> fw: fw comes first in the fixed order, so the switch recirculates once."""
    hop = sff(700, 255, Action.of("sff_recirculate", si=254))
    sw.insert(
        [
            classify(Action.of("start_chain", spi=700, paths=1), ipv4_dst=to_dst("10.0.2.2")),
            service("wp_nat", 700, 255, Action.of("nat_snat", addr=ip("192.0.2.1")), priority=1),
            service("wp_fw", 700, 254, Action.of("fw_permit"), priority=1),
            hop,
            sff(700, 254, Action.of("sff_forward", port=PE, si=253)),
        ]
    )
    out = only(send_and_collect(sw, ACCESS, tcp_packet()), PE)
    assert out[IP].src == "192.0.2.1"
    assert (out[NSH].si, out[NSH].ttl) == (253, 61)  # 63 - recirculation - sff_forward
    assert sw.direct_counter(hop)[0] == 1


def test_one_pass_matches_the_entry_si(sw: harness.Bmv2Lab) -> None:
    """fw -> nat -> count in one pass: every table matches SI 255 (the SI the pass started
    with), none changes it, wp_sff sends the packet on with SI 252; entries keyed on the SI
    a service would have left (254, 253) are not met."""
    count = service("wp_count", 800, 255, Action.of("count_hit"))
    decoy = service("wp_count", 800, 253, Action.of("count_hit"))
    sw.insert(
        [
            classify(Action.of("start_chain", spi=800, paths=1), ipv4_dst=to_dst("10.0.2.2")),
            service("wp_fw", 800, 255, Action.of("fw_permit"), priority=1),
            service("wp_nat", 800, 255, Action.of("nat_snat", addr=ip("192.0.2.1")), priority=1),
            count,
            decoy,
            sff(800, 255, Action.of("sff_forward", port=PE, si=252)),
            sff(800, 252, Action.of("sff_drop")),
        ]
    )
    got = send_and_collect(sw, ACCESS, *[tcp_packet(sport=4000 + i) for i in range(3)])
    assert len(got[PE]) == 3
    out = Ether(got[PE][0])
    assert (out[NSH].spi, out[NSH].si, out[NSH].ttl) == (800, 252, 62)
    assert out[IP].src == "192.0.2.1"
    assert_checksums_valid(out)
    assert sw.direct_counter(count)[0] == 3 and sw.direct_counter(decoy)[0] == 0


def test_fw_deny_stops_the_pass(sw: harness.Bmv2Lab) -> None:
    """A packet wp_fw denies is neither counted by wp_count nor by wp_sff's counter."""
    count = service("wp_count", 810, 255, Action.of("count_hit"))
    hop = sff(810, 255, Action.of("sff_forward", port=PE, si=253))
    sw.insert(
        [
            classify(Action.of("start_chain", spi=810, paths=1), ipv4_dst=to_dst("10.0.2.2")),
            service(
                "wp_fw",
                810,
                255,
                Action.of("fw_deny"),
                priority=2,
                ip_proto=Ternary(value=6, mask=0xFF),
            ),
            service("wp_fw", 810, 255, Action.of("fw_permit"), priority=1),
            count,
            hop,
        ]
    )
    got = send_and_collect(sw, ACCESS, tcp_packet(), udp_packet(), wait=1.0)
    assert len(got[PE]) == 1 and UDP in Ether(got[PE][0])
    assert sw.direct_counter(count)[0] == 1 and sw.direct_counter(hop)[0] == 1


# -- per-flow load balancing ------------------------------------------------------------------------


def _lb_chain() -> list[TableEntry]:
    entries = [
        classify(Action.of("start_chain", spi=500, paths=4), ipv4_dst=to_dst("10.0.2.0", 24))
    ]
    entries += [sff(500 + i, 255, Action.of("sff_forward", port=PE, si=255)) for i in range(4)]
    return entries


def test_load_balancing_same_flow_same_path(sw: harness.Bmv2Lab) -> None:
    sw.insert(_lb_chain())
    for sport in (1111, 2222, 3333):
        got = send_and_collect(sw, ACCESS, *[tcp_packet(sport=sport) for _ in range(8)])
        spis = {Ether(f)[NSH].spi for f in got[PE]}
        assert len(got[PE]) == 8 and len(spis) == 1 and spis <= {500, 501, 502, 503}


def test_load_balancing_many_flows_use_all_paths(sw: harness.Bmv2Lab) -> None:
    sw.insert(_lb_chain())
    flows = [udp_packet(src=f"10.0.{i // 200}.{i % 200 + 1}", sport=2000 + i) for i in range(64)]
    got = send_and_collect(sw, ACCESS, *flows, wait=1.5)
    spis = [Ether(f)[NSH].spi for f in got[PE]]
    assert len(spis) == 64
    assert set(spis) == {500, 501, 502, 503}, f"paths used: {sorted(set(spis))}"


# -- bad packets (docs/dataplane.md "Bad packets") -----------------------------------------------------


def test_bad_truncated_nsh(sw: harness.Bmv2Lab) -> None:
    sw.insert([sff(100, 254, Action.of("sff_forward", port=UPLINK, si=254))])
    full = bytes(nsh_packet(100, 254))
    assert_nothing_out(sw, PE, full[: 14 + 5])  # NSH cut after 5 of 8 bytes
    assert_nothing_out(sw, PE, full[: 14 + 8 + 10])  # NSH complete, inner IPv4 cut
    assert_still_forwards(sw)


@pytest.mark.parametrize(
    ("field", "value"),
    [("ver", 1), ("nextproto", 3), ("mdtype", 1), ("length", 6)],
    ids=["version1", "next-proto-ethernet", "md-type1", "length6"],
)
def test_bad_unsupported_nsh(sw: harness.Bmv2Lab, field: str, value: int) -> None:
    sw.insert([sff(100, 254, Action.of("sff_forward", port=UPLINK, si=254))])
    assert_nothing_out(sw, PE, nsh_packet(100, 254, **{field: value}))
    assert_still_forwards(sw)


def test_bad_ipv4_with_options(sw: harness.Bmv2Lab) -> None:
    """Classified on addresses/protocol with L4 ports read as 0; routed with a right checksum."""
    sw.insert(
        [
            route(),
            classify(
                Action.of("forward", port=PE), priority=20, l4_dst_port=Range(low=80, high=80)
            ),
            classify(
                Action.of("forward", port=LEGACY),
                priority=10,
                l4_dst_port=Range(low=0, high=0),
                ip_proto=Ternary(value=17, mask=0xFF),
            ),
        ]
    )
    with_options = Ether(bytes(udp_packet(dport=80, options=[IPOption_RR(routers=["0.0.0.0"])])))
    assert with_options[IP].ihl > 5
    only(send_and_collect(sw, ACCESS, udp_packet(dport=80)), PE)
    out = only(send_and_collect(sw, ACCESS, with_options), LEGACY)
    assert bytes(out) == bytes(with_options)
    sw.clear()
    sw.insert([route()])
    out = only(send_and_collect(sw, ACCESS, with_options), UPLINK)
    assert out[IP].ttl == 63 and out[IP].ihl == with_options[IP].ihl
    assert_checksums_valid(out)


def test_bad_non_ipv4_dropped(sw: harness.Bmv2Lab) -> None:
    sw.insert([route(), classify(Action.of("forward", port=PE))])  # catch-all classifier
    assert_nothing_out(
        sw, ACCESS, Ether(src=HOST_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.0.2.2")
    )
    assert_nothing_out(sw, ACCESS, Ether(src=HOST_MAC, dst=ROUTER_MAC) / IPv6() / UDP() / Raw(b"x"))
    assert_nothing_out(sw, ACCESS, Ether(src=HOST_MAC, dst=ROUTER_MAC) / IP(version=6))
    assert_still_forwards(sw)


def test_bad_runt_and_truncated_frames(sw: harness.Bmv2Lab) -> None:
    sw.insert([route(), classify(Action.of("forward", port=PE))])
    runt = b"\x02\x00\x00\x00\x00\xfe\x02\x00"  # shorter than an Ethernet header
    with contextlib.suppress(OSError):  # Linux may refuse frames shorter than the link header
        sw.send(ACCESS, runt)
    got = sw.recv_all(timeout=0.5)
    assert not any(got.values())
    assert_nothing_out(sw, ACCESS, bytes(Ether(src=HOST_MAC, dst=ROUTER_MAC, type=0x0800)))
    ipv4 = bytes(udp_packet())
    assert_nothing_out(sw, ACCESS, ipv4[: 14 + 12])  # IPv4 header cut
    assert_nothing_out(sw, ACCESS, ipv4[: 14 + 20 + 4])  # UDP header cut
    assert_nothing_out(sw, ACCESS, bytes(Ether(src=HOST_MAC, dst=ROUTER_MAC) / IP(ihl=4)))
    assert_still_forwards(sw)
