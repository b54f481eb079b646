"""`wphw apply / diff / stats` against two P4Runtime TEST DOUBLE servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from p4rt_common import ROOT, TEST_P4INFO
from p4rt_testserver import P4RuntimeTestServer

from wphw.cli import main


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[Path, P4RuntimeTestServer, P4RuntimeTestServer]]:
    with P4RuntimeTestServer(device_id=0) as s1, P4RuntimeTestServer(device_id=0) as s2:
        d = tmp_path / "table1"
        d.mkdir()
        topo = (ROOT / "examples" / "table1" / "topology.yaml").read_text()
        topo = topo.replace("127.0.0.1:50051", s1.address).replace("127.0.0.1:50052", s2.address)
        (d / "topology.yaml").write_text(topo)
        (d / "policy.yaml").write_text((ROOT / "examples" / "table1" / "policy.yaml").read_text())
        yield d, s1, s2


def test_apply_diff_stats(
    lab: tuple[Path, P4RuntimeTestServer, P4RuntimeTestServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    d, s1, s2 = lab
    conn = ["--p4info", str(TEST_P4INFO)]
    assert main(["apply", str(d), "--dry-run", *conn]) == 0
    out = capsys.readouterr().out
    assert "s1: +" in out and "[path upserts]" in out and "wp_classify[" in out
    assert "runs no pipeline of ours: apply would push wphw's pipeline first" in out
    # read-only: no Write, no pipeline push (issue 12: a dry run replaced a user's program)
    assert s1.write_rpcs == 0 and s2.write_rpcs == 0
    assert s1.set_pipeline_rpcs == 0 and s2.set_pipeline_rpcs == 0

    state = d / "applied.json"
    assert main(["apply", str(d), "--state", str(state), *conn]) == 0
    out = capsys.readouterr().out
    assert state.exists()
    assert main(["apply", str(d), "--state", str(state), *conn]) == 0
    assert "0 updates in" in capsys.readouterr().out
    n1, n2 = len(s1.entries()), len(s2.entries())
    assert n1 > 0 and n2 > 0
    assert f"{n1 + n2} updates in" in out

    assert main(["diff", str(d), *conn]) == 0
    assert capsys.readouterr().out.strip().endswith("no changes")

    # a --state file of plan format 1 (before the per-pass SI): ignored with a warning
    old = json.loads(state.read_text())
    state.write_text(json.dumps({**old, "format": 1}))
    assert main(["apply", str(d), "--state", str(state), *conn]) == 0
    captured = capsys.readouterr()
    assert "unsupported plan format 1" in captured.err and "--state ignored" in captured.err
    assert "0 updates in" in captured.out  # the switches already hold this plan
    assert json.loads(state.read_text())["format"] == 2

    assert main(["stats", str(d)]) == 0
    out = capsys.readouterr().out
    assert "classification rules (wp_classify)" in out
    assert "service path hops (wp_sff)" in out
    assert "start_chain" in out
    # Each classifier entry is named by the policy rule it realises (the example's policy).
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("  s1 ")}
    assert "start_chain(paths=1, spi=" in rows["ids-nat"] and "prio=4" in rows["ids-nat"]
    assert "drop()" in rows["udp-drop"] and "forward(port=1)" in rows["port0-fwd"]


TNA_P4INFO = ROOT / "p4" / "build" / "tna" / "wphw.p4info.txtpb"


@pytest.mark.skipif(not TNA_P4INFO.exists(), reason="p4/build/tna not built (make -C p4 tna)")
def test_apply_onto_a_tna_pipeline(
    lab: tuple[Path, P4RuntimeTestServer, P4RuntimeTestServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`wphw apply --p4info <the TNA program's P4Info>`: names resolve as pipe.Ingress.*, every
    entry encodes and is written, a second apply writes nothing, the const wp_lb is left alone."""
    d, s1, s2 = lab
    conn = ["--p4info", str(TNA_P4INFO)]
    assert main(["apply", str(d), *conn]) == 0
    capsys.readouterr()
    tables = {name for s in (s1, s2) for name in s.entry_tables()}
    assert "pipe.Ingress.wp_classify" in tables and "pipe.Ingress.wp_sff" in tables
    assert not any(t.endswith(".wp_lb") for t in tables)
    assert main(["apply", str(d), *conn]) == 0
    assert "0 updates in" in capsys.readouterr().out
    assert main(["diff", str(d), *conn]) == 0
    assert capsys.readouterr().out.strip().endswith("no changes")


