"""The TNA (Tofino) program: its committed outputs against their sources and against v1model.

Runs without a compiler: the committed P4Info of p4/build/tna/ (compiled by p4c's Tofino back
end, ``make -C p4 tna``) is compared with the v1model P4Info field by field -- the same tables,
actions, match fields and parameters with the same widths and kinds, as docs/dataplane.md says;
the only difference allowed is the TNA-only ``wp_lb`` (constant entries). The load-balancing
entries are checked against the multiply-shift they replace, for every hash value. The test
marked ``tofino`` recompiles with bf-p4c when it is there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from finsy.proto import p4i as p4info_pb2
from google.protobuf import text_format

import wphw.p4names as P4N
from wphw.entries import Action, TableEntry, Ternary
from wphw.errors import PlanError
from wphw.p4rt.schema import Schema
from wphw.p4rt.switch import owns_table

REPO = Path(__file__).resolve().parent.parent
P4 = REPO / "p4"
TNA_BUILD = P4 / "build" / "tna"
TNA_P4INFO = TNA_BUILD / "wphw.p4info.txtpb"
V1_P4INFO = P4 / "build" / "wphw.p4info.txtpb"
TNA_ONLY_TABLES = {"wp_lb"}
TNA_ONLY_ACTIONS = {"lb_offset"}


def _module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _p4info(path: Path) -> p4info_pb2.P4Info:
    info = p4info_pb2.P4Info()
    text_format.Parse(path.read_text(), info)
    return info


# -- the load-balancing table -----------------------------------------------------------------


def test_wp_lb_entries_are_the_generators_output() -> None:
    gen = _module("wphw_wp_lb_entries", P4 / "tna" / "wp_lb_entries.py")
    assert (P4 / "tna" / "wp_lb_entries.p4").read_text() == gen.render()
    assert gen.MAX_PATHS == P4N.TNA_MAX_PATHS


def test_wp_lb_ranges_give_the_multiply_shift_for_every_hash() -> None:
    """Every 16-bit hash falls in exactly one range per paths value, the one of its offset."""
    gen = _module("wphw_wp_lb_entries", P4 / "tna" / "wp_lb_entries.py")
    for paths in range(2, gen.MAX_PATHS + 1):
        ranges = gen.lb_ranges(paths)
        assert len(ranges) == paths
        covered = 0
        for k, (low, high) in enumerate(ranges):
            assert low <= high
            assert low == covered  # contiguous, no overlap, no gap
            covered = high + 1
            # the boundaries decide it: within [low, high] floor(h * paths / 2^16) is monotone
            assert (low * paths) >> 16 == k and (high * paths) >> 16 == k
        assert covered == 1 << 16
    # and exhaustively for a few
    for paths in (3, 7, 32):
        ranges = gen.lb_ranges(paths)
        for h in range(1 << 16):
            k = (h * paths) >> 16
            low, high = ranges[k]
            assert low <= h <= high


# -- TNA P4Info against v1model ----------------------------------------------------------------


def _shape(info: p4info_pb2.P4Info, prefix: str) -> dict[str, object]:
    actions = {a.preamble.id: a for a in info.actions}
    counters = {c.direct_table_id: c.preamble.name for c in info.direct_counters}
    meters = {m.direct_table_id: m.preamble.name for m in info.direct_meters}

    def short(name: str) -> str:
        assert name.startswith(prefix) or name == "NoAction", name
        return name.removeprefix(prefix)

    tables = {}
    for t in info.tables:
        tables[short(t.preamble.name)] = {
            "fields": [(f.name, f.bitwidth, f.match_type) for f in t.match_fields],
            "actions": sorted(
                (
                    short(actions[r.id].preamble.name),
                    tuple((p.name, p.bitwidth) for p in actions[r.id].params),
                    r.scope,
                )
                for r in t.action_refs
            ),
            "counter": short(counters[t.preamble.id]) if t.preamble.id in counters else None,
            "meter": short(meters[t.preamble.id]) if t.preamble.id in meters else None,
            "const_default": t.const_default_action_id != 0,
        }
    return tables


@pytest.mark.skipif(not TNA_P4INFO.exists(), reason="p4/build/tna not built (make -C p4 tna)")
def test_tna_p4info_exposes_the_v1model_tables_actions_fields_and_widths() -> None:
    v1 = _shape(_p4info(V1_P4INFO), "MyIngress.")
    tna = _shape(_p4info(TNA_P4INFO), "pipe.Ingress.")
    assert set(tna) - set(v1) == TNA_ONLY_TABLES
    assert set(v1) - set(tna) == set()
    for name, shape in v1.items():
        assert tna[name] == shape, name


@pytest.mark.skipif(not TNA_P4INFO.exists(), reason="p4/build/tna not built (make -C p4 tna)")
def test_tna_wp_lb_is_const_and_not_owned_by_wphw() -> None:
    schema = Schema.load(TNA_P4INFO)
    lb = schema.table(P4N.WP_LB)
    assert lb.is_const
    assert not owns_table(lb)
    for name in P4N.TABLE_KEYS:
        assert owns_table(schema.table(name)), name


@pytest.mark.skipif(not TNA_P4INFO.exists(), reason="p4/build/tna not built (make -C p4 tna)")
def test_tna_source_hash_and_outputs_are_current() -> None:
    sh = _module("wphw_p4_source_hash", P4 / "source_hash.py")
    assert (TNA_BUILD / "SOURCE_HASH").read_text().strip() == sh.source_hash(target="tna"), (
        "p4/build/tna is stale: run make -C p4 tna with the Tofino back end (docs/p4.md)"
    )
    for name in ("wphw.p4info.txtpb", "bf-rt.json", "resources.json", "BF_P4C_VERSION"):
        assert (TNA_BUILD / name).is_file(), name
    res = json.loads((TNA_BUILD / "resources.json").read_text())
    assert res["target"] == "tofino" and 1 <= res["stages"] <= 12
    placed = {t["name"] for stage in res["stage_tables"] for t in stage["tables"]}
    for name in P4N.TABLE_KEYS:
        assert name in placed, name


# what issue #16 asks of a deployment: wp_classify >= 4k, wp_sff >= 64k, ipv4_lpm >= 64k, every
# in-switch service (and the proxy return) >= 4k
ASKED_SIZES = {
    "wp_classify": 4096,
    "wp_sff": 65536,
    "ipv4_lpm": 65536,
    "wp_fw": 4096,
    "wp_nat": 4096,
    "wp_count": 4096,
    "wp_ratelimit": 4096,
    "wp_proxy_return": 4096,
}


@pytest.mark.skipif(not TNA_P4INFO.exists(), reason="p4/build/tna not built (make -C p4 tna)")
def test_tna_committed_sizes_are_the_asked_ones_in_twelve_stages() -> None:
    """The committed compile holds the asked sizes (P4Info and the compiler's own table sizes)
    within Tofino 1's 12 stages; the range tables state how many range entries they reserve."""
    info = _p4info(TNA_P4INFO)
    sizes = {t.preamble.name.rsplit(".", 1)[-1]: t.size for t in info.tables}
    annotations = {
        t.preamble.name.rsplit(".", 1)[-1]: list(t.preamble.annotations) for t in info.tables
    }
    res = json.loads((TNA_BUILD / "resources.json").read_text())
    assert res["stages"] <= res["device_stages"] == 12
    for name, asked in ASKED_SIZES.items():
        assert sizes[name] >= asked, name
        assert res["tables"][name]["size"] >= asked, name
    for name in ("wp_classify", "wp_fw"):
        assert any(a.startswith("@entries_with_ranges(") for a in annotations[name]), name


def test_resources_counts_alpm_partitions_as_sram(tmp_path: Path) -> None:
    """An algorithmic LPM's partitions are SRAM columns listed without a memory type."""
    resources = _module("wphw_tna_resources", P4 / "tna" / "resources.py")

    def units(*ids: int) -> list[dict[str, object]]:
        return [{"memory_units": list(ids), "vpns": [0]}]

    tcam = {"memory_type": "tcam", "memory_units_and_vpns": units(1, 2)}
    column = {"column_priority": 0, "memory_units_and_vpns": units(80, 81, 82)}
    alpm = {
        "name": "pipe.Ingress.ipv4_lpm",
        "table_type": "match",
        "size": 65536,
        "direction": "ingress",
        "match_attributes": {
            "match_type": "algorithmic_lpm",
            "pre_classifier": {
                "match_attributes": {
                    "stage_tables": [{"stage_number": 3, "memory_resource_allocation": tcam}]
                }
            },
            "atcam_table": {
                "match_attributes": {
                    "units": [
                        {
                            "match_attributes": {
                                "stage_tables": [
                                    {"stage_number": 4, "memory_resource_allocation": [column]}
                                ]
                            }
                        }
                    ]
                }
            },
        },
    }
    (tmp_path / "pipe").mkdir()
    (tmp_path / "pipe" / "context.json").write_text(json.dumps({"tables": [alpm]}))
    summary = resources.summarise(tmp_path)
    lpm = summary["tables"]["ipv4_lpm"]
    assert (lpm["stages"], lpm["tcams"], lpm["srams"]) == ([3, 4], 2, 3)
    assert summary["totals"]["srams"] == 3 and summary["totals"]["tcams"] == 2
    assert summary["stages"] == 5


# -- the encoder and the installer against the TNA program --------------------------------------


@pytest.mark.skipif(not TNA_P4INFO.exists(), reason="p4/build/tna not built (make -C p4 tna)")
def test_start_chain_with_more_paths_than_wp_lb_is_refused_for_tna() -> None:
    """Against a P4Runtime test double serving the TNA P4Info: a plan whose start_chain needs
    33 paths is refused before anything is written; 32 are installed."""
    from p4rt_common import Sw
    from p4rt_testserver import P4RuntimeTestServer

    from wphw.p4rt import Fabric, Pipeline

    def chain(paths: int) -> TableEntry:
        return TableEntry.of(
            "wp_classify",
            {"ipv4_src": Ternary(value=0x0A000000, mask=0xFF000000)},
            Action.of("start_chain", spi=100, paths=paths),
            priority=10,
        )

    class _Plan:
        def __init__(self, paths: int) -> None:
            self.entries = {"s1": [chain(paths)]}

    pipeline = Pipeline.of(Schema.load(TNA_P4INFO), b"")
    with (
        P4RuntimeTestServer() as server,
        Fabric([Sw("s1", server.address)], pipeline=pipeline, retries=2) as f,
    ):
        with pytest.raises(PlanError, match=r"switch s1: start_chain with 33 paths.*at most 32"):
            f.apply(_Plan(P4N.TNA_MAX_PATHS + 1))
        assert server.entries() == []
        f.apply(_Plan(P4N.TNA_MAX_PATHS))
        assert len(server.entries()) == 1
    # v1model takes up to 255
    from wphw.p4rt.switch import check_paths

    check_paths("s1", Schema.load(V1_P4INFO), [chain(255)])


# -- the real compile ------------------------------------------------------------------------


def _bf_p4c() -> str | None:
    explicit = os.environ.get("WPHW_BF_P4C")
    return explicit if explicit else shutil.which("bf-p4c")


@pytest.mark.tofino
def test_tna_program_compiles_with_the_tofino_back_end(tmp_path: Path) -> None:
    """bf-p4c on the program as committed: compiles, and gives the committed P4Info."""
    bf_p4c = _bf_p4c()
    if bf_p4c is None:
        pytest.skip("bf-p4c not found: build p4c's Tofino back end (docs/p4.md) or set WPHW_BF_P4C")
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            "make",
            "-C",
            str(P4),
            "tna-compile",
            f"BF_P4C={bf_p4c}",
            f"TNA_OUT={out}",
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert (out / "wphw.p4info.txtpb").read_text() == TNA_P4INFO.read_text()


# -- the deparser's checksums, against scapy ---------------------------------------------------


def _ones_sum(words: list[int]) -> int:
    s = 0
    for w in words:
        s += w
        s = (s & 0xFFFF) + (s >> 16)
    return s


def _words(*fields: tuple[int, int]) -> list[int]:
    """16-bit words of a field list (value, width in bits), concatenated most significant first."""
    value, width = 0, 0
    for v, w in fields:
        value = (value << w) | v
        width += w
    assert width % 16 == 0
    return [(value >> (width - 16 * (i + 1))) & 0xFFFF for i in range(width // 16)]


def _update_fields(name: str) -> list[str]:
    """The field list of ``<name>.update({ ... })`` in the TNA deparser, as written."""
    import re

    src = (P4 / "tna" / "wphw.p4").read_text()
    m = re.search(name + r"\.update\(\{(.*?)\}", src, re.S)
    assert m, name
    return [f.strip() for f in m.group(1).split(",")]


_IPV4 = {  # P4 field -> (scapy attribute, width)
    "hdr.ipv4.version": ("version", 4),
    "hdr.ipv4.ihl": ("ihl", 4),
    "hdr.ipv4.diffserv": ("tos", 8),
    "hdr.ipv4.total_len": ("len", 16),
    "hdr.ipv4.identification": ("id", 16),
    "hdr.ipv4.flags": ("flags", 3),
    "hdr.ipv4.frag_offset": ("frag", 13),
    "hdr.ipv4.ttl": ("ttl", 8),
    "hdr.ipv4.protocol": ("proto", 8),
    "hdr.ipv4.src_addr": ("src", 32),
    "hdr.ipv4.dst_addr": ("dst", 32),
}


def _value(pkt: object, attr: str) -> int:
    v = getattr(pkt, attr)
    if isinstance(v, str):  # an address
        return int.from_bytes(bytes(int(x) for x in v.split(".")), "big")
    return int(v)


def test_deparser_checksums_give_scapys_checksums() -> None:
    """The TNA deparser's field lists (read from p4/tna/wphw.p4) under the Checksum extern's
    documented semantics (update: the complemented ones'-complement sum of the fields; the
    parser's subtract: ones'-complement subtraction): the IPv4 header checksum after TTL - 1 and
    NAT, and the TCP/UDP checksum from switch.p4's residual idiom after NAT, are what scapy
    computes for the rewritten packet. A field missing from or misplaced in a list fails."""
    import random

    from scapy.layers.inet import IP, TCP, UDP

    ipv4_fields = _update_fields("ipv4_csum")
    assert set(ipv4_fields) == set(_IPV4), ipv4_fields
    rng = random.Random(16)
    for i in range(200):
        l4 = TCP(sport=rng.randrange(65536), dport=80, seq=rng.randrange(1 << 32))
        if i % 2:
            l4 = UDP(sport=rng.randrange(65536), dport=53)
        payload = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        pkt = IP(
            src=".".join(str(rng.randrange(1, 255)) for _ in range(4)),
            dst=".".join(str(rng.randrange(1, 255)) for _ in range(4)),
            ttl=rng.randrange(2, 256),
            id=rng.randrange(1 << 16),
            tos=rng.randrange(256),
        )
        wire = IP(bytes(pkt / l4 / payload))
        l4w = wire.payload
        # parser (switch.p4 idiom): residual = -(checksum) - (addresses, ports)
        addr_ports = _words(
            (_value(wire, "src"), 32),
            (_value(wire, "dst"), 32),
            (l4w.sport, 16),
            (l4w.dport, 16),
        )
        residual = _ones_sum([~w & 0xFFFF for w in [l4w.chksum, *addr_ports]])
        # the switch: TTL - 1 and a source NAT
        new_src = rng.randrange(1, 1 << 32)
        out = IP(bytes(wire))
        out.ttl -= 1
        out.src = ".".join(str(b) for b in new_src.to_bytes(4, "big"))
        # deparser: update over the listed fields
        ipv4 = ~_ones_sum(_words(*((_value(out, _IPV4[f][0]), _IPV4[f][1]) for f in ipv4_fields)))
        l4_name = "tcp_csum" if isinstance(l4w, TCP) else "udp_csum"
        l4_fields = _update_fields(l4_name)
        assert l4_fields[-1] == "meta.l4_csum_residual", l4_fields
        vals = {
            "hdr.ipv4.src_addr": (new_src, 32),
            "hdr.ipv4.dst_addr": (_value(out, "dst"), 32),
            f"hdr.{l4_name[:3]}.src_port": (l4w.sport, 16),
            f"hdr.{l4_name[:3]}.dst_port": (l4w.dport, 16),
            "meta.l4_csum_residual": (residual, 16),
        }
        l4sum = ~_ones_sum(_words(*(vals[f] for f in l4_fields))) & 0xFFFF
        if l4_name == "udp_csum" and l4sum == 0:
            l4sum = 0xFFFF  # zeros_as_ones
        del out.chksum
        del out.payload.chksum
        expected = IP(bytes(out))
        assert ipv4 & 0xFFFF == expected.chksum, (i, hex(ipv4 & 0xFFFF), hex(expected.chksum))
        assert l4sum == expected.payload.chksum, (i, l4_name, hex(l4sum))
