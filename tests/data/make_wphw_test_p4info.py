"""Generate tests/data/wphw_test.p4info.txtpb: a hand-made P4Info of docs/dataplane.md.

It stands in for p4/build/wphw.p4info.txtpb in unit tests (the tests also run against the
compiled one when it is present). IDs follow p4c's prefixes (action 0x01, table 0x02,
direct counter 0x13, direct meter 0x15). Run: .venv/bin/python tests/data/make_wphw_test_p4info.py
"""

from __future__ import annotations

from pathlib import Path

from finsy.proto import p4i
from google.protobuf import text_format

PREFIX = "MyIngress."

ACTIONS: dict[str, list[tuple[str, int]]] = {
    "NoAction": [],
    "start_chain": [("spi", 24), ("paths", 8)],
    "forward": [("port", 9)],
    "drop": [],
    "route": [],
    "sff_forward": [("port", 9), ("si", 8)],
    "sff_proxy": [("port", 9), ("vlan", 12)],
    "sff_recirculate": [("si", 8)],
    "sff_end_forward": [("port", 9)],
    "sff_end_route": [],
    "sff_drop": [],
    "proxy_restore": [("spi", 24), ("si", 8)],
    "fw_permit": [],
    "fw_deny": [],
    "nat_snat": [("addr", 32)],
    "nat_dnat": [("addr", 32)],
    "nat_pass": [],
    "count_hit": [],
    "ratelimit_check": [],
    "ipv4_forward": [("dst_mac", 48), ("port", 9)],
    "ipv4_drop": [],
}

EX, TE, LP, RA = (
    p4i.MatchField.EXACT,
    p4i.MatchField.TERNARY,
    p4i.MatchField.LPM,
    p4i.MatchField.RANGE,
)
SPI_SI = [("spi", 24, EX), ("si", 8, EX)]
L34 = [
    ("ipv4_src", 32, TE),
    ("ipv4_dst", 32, TE),
    ("ip_proto", 8, TE),
    ("l4_src_port", 16, RA),
    ("l4_dst_port", 16, RA),
]
# name -> (match fields, actions, default action, size, direct counter, direct meter)
TABLES = {
    "wp_classify": (
        [("ingress_port", 9, TE), *L34],
        ["start_chain", "forward", "drop", "route"],
        "route",
        1024,
        "wp_classify_counter",
        None,
    ),
    "wp_proxy_return": (
        [("ingress_port", 9, EX), ("vlan_id", 12, EX)],
        ["proxy_restore", "NoAction"],
        "NoAction",
        256,
        None,
        None,
    ),
    "wp_fw": (SPI_SI + L34, ["fw_permit", "fw_deny"], "fw_deny", 1024, None, None),
    "wp_nat": (
        SPI_SI + L34[:2],
        ["nat_snat", "nat_dnat", "nat_pass"],
        "nat_pass",
        1024,
        None,
        None,
    ),
    "wp_count": (SPI_SI, ["count_hit", "NoAction"], "NoAction", 1024, "wp_count_counter", None),
    "wp_ratelimit": (
        SPI_SI,
        ["ratelimit_check", "NoAction"],
        "NoAction",
        1024,
        None,
        "wp_ratelimit_meter",
    ),
    "wp_sff": (
        SPI_SI,
        [
            "sff_forward",
            "sff_proxy",
            "sff_recirculate",
            "sff_end_forward",
            "sff_end_route",
            "sff_drop",
        ],
        "sff_drop",
        4096,
        "wp_sff_counter",
        None,
    ),
    "ipv4_lpm": (
        [("ipv4_dst", 32, LP)],
        ["ipv4_forward", "ipv4_drop"],
        "ipv4_drop",
        200000,
        None,
        None,
    ),
}


def build() -> p4i.P4Info:
    info = p4i.P4Info()
    info.pkg_info.arch = "v1model"
    action_ids: dict[str, int] = {}
    for i, (name, params) in enumerate(ACTIONS.items(), start=1):
        act = info.actions.add()
        act.preamble.id = 0x01000000 | i
        act.preamble.name = name if name == "NoAction" else PREFIX + name
        act.preamble.alias = name
        action_ids[name] = act.preamble.id
        for j, (pname, width) in enumerate(params, start=1):
            p = act.params.add()
            p.id, p.name, p.bitwidth = j, pname, width
    for i, (name, (fields, actions, default, size, counter, meter)) in enumerate(
        TABLES.items(), start=1
    ):
        tbl = info.tables.add()
        tbl.preamble.id = 0x02000000 | i
        tbl.preamble.name = PREFIX + name
        tbl.preamble.alias = name
        for j, (fname, width, kind) in enumerate(fields, start=1):
            mf = tbl.match_fields.add()
            mf.id, mf.name, mf.bitwidth, mf.match_type = j, fname, width, kind
        for aname in actions:
            ref = tbl.action_refs.add()
            ref.id = action_ids[aname]
        tbl.size = size
        if counter:
            dc = info.direct_counters.add()
            dc.preamble.id = 0x13000000 | i
            dc.preamble.name = PREFIX + counter
            dc.preamble.alias = counter
            dc.spec.unit = p4i.CounterSpec.BOTH
            dc.direct_table_id = tbl.preamble.id
            tbl.direct_resource_ids.append(dc.preamble.id)
        if meter:
            dm = info.direct_meters.add()
            dm.preamble.id = 0x15000000 | i
            dm.preamble.name = PREFIX + meter
            dm.preamble.alias = meter
            dm.spec.unit = p4i.MeterSpec.BYTES
            dm.direct_table_id = tbl.preamble.id
            tbl.direct_resource_ids.append(dm.preamble.id)
        del default  # the default action is the P4 program's business
    return info


if __name__ == "__main__":
    out = Path(__file__).with_name("wphw_test.p4info.txtpb")
    out.write_text(text_format.MessageToString(build()))
