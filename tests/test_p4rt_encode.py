"""Encoding: canonical bytes, masks, wildcards, validation, decode, read-back keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from finsy.proto import p4r
from hypothesis import given, settings
from hypothesis import strategies as st
from p4rt_common import EXAMPLES, ROOT, TEST_P4INFO, p4infos, sff

import wphw
from wphw.entries import LPM, Action, Exact, Range, TableEntry, Ternary
from wphw.errors import SchemaError
from wphw.p4rt.encode import Encoder, to_bytes, update_bytes
from wphw.p4rt.schema import Schema


@pytest.fixture(scope="module")
def enc() -> Encoder:
    return Encoder(Schema.load(TEST_P4INFO))


def _classify(**match: object) -> TableEntry:
    return TableEntry.of(
        "wp_classify",
        dict(match),
        Action.of("start_chain", spi=7, paths=1),
        priority=10,  # type: ignore[arg-type]
    )


def test_canonical_bytes() -> None:
    assert to_bytes(0) == b"\x00"
    assert to_bytes(1) == b"\x01"
    assert to_bytes(0x1FF) == b"\x01\xff"
    assert to_bytes(0xC0A80001) == b"\xc0\xa8\x00\x01"


def test_exact_entry_message(enc: Encoder) -> None:
    te = enc.encode(sff(7, 255, 3))
    schema = enc.schema
    assert te.table_id == schema.table("wp_sff").id
    assert [(m.field_id, m.exact.value) for m in te.match] == [(1, b"\x07"), (2, b"\xff")]
    assert te.action.action.action_id == schema.action("sff_forward").id
    assert [(p.param_id, p.value) for p in te.action.action.params] == [(1, b"\x03"), (2, b"\xff")]
    assert te.priority == 0


def test_ternary_is_masked_and_zero_mask_omitted(enc: Encoder) -> None:
    te = enc.encode(
        _classify(
            ipv4_src=Ternary(value=0xC0A80177, mask=0xFFFFFF00),
            ip_proto=Ternary(value=6, mask=0),
        )
    )
    assert len(te.match) == 1
    assert te.match[0].ternary.value == b"\xc0\xa8\x01\x00"
    assert te.match[0].ternary.mask == b"\xff\xff\xff\x00"
    assert te.priority == 10


def test_lpm_masked_and_prefix0_omitted(enc: Encoder) -> None:
    e = TableEntry.of(
        "ipv4_lpm",
        {"ipv4_dst": LPM(value=0x0A0102FF, prefix_len=24)},
        Action.of("ipv4_forward", dst_mac=0x0A, port=1),
    )
    te = enc.encode(e)
    assert te.match[0].lpm.value == b"\x0a\x01\x02\x00"
    assert te.match[0].lpm.prefix_len == 24
    assert te.action.action.params[0].value == b"\x0a"  # dst_mac 48 bits, canonical: 1 byte
    default_route = TableEntry.of(
        "ipv4_lpm", {"ipv4_dst": LPM(value=0, prefix_len=0)}, Action.of("ipv4_drop")
    )
    assert len(enc.encode(default_route).match) == 0


def test_range_and_full_range_omitted(enc: Encoder) -> None:
    te = enc.encode(
        _classify(l4_dst_port=Range(low=80, high=443), l4_src_port=Range(low=0, high=0xFFFF))
    )
    assert len(te.match) == 1
    assert (te.match[0].range.low, te.match[0].range.high) == (b"\x50", b"\x01\xbb")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (sff(1 << 24, 255, 1), r"table 'wp_sff' field 'spi': value 16777216 does not fit 24 bits"),
        (sff(1, 256, 1), r"field 'si': value 256 does not fit 8 bits"),
        (sff(1, 255, 512), r"action 'sff_forward' parameter 'port': value 512 does not fit 9"),
        (
            _classify(ipv4_src=Ternary(value=1, mask=1 << 32)),
            r"field 'ipv4_src': mask 4294967296 does not fit 32 bits",
        ),
        (_classify(l4_dst_port=Range(low=9, high=8)), r"empty range 9..8"),
        (_classify(ipv4_src=Exact(value=1)), r"field 'ipv4_src' is ternary, got Exact"),
        (
            TableEntry.of("wp_classify", {}, Action.of("drop")),
            r"priority in 1\.\.",
        ),
        (
            TableEntry.of("wp_sff", {"spi": Exact(value=1)}, Action.of("sff_drop")),
            r"exact field\(s\) \['si'\] required",
        ),
        (
            TableEntry.of(
                "wp_sff", {"spi": Exact(value=1), "si": Exact(value=1)}, Action.of("drop")
            ),
            r"action 'drop' is not one of its actions",
        ),
        (
            TableEntry.of(
                "wp_sff",
                {"spi": Exact(value=1), "si": Exact(value=1)},
                Action.of("sff_forward", prot=1),
            ),
            r"missing \['port', 'si'\] unknown \['prot'\]",
        ),
        (
            TableEntry.of(
                "wp_sff",
                {"spi": Exact(value=1), "si": Exact(value=1)},
                Action.of("sff_drop"),
                priority=3,
            ),
            r"priority must be 0",
        ),
        (
            TableEntry.of("wp_sf", {}, Action.of("sff_drop")),
            r"did you mean 'wp_sff'",
        ),
        (
            TableEntry.of(
                "ipv4_lpm",
                {"ipv4_dst": LPM(value=0, prefix_len=33)},
                Action.of("ipv4_drop"),
            ),
            r"prefix length 33 outside 0..32",
        ),
    ],
)
def test_validation_errors(enc: Encoder, entry: TableEntry, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        enc.encode_entry(entry)


def test_wire_bytes_equal_upb_message(enc: Encoder) -> None:
    e = _classify(
        ipv4_src=Ternary(value=0xC0A80000, mask=0xFFFF0000),
        ingress_port=Ternary(value=3, mask=0x1FF),
        l4_dst_port=Range(low=80, high=80),
    )
    x = enc.encode_entry(e)
    parsed = p4r.TableEntry.FromString(x.entry_bytes())
    built = p4r.TableEntry(table_id=enc.schema.table("wp_classify").id, priority=10)
    for fid, v, m in ((1, b"\x03", b"\x01\xff"), (2, b"\xc0\xa8\x00\x00", b"\xff\xff\x00\x00")):
        built.match.add(field_id=fid, ternary=p4r.FieldMatch.Ternary(value=v, mask=m))
    built.match.add(field_id=6, range=p4r.FieldMatch.Range(low=b"\x50", high=b"\x50"))
    built.action.action.action_id = enc.schema.action("start_chain").id
    built.action.action.params.add(param_id=1, value=b"\x07")
    built.action.action.params.add(param_id=2, value=b"\x01")
    assert parsed == built
    # A WriteRequest made of a upb header and our framed updates parses as expected.
    req = p4r.WriteRequest.FromString(
        p4r.WriteRequest(device_id=3).SerializeToString()
        + update_bytes("insert", x)
        + update_bytes("delete", x)
    )
    assert [u.type for u in req.updates] == [p4r.Update.INSERT, p4r.Update.DELETE]
    assert req.updates[0].entity.table_entry == built
    assert not req.updates[1].entity.table_entry.HasField("action")


def test_default_entry(enc: Encoder) -> None:
    e = TableEntry(table="wp_sff", match=(), action=Action.of("sff_drop"), is_default=True)
    x = enc.encode_entry(e)
    assert x.is_default
    assert not enc.encode_entry(sff(1, 1, 1)).is_default
    te = enc.encode(e)
    assert te.is_default_action and not te.match
    assert enc.decode(te) == e


def test_meter_config(enc: Encoder) -> None:
    e = TableEntry.of(
        "wp_ratelimit",
        {"spi": Exact(value=1), "si": Exact(value=254)},
        Action.of("ratelimit_check"),
        meter=(1000, 100, 2000, 200),
    )
    te = enc.encode(e)
    assert (te.meter_config.cir, te.meter_config.pburst) == (1000, 200)
    assert enc.canonical(e) == e
    with pytest.raises(SchemaError, match="no direct meter"):
        enc.encode_entry(
            TableEntry.of(
                "wp_sff",
                {"spi": Exact(value=1), "si": Exact(value=1)},
                Action.of("sff_drop"),
                meter=(1, 1, 1, 1),
            )
        )


_masks = st.integers(0, 0xFFFFFFFF)


@settings(max_examples=200, deadline=None)
@given(
    src=st.tuples(st.integers(0, 0xFFFFFFFF), _masks),
    port=st.tuples(st.integers(0, 0x1FF), st.integers(0, 0x1FF)),
    rng=st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)).map(sorted),
    prio=st.integers(1, (1 << 31) - 1),
    spi=st.integers(0, (1 << 24) - 1),
)
def test_roundtrip_and_readback_keys(
    enc: Encoder,
    src: tuple[int, int],
    port: tuple[int, int],
    rng: list[int],
    prio: int,
    spi: int,
) -> None:
    e = TableEntry.of(
        "wp_classify",
        {
            "ipv4_src": Ternary(value=src[0], mask=src[1]),
            "ingress_port": Ternary(value=port[0], mask=port[1]),
            "l4_dst_port": Range(low=rng[0], high=rng[1]),
        },
        Action.of("start_chain", spi=spi, paths=1),
        priority=prio,
    )
    x = enc.encode_entry(e)
    te = p4r.TableEntry.FromString(x.entry_bytes())
    canon = enc.decode(te)
    assert canon == enc.canonical(e)
    assert enc.encode_entry(canon) == x  # canonical entries encode to the same bytes
    assert enc.encoded_from_message(te) == x  # read-back key = our key
    # A switch may pad values with leading zeros and reorder fields: same key.
    padded = p4r.TableEntry()
    padded.CopyFrom(te)
    for m in padded.match:
        if m.WhichOneof("field_match_type") == "ternary":
            m.ternary.value = b"\x00" + m.ternary.value
    padded.match.reverse()  # type: ignore[attr-defined]
    assert enc.encoded_from_message(padded) == x


@pytest.mark.parametrize("path", p4infos(), ids=lambda p: p.name)
@pytest.mark.parametrize("example", EXAMPLES)
def test_example_plans_encode(path: Path, example: str) -> None:
    """Every entry of every example plan resolves and encodes against the P4Info."""
    enc = Encoder(Schema.load(path))
    d = ROOT / "examples" / example
    plan = wphw.compile(
        wphw.load_policy(d / "policy.yaml"), wphw.load_topology(d / "topology.yaml")
    )
    n = 0
    for entries in plan.entries.values():
        for e in entries:
            x = enc.encode_entry(e)
            assert enc.decode_encoded(x) == enc.canonical(e)
            n += 1
    assert n > 0


def test_update_framing_at_every_length_boundary() -> None:
    """update_bytes' one-byte-length fast path and the general varint path agree with a
    straightforward length-delimited framing for every table-entry size around 127 bytes."""
    from wphw.p4rt.encode import EncodedEntry, update_bytes

    def ld(tag: bytes, payload: bytes) -> bytes:
        n, out = len(payload), bytearray()
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        return tag + bytes(out) + payload

    for key_len in range(1, 140):
        for action_len in (*range(131), 200):
            for meter in (b"", b"\x08\x01\x10\x02"):
                enc = EncodedEntry(1, bytes(range(key_len)), b"\x0a" * action_len, meter)
                for kind, code in (("insert", 1), ("modify", 2), ("delete", 3)):
                    te = enc.entry_bytes(with_action=kind != "delete")
                    want = ld(b"\x22", bytes([8, code]) + ld(b"\x12", ld(b"\x12", te)))
                    assert update_bytes(kind, enc) == want, (key_len, action_len, meter, kind)