def test_apply_unreachable_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "t"
    d.mkdir()
    # Both switches unreachable (port 9, discard): a switch left at the example's address
    # would be a real one on a machine running a lab, and this test would push its pipeline.
    (d / "topology.yaml").write_text(
        (ROOT / "examples" / "table1" / "topology.yaml")
        .read_text()
        .replace("127.0.0.1:50051", "127.0.0.1:9")
        .replace("127.0.0.1:50052", "127.0.0.2:9")
    )
    (d / "policy.yaml").write_text((ROOT / "examples" / "table1" / "policy.yaml").read_text())
    rc = main(["apply", str(d), "--p4info", str(TEST_P4INFO), "--retries", "0"])
    assert rc == 2
    assert "switch s1 at 127.0.0.1:9: unreachable" in capsys.readouterr().err


def test_apply_configures_fpga_waypoints_with_regs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`wphw apply` on figure3 with the branch waypoint's registers in a stand-in register file
    (``regs: mmap:...``, a freshly reset waypoint's image): switches and FPGA in one apply."""
    from wphw.netfpga.bus import MappedBus
    from wphw.netfpga.drivers import WaypointDriver
    from wphw.netfpga.install import read_dispatch
    from wphw.netfpga.plan import RecordingBus

    image = bytearray(0x10000)
    for addr, value in RecordingBus().words.items():
        image[addr : addr + 4] = value.to_bytes(4, "little")
    regfile = tmp_path / "resource0"
    regfile.write_bytes(bytes(image))
    with (
        P4RuntimeTestServer(device_id=0) as s1,
        P4RuntimeTestServer(device_id=0) as s2,
        P4RuntimeTestServer(device_id=0) as s3,
    ):
        d = tmp_path / "figure3"
        d.mkdir()
        topo = (ROOT / "examples" / "figure3" / "topology.yaml").read_text()
        for i, s in enumerate((s1, s2, s3), start=1):
            topo = topo.replace(f"127.0.0.1:5005{i}", s.address)
        topo = topo.replace(
            "  wp_branch:\n    switch: s1\n",
            f"  wp_branch:\n    switch: s1\n    regs: mmap:{regfile}\n",
        )
        assert f"regs: mmap:{regfile}" in topo
        (d / "topology.yaml").write_text(topo)
        (d / "policy.yaml").write_text((ROOT / "examples" / "figure3" / "policy.yaml").read_text())
        conn = ["--p4info", str(TEST_P4INFO)]
        assert main(["apply", str(d), *conn]) == 0
        out = capsys.readouterr().out
        assert "wp_branch (FPGA): blocks written wp_chacha20, wp_chacha20@4" in out
        assert "dispatch rows +2 -0 (0 kept)" in out
        assert "register writes NOT applied (no 'regs' in the topology): wp_hq" in out

        async def rows() -> set[tuple[int, int]]:
            drv = await WaypointDriver.attach(MappedBus(regfile))
            return {e.key for e in (await read_dispatch(drv)).values()}

        import wphw

        plan = wphw.compile(
            wphw.load_policy(d / "policy.yaml"), wphw.load_topology(d / "topology.yaml")
        )
        assert asyncio.run(rows()) == {
            (c.spi, c.si) for c in plan.contexts if c.waypoint == "wp_branch"
        }
        assert main(["apply", str(d), *conn]) == 0
        assert "blocks written none, dispatch rows +0 -0 (2 kept), 0 register writes" in (
            capsys.readouterr().out
        )


def test_apply_rejects_a_negative_drain(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["apply", str(ROOT / "examples" / "table1"), "--drain", "-0.5"])
    assert rc == 2
    assert "--drain -0.5: must be 0 or more seconds" in capsys.readouterr().err
