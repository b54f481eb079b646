"""Fabric against the in-process P4Runtime TEST DOUBLE (tests/p4rt_testserver.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from finsy.proto import p4r, rpc_code
from p4rt_common import TEST_P4INFO, FakePlan, Sw, sff, sff_entries
from p4rt_testserver import P4RuntimeTestServer, free_port

from wphw.entries import Action, TableEntry, Ternary
from wphw.errors import SwitchConnectionError
from wphw.p4rt import AsyncFabric, Fabric, P4RuntimeWriteError, Pipeline, Schema
from wphw.p4rt.client import RpcFailure
from wphw.p4rt.counters import read_stats
from wphw.p4rt.encode import Encoder, update_bytes

SCHEMA = Schema.load(TEST_P4INFO)
PIPELINE = Pipeline.of(SCHEMA, b'{"fake": "bmv2 json"}')
FAST = {"retries": 5, "backoff": 0.05, "timeout": 2.0}


@pytest.fixture
def server() -> Iterator[P4RuntimeTestServer]:
    with P4RuntimeTestServer() as s:
        yield s


@pytest.fixture
def two_servers() -> Iterator[tuple[P4RuntimeTestServer, P4RuntimeTestServer]]:
    with P4RuntimeTestServer() as a, P4RuntimeTestServer() as b:
        yield a, b


def fabric(*servers: P4RuntimeTestServer, **kw: Any) -> Fabric:
    names = ["s1", "s2", "s3"]
    opts = {"pipeline": PIPELINE, **FAST, **kw}
    return Fabric([Sw(names[i], s.address) for i, s in enumerate(servers)], **opts)


def classify(spi: int, prio: int = 10, src: int = 0x0A000000) -> TableEntry:
    return TableEntry.of(
        "wp_classify",
        {"ipv4_src": Ternary(value=src, mask=0xFF000000)},
        Action.of("start_chain", spi=spi, paths=1),
        priority=prio,
    )


def path(spi: int, hops: int = 2) -> list[TableEntry]:
    return [sff(spi, 255 - i, 1 + i) for i in range(hops)]


def installed(server: P4RuntimeTestServer) -> list[bytes]:
    return sorted(te.SerializeToString(deterministic=True) for te in server.entries())


def test_apply_readback_reapply_noop_and_difference(server: P4RuntimeTestServer) -> None:
    plan_a = FakePlan({"s1": [*path(1), classify(1)]})
    with fabric(server) as f:
        r = f.apply(plan_a)
        assert (r.switches[0].inserted, r.written) == (3, 3)
        assert server.set_pipeline_rpcs == 1
        enc = Encoder(SCHEMA)
        assert set(f.read("s1")) == {enc.canonical(e) for e in plan_a.entries["s1"]}
        rpcs, updates = server.write_rpcs, server.updates_seen
        again = f.apply(plan_a)
        assert again.written == 0 and again.switches[0].unchanged == 3
        assert (server.write_rpcs, server.updates_seen) == (rpcs, updates)
        # Change one hop's port and add a path: exactly two updates go out.
        plan_b = FakePlan({"s1": [sff(1, 255, 7), sff(1, 254, 2), *path(2), classify(1)]})
        r = f.apply(plan_b)
        assert (r.switches[0].inserted, r.switches[0].modified, r.switches[0].deleted) == (2, 1, 0)
        assert server.updates_seen == updates + 3
    # A new session with the same pipeline does not push it again.
    with fabric(server) as f:
        assert f.apply(plan_b).written == 0
    assert server.set_pipeline_rpcs == 1


def test_async_api_and_dry_run(server: P4RuntimeTestServer) -> None:
    plan = FakePlan({"s1": [*path(1), classify(1)]})

    async def main() -> None:
        async with AsyncFabric([Sw("s1", server.address)], pipeline=PIPELINE, **FAST) as f:
            r = await f.apply(plan, dry_run=True)
            assert r.diff is not None and r.diff.total == 3
            text = str(r.diff)
            assert "+ wp_sff[si=255 spi=1] -> sff_forward(port=1, si=255)" in text
            assert "[edge upserts]" in text and "start_chain(paths=1, spi=1)" in text
            assert server.write_rpcs == 0 and not server.entries()
            await f.apply(plan)
            assert str(await f.diff(plan)).endswith("no changes")

    asyncio.run(main())


def test_make_before_break_order(server: P4RuntimeTestServer) -> None:
    """New path, then classifier flip, then old path removal, each in its own Write RPCs."""
    log: list[tuple[int, str, int, int]] = []  # (write rpc, table, type, spi)
    sff_id = SCHEMA.table("wp_sff").id

    def record(update: Any) -> None:
        te = update.entity.table_entry
        table = "wp_sff" if te.table_id == sff_id else "wp_classify"
        spi = int.from_bytes(te.match[0].exact.value, "big") if table == "wp_sff" else 0
        log.append((server.write_rpcs, table, update.type, spi))
        return None

    with fabric(server) as f:
        f.apply(FakePlan({"s1": [*path(1, 3), classify(1)]}))
        server.inject = record
        f.apply(FakePlan({"s1": [*path(2, 3), classify(2)]}))
    kinds = [(t, ty, spi) for _, t, ty, spi in log]
    assert kinds == [
        ("wp_sff", p4r.Update.INSERT, 2),
        ("wp_sff", p4r.Update.INSERT, 2),
        ("wp_sff", p4r.Update.INSERT, 2),
        ("wp_classify", p4r.Update.MODIFY, 0),
        ("wp_sff", p4r.Update.DELETE, 1),
        ("wp_sff", p4r.Update.DELETE, 1),
        ("wp_sff", p4r.Update.DELETE, 1),
    ]
    rpc_of = [rpc for rpc, *_ in log]
    assert rpc_of[0] < rpc_of[3] < rpc_of[4]  # separate, ordered Write RPCs


def test_partial_batch_failure_lists_each_update_and_rolls_back(
    server: P4RuntimeTestServer,
) -> None:
    before_plan = FakePlan({"s1": [*path(1), classify(1), classify(5, prio=3, src=0x0B000000)]})
    bad_spis = {3, 5}

    def fail_some(update: Any) -> tuple[int, str] | None:
        te = update.entity.table_entry
        if te.table_id == SCHEMA.table("wp_sff").id and update.type == p4r.Update.INSERT:
            spi = int.from_bytes(te.match[0].exact.value, "big")
            si = int.from_bytes(te.match[1].exact.value, "big")
            if spi in bad_spis and si == 254:
                return rpc_code.RESOURCE_EXHAUSTED, "Table is full"
        return None

    with fabric(server, batch_size=5) as f:
        f.apply(before_plan)
        snapshot = installed(server)
        server.inject = fail_some
        # Path 1 changes a hop, paths 2..5 are new: batches [~1 +2 +2 +3 +3*] [+4 +4 +5 +5*]
        new_plan = FakePlan(
            {"s1": [sff(1, 255, 9), *[e for s in (2, 3, 4, 5) for e in path(s)], classify(2)]}
        )
        with pytest.raises(P4RuntimeWriteError) as info:
            f.apply(new_plan)
        err = info.value
        assert err.rolled_back
        assert len(err.failures) == 2
        for fail, spi, index in zip(err.failures, sorted(bad_spis), (4, 3), strict=True):
            assert fail.code == "RESOURCE_EXHAUSTED"
            assert fail.message == "Table is full"
            assert fail.kind == "insert"
            assert fail.entry == Encoder(SCHEMA).canonical(sff(spi, 254, 2))
            assert fail.index == index and fail.switch == "s1"
        text = str(err)
        assert "RESOURCE_EXHAUSTED 'Table is full' — insert wp_sff[si=254 spi=3]" in text
        assert "rolled back" in text
        assert installed(server) == snapshot
        server.inject = None
        assert f.apply(new_plan).written > 0  # and it works once the switch accepts it


def test_mixed_batch_error_details_like_bmv2(server: P4RuntimeTestServer) -> None:
    """Duplicates → ALREADY_EXISTS, missing → NOT_FOUND, unknown id → INVALID_ARGUMENT, per
    update, in one batch whose other updates succeed (p4runtime-shell loops forever here)."""
    enc = Encoder(SCHEMA)
    with fabric(server) as f:
        f.apply(FakePlan({"s1": [sff(1, 255, 1)]}))
        client = f.aio._clients["s1"]
        bogus = enc.encode_entry(sff(9, 9, 9))
        bogus = bogus._replace(key=b"\x08\x7f" + bogus.key[len(b"\x08") + 4 :])  # table id 127
        payload = b"".join(
            [
                update_bytes("insert", enc.encode_entry(sff(1, 255, 1))),  # duplicate
                update_bytes("insert", enc.encode_entry(sff(2, 255, 1))),  # fine
                update_bytes("delete", enc.encode_entry(sff(3, 255, 1))),  # missing
                update_bytes("modify", enc.encode_entry(sff(1, 255, 4))),  # fine
                update_bytes("insert", bogus),  # unknown table id
            ]
        )

        async def write() -> None:
            await client.write(payload)

        with pytest.raises(RpcFailure) as info:
            f._run(write())
    assert info.value.code == "UNKNOWN"
    assert [c for c, _ in info.value.details or []] == [
        rpc_code.ALREADY_EXISTS,
        rpc_code.OK,
        rpc_code.NOT_FOUND,
        rpc_code.OK,
        rpc_code.INVALID_ARGUMENT,
    ]
    assert len(server.entries()) == 2


def test_failure_on_one_switch_rolls_back_all(
    two_servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer],
) -> None:
    a, b = two_servers
    with fabric(a, b) as f:
        f.apply(FakePlan({"s1": [*path(1), classify(1)], "s2": [*path(1)]}))
        snap = (installed(a), installed(b))
        cls_id = SCHEMA.table("wp_classify").id
        b.inject = lambda u: (
            (rpc_code.INTERNAL, "boom") if u.entity.table_entry.table_id == cls_id else None
        )
        with pytest.raises(P4RuntimeWriteError) as info:
            f.apply(FakePlan({"s1": [*path(2), classify(2)], "s2": [*path(2), classify(2)]}))
        assert [x.switch for x in info.value.failures] == ["s2"]
        assert "phase 1 (edge upserts)" in str(info.value)
        assert info.value.rolled_back
        assert (installed(a), installed(b)) == snap


def test_read_overlaps_encoding_and_a_failed_read_rolls_back_the_others(
    two_servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer],
) -> None:
    """apply starts each switch's Read and encodes while it runs; nothing is written to a
    switch before its Read is back; if one switch's Read fails, the switches that already
    wrote are rolled back."""
    a, b = two_servers
    with fabric(a, b, batch_size=4) as f:
        f.apply(FakePlan({"s1": [*path(1), classify(1)], "s2": [*path(1)]}))
        snap = (installed(a), installed(b))
        writes_b = b.write_rpcs
        b.read_delay = 0.3
        b.read_error = (grpc.StatusCode.INTERNAL, "read broke")
        new = FakePlan(
            {"s1": [*(e for s in (2, 3, 4) for e in path(s, 3)), classify(2)], "s2": path(2)}
        )
        with pytest.raises(SwitchConnectionError, match=r"s2 at .*Read failed.*read broke"):
            f.apply(new)
        assert a.write_rpcs > 0 and b.write_rpcs == writes_b  # s1 wrote, s2 never did
        assert (installed(a), installed(b)) == snap  # s1 rolled back, s2 untouched
        # A slow Read: the plan still goes in, and only after the Read came back.
        r = f.apply(new)
        assert {s.switch: (s.inserted, s.modified) for s in r.switches} == {
            "s1": (9, 1),
            "s2": (2, 0),
        }


@pytest.mark.parametrize("drain", [0.0, 0.3])
def test_old_paths_are_deleted_after_the_drain_time(
    server: P4RuntimeTestServer, drain: float
) -> None:
    """Old service-path hops go only `drain` seconds after the classifier flip (packets already
    on the old path finish it); an apply that deletes no path entries does not wait."""
    sff_id = SCHEMA.table("wp_sff").id
    cls_id = SCHEMA.table("wp_classify").id
    with fabric(server, drain=drain) as f:
        f.apply(FakePlan({"s1": [*path(1), classify(1)]}))
        server.write_log.clear()
        f.apply(FakePlan({"s1": [*path(2), classify(2)]}))  # flip to path 2, delete path 1
        flip = max(t for t, ups in server.write_log if (p4r.Update.MODIFY, cls_id) in ups)
        gone = min(t for t, ups in server.write_log if (p4r.Update.DELETE, sff_id) in ups)
        assert gone - flip >= drain
        server.write_log.clear()
        t0 = time.monotonic()
        f.apply(FakePlan({"s1": [*path(2), *path(3), classify(3)]}))  # nothing to delete
        assert time.monotonic() - t0 < 0.25
        assert not any(ups for _, ups in server.write_log if (p4r.Update.DELETE, sff_id) in ups)
    with pytest.raises(ValueError, match="negative"):
        fabric(server, drain=-1)


def test_arbitration_takeover(server: P4RuntimeTestServer) -> None:
    plan = FakePlan({"s1": path(1)})
    with fabric(server, election_id=5) as low:
        low.apply(plan)
        with fabric(server, election_id=9) as high:
            assert high.aio._clients["s1"].primary
            with pytest.raises(P4RuntimeWriteError) as info:
                low.apply(FakePlan({"s1": path(2)}))
            assert {x.code for x in info.value.failures} == {"PERMISSION_DENIED"}
            assert info.value.failures[0].message == "Not primary"
            assert len(info.value.failures) == 2
            assert high.apply(FakePlan({"s1": path(3)})).written == 4
            with pytest.raises(SwitchConnectionError, match=r"s1 at 127\.0\.0\.1:\d+: not primary"):
                fabric(server, election_id=7).connect()
        # high has gone: the server makes the remaining controller primary again.
        assert low.apply(FakePlan({"s1": path(2)})).written == 4  # +path 2, -path 3


def test_server_restart_mid_apply(server: P4RuntimeTestServer) -> None:
    entries = sff_entries(400)
    server.crash_after_writes = 3  # the pipeline push is not a Write; Write #3 crashes
    server.down_for = 0.3
    with fabric(server, batch_size=50) as f:
        r = f.apply(FakePlan({"s1": [*entries, classify(1)]}))
        assert len(server.entries()) == 401
        assert server.set_pipeline_rpcs == 2  # the restarted switch lost its pipeline
        assert r.switches[0].inserted >= 401
        assert f.apply(FakePlan({"s1": [*entries, classify(1)]})).written == 0


def test_unreachable_switch_names_switch_and_address() -> None:
    port = free_port()
    t0 = time.monotonic()
    f = Fabric(
        [Sw("edge7", f"127.0.0.1:{port}")], pipeline=PIPELINE, retries=2, backoff=0.02, timeout=0.3
    )
    with pytest.raises(
        SwitchConnectionError, match=rf"edge7 at 127\.0\.0\.1:{port}: unreachable after 3"
    ):
        f.connect()
    assert time.monotonic() - t0 < 5


def test_ownership_foreign_entries_and_defaults(server: P4RuntimeTestServer) -> None:
    default = TableEntry(table="wp_sff", match=(), action=Action.of("sff_drop"), is_default=True)
    with fabric(server) as f:
        f.apply(FakePlan({"s1": [*path(1), *path(4)]}))
        # Somebody else's entry in an owned table is removed by the next apply.
        r = f.apply(FakePlan({"s1": [*path(1), default]}))
        assert r.switches[0].deleted == 2 and r.switches[0].modified == 1
        assert f.apply(FakePlan({"s1": [*path(1), default]})).written == 0
        assert default in f.read("s1")
        # Without a default entry in the plan, the default is left alone (never deleted).
        assert f.apply(FakePlan({"s1": path(1)})).written == 0


def test_counters_and_progress(server: P4RuntimeTestServer) -> None:
    seen: list[tuple[int, int]] = []
    enc = Encoder(SCHEMA)
    with fabric(server, batch_size=100) as f:
        f.apply(
            FakePlan({"s1": [*sff_entries(450), classify(1)]}),
            progress=lambda d, t: seen.append((d, t)),
        )
        assert seen[-1] == (451, 451)
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)
        server.set_counter(enc.encode(sff(1, 255, 1)), 12, 1200)
        server.set_counter(enc.encode(classify(1)), 5, 500)
        stats = f._run(read_stats(f.aio))
    assert stats.hop("s1", 1, 255).packets == 12
    assert stats.hop("s1", 1, 255).action == "sff_forward"  # a counter read has no action
    assert stats.rules[0].packets == 5
    table = stats.table()
    assert "start_chain(paths=1, spi=1)" in table
    assert len(stats.hops) == 450


def _self_signed(name: str) -> tuple[bytes, bytes]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def test_tls_and_role(tmp_path: Any) -> None:
    from wphw.p4rt import Credentials

    key, cert = _self_signed("switch.wphw.test")
    (tmp_path / "ca.pem").write_bytes(cert)
    creds = Credentials(root_certificates=tmp_path / "ca.pem", target_name="switch.wphw.test")
    with P4RuntimeTestServer(tls=(key, cert)) as server:
        with fabric(server, credentials=creds, role="wphw") as f:
            assert f.apply(FakePlan({"s1": path(1)})).written == 2
        assert len(server.entries()) == 2
        # Plain text against a TLS server fails cleanly.
        with pytest.raises(SwitchConnectionError, match="s1 at"):
            fabric(server, retries=1, timeout=1.0).connect()


def test_switch_gone_for_good_mid_apply(
    two_servers: tuple[P4RuntimeTestServer, P4RuntimeTestServer],
) -> None:
    a, b = two_servers
    with fabric(a, b, retries=2, backoff=0.02, batch_size=10) as f:
        f.apply(FakePlan({"s1": path(1), "s2": path(1)}))
        snap_a = installed(a)
        b.crash_after_writes = b.write_rpcs + 1
        b.down_for = 30.0  # longer than the retries last
        t0 = time.monotonic()
        with pytest.raises(SwitchConnectionError, match=r"switch s2 at 127\.0\.0\.1:\d+"):
            f.apply(FakePlan({"s1": sff_entries(40, 50), "s2": sff_entries(40, 50)}))
        assert time.monotonic() - t0 < 10
    assert installed(a) == snap_a  # the switch that stayed was rolled back


def test_invalid_entry_mid_plan_rolls_back(server: P4RuntimeTestServer) -> None:
    from wphw.errors import SchemaError

    with fabric(server, batch_size=10) as f:
        f.apply(FakePlan({"s1": path(1)}))
        snap = installed(server)
        bad = [*sff_entries(50, 10), sff(1 << 24, 255, 1)]  # the last SPI does not fit 24 bits
        with pytest.raises(SchemaError, match="does not fit 24 bits"):
            f.apply(FakePlan({"s1": bad}))
        assert server.write_rpcs > 1  # batches had gone out before the bad entry was reached
        assert installed(server) == snap


def test_restart_during_delete_phase(server: P4RuntimeTestServer) -> None:
    with fabric(server, batch_size=5) as f:
        f.apply(FakePlan({"s1": [*sff_entries(20, 1), classify(1)]}))
        server.crash_after_writes = server.write_rpcs + 7  # inside the path-delete phase
        server.down_for = 0.2
        new = [*sff_entries(20, 100), classify(100)]
        f.apply(FakePlan({"s1": new}))
        assert set(f.read("s1")) == {Encoder(SCHEMA).canonical(e) for e in new}


def test_apply_pauses_gc_and_restores_it(server: P4RuntimeTestServer) -> None:
    """The collector is off while a plan is written and on again afterwards, also after a
    failed apply; a caller that had it disabled keeps it disabled."""
    import gc

    seen: list[bool] = []

    def record(update: Any) -> None:
        seen.append(gc.isenabled())
        return None

    assert gc.isenabled()
    with fabric(server) as f:
        server.inject = record
        f.apply(FakePlan({"s1": [*path(1), classify(1)]}))
        assert seen and not any(seen), "gc ran during the writes"
        assert gc.isenabled()
        server.inject = lambda u: (
            (rpc_code.INVALID_ARGUMENT, "no") if u.entity.table_entry.priority else None
        )
        with pytest.raises(P4RuntimeWriteError):
            f.apply(FakePlan({"s1": [*path(2), classify(2)]}))
        assert gc.isenabled()
        server.inject = None
        gc.disable()
        try:
            f.apply(FakePlan({"s1": [*path(3), classify(3)]}))
            assert not gc.isenabled()
        finally:
            gc.enable()


def test_sync_fabric_after_asyncio_run(tmp_path: Path) -> None:
    """A script that ran asyncio.run(...) before its first Fabric (so the main thread has no
    current loop any more) can still use the sync Fabric. Fresh interpreter: the shared loop is
    created once per process."""
    import subprocess
    import sys

    script = tmp_path / "after_run.py"
    script.write_text(
        "import asyncio, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from p4rt_common import TEST_P4INFO, FakePlan, Sw, sff\n"
        "from p4rt_testserver import P4RuntimeTestServer\n"
        "from wphw.p4rt import Fabric, Pipeline, Schema\n"
        "asyncio.run(asyncio.sleep(0))\n"
        "pipeline = Pipeline.of(Schema.load(TEST_P4INFO), b'{}')\n"
        "with P4RuntimeTestServer() as s:\n"
        "    with Fabric([Sw('s1', s.address)], pipeline=pipeline) as f:\n"
        "        print(f.apply(FakePlan({'s1': [sff(1, 255, 1)]})).written)\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "1"


FOREIGN = Pipeline.of(
    Schema.load(Path(__file__).parent.parent / "p4/build/basic_forward.p4info.txtpb"),
    b'{"foreign": 1}',
)


def foreign_route() -> TableEntry:
    from wphw.entries import LPM

    return TableEntry.of(
        "ipv4_lpm",
        {"ipv4_dst": LPM(value=0x0A000001, prefix_len=32)},
        Action.of("ipv4_forward", dst_mac=0x080000000001, port=1),
    )


def test_read_only_calls_never_write_nor_push_nor_take_the_primary_role(
    server: P4RuntimeTestServer,
) -> None:
    """Issue 12: a dry run against a switch running another program wiped it. Dry run, diff
    and read must send no Write and no SetForwardingPipelineConfig, and leave the primary."""
    with fabric(server, pipeline=FOREIGN, election_id=5) as other:  # the user's own program
        other.apply(FakePlan({"s1": [foreign_route()]}))
        before = installed(server)
        pushes, writes = server.set_pipeline_rpcs, server.write_rpcs
        plan = FakePlan({"s1": [*path(1), classify(1)]})

        async def main() -> None:
            f = AsyncFabric([Sw("s1", server.address)], pipeline=PIPELINE, **FAST)
            await f.connect(arbitrate=False)
            try:
                r = await f.apply(plan, dry_run=True)
                d = await f.diff(plan)
            finally:
                await f.close()
            for text in (str(r.diff), str(d)):
                assert "runs another pipeline" in text, text
                assert "dropping the 1 table entry it holds" in text, text
                assert "no changes" not in text
            assert r.diff is not None and r.diff.switches[0].inserts == 3

        asyncio.run(main())
        assert (server.set_pipeline_rpcs, server.write_rpcs) == (pushes, writes)
        assert installed(server) == before
        # the user's session is still primary and can still write
        assert other.apply(FakePlan({"s1": []})).switches[0].deleted == 1


def test_connecting_as_primary_does_not_push_only_apply_does(server: P4RuntimeTestServer) -> None:
    with fabric(server, pipeline=FOREIGN) as other:
        other.apply(FakePlan({"s1": [foreign_route()]}))
    pushes = server.set_pipeline_rpcs
    with fabric(server) as f:  # primary, another pipeline on the switch
        assert server.set_pipeline_rpcs == pushes
        assert f.apply(FakePlan({"s1": path(1)}), dry_run=True).switches[0].write_rpcs == 0
        assert server.set_pipeline_rpcs == pushes and len(server.entries()) == 1
        f.apply(FakePlan({"s1": path(1)}))
        assert server.set_pipeline_rpcs == pushes + 1 and len(server.entries()) == 2
