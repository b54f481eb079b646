"""One service model (issue 13): a bad parameter gets the same error wherever it is used —
compile (software, FPGA and in-switch PEs), the FPGA register generation and the software PE —
and the in-switch NAT entries, the FPGA NAT table and the software NAT come from one parse."""

from __future__ import annotations

from typing import Any

import pytest

import wphw
from wphw.errors import PEError, PolicyError, ServiceParamError
from wphw.netfpga.plan import PESpec, nat_mappings, waypoint_register_writes
from wphw.pe.services import make_service
from wphw.plan import WaypointContext
from wphw.policy import policy_from_dict
from wphw.services import FwParams, NatParams, parse, parse_as
from wphw.topology import topology_from_dict

KEY = "00" * 32

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("fw", {"rules": [{"dst": "10.0.0.0/33", "action": "deny"}]}, r"rules\[0\]"),
    ("fw", {"rules": [{"dst": "10.0.0.0/8", "action": "maybe"}]}, r"rules\[0\]: want a match"),
    ("fw", {"default": "sometimes"}, r"default must be one of permit, deny"),
    ("fw", {"rules": "all"}, r"rules must be a list"),
    ("nat", {"mappings": [{"inside": "10.0.0.300", "outside": "1.2.3.4"}]}, r"mappings\[0\]: want"),
    ("nat", {"mappings": [5]}, r"mappings\[0\]: want a mapping"),
    ("ids", {"signatures": [{"action": "drop"}]}, r"signatures\[0\]: give pattern"),
    ("ids", {"signatures": [{"pattern": "x", "action": "explode"}]}, r"action must be one of"),
    ("ids", {"signatures": [{"hex": ""}]}, r"signatures\[0\]: empty signature"),
    ("ids", {"signatures": [{"pattern": "x"}], "mark_dscp": 64}, r"mark_dscp must be .* 0\.\.63"),
    ("encrypt", {"key": "zz"}, r"key is not hex"),
    ("encrypt", {"key": "00" * 31}, r"key must be 32 bytes"),
    ("encrypt", {"key": KEY, "key_id": -1}, r"key_id must be an integer"),
    ("encrypt", {"key": KEY, "bypass": "maybe"}, r"bypass must be one of pass, drop"),
    ("decrypt", {"keys": []}, r"keys is empty"),
    ("decrypt", {"keys": [{"key_id": 1, "key": KEY}, {"key_id": 1, "key": KEY}]}, r"repeated"),
    ("count", {"max_flows": 0}, r"max_flows must be an integer"),
    ("ratelimit", {"rate_bytes_per_s": -5}, r"rate_bytes_per_s must be an integer"),
    ("http_proxy", {"ports": [0]}, r"ports must be a list of TCP ports"),
]

IN_SWITCH = {"fw", "nat", "count", "ratelimit"}
HARDWARE = {"fw", "nat", "ids", "encrypt", "decrypt"}
SOFTWARE = {"fw", "nat", "ids", "encrypt", "decrypt", "count", "http_proxy"}


def compile_with(service: str, kind: str, params: dict[str, Any]) -> None:
    topo = topology_from_dict(
        {
            "switches": {"s1": {}},
            "hosts": {
                "h1": {"ip": "10.0.1.1/24", "mac": "08:00:00:00:01:01", "switch": "s1", "port": 1},
                "h2": {"ip": "10.0.2.2/24", "mac": "08:00:00:00:02:02", "switch": "s1", "port": 2},
            },
            "waypoints": {
                "wp": {
                    "switch": "s1",
                    **({} if kind == "in-switch" else {"port": 3}),
                    "pes": [{"name": "p", "services": [service], "kind": kind, "params": params}],
                }
            },
        }
    )
    policy = policy_from_dict(
        {
            "subscribers": {
                "s1": [
                    {"name": "r", "match": {"dst": "10.0.2.0/24"}, "actions": [service, "route"]}
                ]
            }
        }
    )
    wphw.compile(policy, topo)


@pytest.mark.parametrize(
    ("service", "params", "text"), BAD, ids=[f"{s}-{t[:20]}" for s, _, t in BAD]
)
def test_one_bad_value_one_error_everywhere(
    service: str, params: dict[str, Any], text: str
) -> None:
    messages = []
    with pytest.raises(ServiceParamError, match=text) as direct:
        parse(service, params, f"PE p ({service})")
    messages.append(str(direct.value))
    kinds = [
        k
        for k, s in (("software", SOFTWARE), ("fpga", HARDWARE), ("in-switch", IN_SWITCH))
        if service in s
    ]
    assert kinds
    for kind in kinds:
        with pytest.raises(ServiceParamError, match=text) as compiled:
            compile_with(service, kind, params)
        assert str(compiled.value).endswith(messages[0]), (kind, str(compiled.value))
    if service in SOFTWARE:
        # the software PE process (wphw pe run) builds its service the same way: a PEError too
        with pytest.raises(PEError, match=text) as pe:
            make_service(service, params, pe="p")
        assert str(pe.value) == messages[0]
    if service in HARDWARE:
        # the FPGA register generation, called directly (a lab's co-simulated waypoint does)
        ctx = WaypointContext(waypoint="wp", pe="p", service=service, spi=1, si=255)
        with pytest.raises(PolicyError, match=text):
            waypoint_register_writes("wp", [ctx], {"p": PESpec(name="p", params={service: params})})


def test_nat_one_parse_three_renderings() -> None:
    """The in-switch entries, the FPGA table and the software NAT agree on one mapping list."""
    params = {"mappings": [{"inside": "10.0.1.1", "outside": "192.0.2.1"}]}
    nat = parse_as(NatParams, "nat", params, "nat")
    table = nat_mappings(params, "nat")
    assert [(m.dnat, str(m.match_addr), str(m.new_addr)) for m in table] == [
        (False, "10.0.1.1", "192.0.2.1"),
        (True, "192.0.2.1", "10.0.1.1"),
    ]
    assert [str(p.inside) for p in nat.mappings] == ["10.0.1.1"]
    svc = make_service("nat", params, pe="p")
    from scapy.layers.inet import IP, UDP

    out = svc.process(bytes(IP(src="10.0.1.1", dst="10.0.2.2") / UDP(sport=1, dport=2)))
    assert isinstance(out, bytes)
    pkt = IP(out)
    assert pkt.src == "192.0.2.1"
    want = IP(bytes(pkt))
    del want.chksum
    del want[UDP].chksum
    assert bytes(IP(bytes(want))) == out  # scapy's recomputed checksums equal the patched ones


def test_fw_rule_is_one_class() -> None:
    from wphw.netfpga import drivers
    from wphw.services import FwRule

    assert drivers.FwRule is FwRule
    fw = parse_as(FwParams, "fw", {"rules": [{"src": "10.0.0.0/8", "action": "deny"}]}, "fw")
    assert isinstance(fw.rules[0], FwRule) and not fw.rules[0].permit
    assert fw.rules[0].matches((0x0A000001, 0, 6, 1, 2))
    assert not fw.rules[0].matches((0x0B000001, 0, 6, 1, 2))
