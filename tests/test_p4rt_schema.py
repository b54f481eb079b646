"""P4Info schema: name resolution (full, alias, dotted suffix), errors, loading."""

from __future__ import annotations

from pathlib import Path

import pytest
from finsy.proto import p4i
from google.protobuf import text_format
from p4rt_common import TEST_P4INFO, p4infos

from wphw.errors import SchemaError
from wphw.p4rt.diff import OWNED_TABLES
from wphw.p4rt.schema import Schema


def _tna_schema() -> Schema:
    """The test P4Info renamed as a TNA program would name it (pipe.Ingress.*)."""
    info = p4i.P4Info()
    text_format.Parse(TEST_P4INFO.read_text(), info)
    for t in info.tables:
        t.preamble.name = t.preamble.name.replace("MyIngress.", "pipe.Ingress.")
        t.preamble.alias = ""
    for a in info.actions:
        a.preamble.name = a.preamble.name.replace("MyIngress.", "pipe.Ingress.")
        a.preamble.alias = ""
    return Schema(info)


@pytest.mark.parametrize("path", p4infos(), ids=lambda p: p.name)
def test_every_dataplane_table_resolves_by_short_name(path: Path) -> None:
    schema = Schema.load(path)
    for name in OWNED_TABLES:
        info = schema.table(name)
        assert info.short == name
        assert info.name.endswith("." + name) or info.name == name


def test_full_name_alias_and_suffixes() -> None:
    v1 = Schema.load(TEST_P4INFO)
    tna = _tna_schema()
    assert v1.table("wp_sff").name == "MyIngress.wp_sff"
    assert v1.table("MyIngress.wp_sff") is v1.table("wp_sff")
    assert tna.table("wp_sff").name == "pipe.Ingress.wp_sff"
    assert tna.table("Ingress.wp_sff") is tna.table("wp_sff")
    assert tna.table("pipe.Ingress.wp_sff").id == v1.table("wp_sff").id
    assert tna.action("sff_forward").params[0].name == "port"
    assert tna.table("wp_sff").short == "wp_sff"


def test_widths_kinds_and_ids() -> None:
    s = Schema.load(TEST_P4INFO)
    cls = s.table("wp_classify")
    assert [(f.name, f.bitwidth, f.kind) for f in cls.match_fields][:2] == [
        ("ingress_port", 9, "ternary"),
        ("ipv4_src", 32, "ternary"),
    ]
    assert cls.needs_priority
    assert not s.table("wp_sff").needs_priority
    assert s.table("wp_sff").direct_counter_id == s.direct_counter("wp_sff_counter").id
    assert s.action("ipv4_forward").param("dst_mac").bitwidth == 48
    assert s.table_by_id(cls.id) is cls


def test_miss_suggests() -> None:
    s = Schema.load(TEST_P4INFO)
    with pytest.raises(SchemaError, match=r"no table named 'wp_sf'.*did you mean 'wp_sff'"):
        s.table("wp_sf")
    with pytest.raises(SchemaError, match=r"no action named 'sff_forwad'.*'sff_forward'"):
        s.action("sff_forwad")
    with pytest.raises(SchemaError, match=r"no parameter 'prot'.*'port'"):
        s.action("forward").param("prot")
    with pytest.raises(SchemaError, match=r"no match field 'spii'.*'spi'"):
        s.table("wp_sff").field("spii")


def test_ambiguous_suffix_names_candidates() -> None:
    info = p4i.P4Info()
    text_format.Parse(TEST_P4INFO.read_text(), info)
    extra = info.tables.add()
    extra.CopyFrom(info.tables[0])
    extra.preamble.id = 0x02FFFFFF
    extra.preamble.name = "MyEgress.wp_classify"
    extra.preamble.alias = "MyEgress.wp_classify"
    info.tables[0].preamble.alias = "MyIngress.wp_classify"
    s = Schema(info)
    with pytest.raises(
        SchemaError, match=r"ambiguous.*MyEgress.wp_classify.*MyIngress.wp_classify"
    ):
        s.table("wp_classify")
    assert s.table("MyEgress.wp_classify").id == 0x02FFFFFF
    assert s.table("MyIngress.wp_classify").short == "MyIngress.wp_classify"
    assert s.table("wp_sff").short == "wp_sff"


def test_load_binary_and_text(tmp_path: Path) -> None:
    text = Schema.load(TEST_P4INFO)
    binary = tmp_path / "p4info.bin"
    binary.write_bytes(text.p4info.SerializeToString())
    assert Schema.load(binary).fingerprint() == text.fingerprint()
    odd = tmp_path / "p4info.data"  # unknown suffix, text content
    odd.write_text(TEST_P4INFO.read_text())
    assert Schema.load(odd).table("wp_sff").id == text.table("wp_sff").id
    bad = tmp_path / "bad.txtpb"
    bad.write_text("tables { nonsense: 1 }")
    with pytest.raises(SchemaError, match=r"bad\.txtpb"):
        Schema.load(bad)
    with pytest.raises(SchemaError, match="cannot read"):
        Schema.load(tmp_path / "missing.txtpb")
