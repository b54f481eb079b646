"""`wphw apply / diff / stats` against two P4Runtime TEST DOUBLE servers."""

from __future__ import annotations

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
    assert s1.write_rpcs == 0 and s2.write_rpcs == 0

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

    assert main(["stats", str(d)]) == 0
    out = capsys.readouterr().out
    assert "classification rules (wp_classify)" in out
    assert "service path hops (wp_sff)" in out
    assert "start_chain" in out


def test_apply_unreachable_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "t"
    d.mkdir()
    (d / "topology.yaml").write_text(
        (ROOT / "examples" / "table1" / "topology.yaml")
        .read_text()
        .replace("127.0.0.1:50051", "127.0.0.1:9")
    )
    (d / "policy.yaml").write_text((ROOT / "examples" / "table1" / "policy.yaml").read_text())
    rc = main(["apply", str(d), "--p4info", str(TEST_P4INFO), "--retries", "0"])
    assert rc == 2
    assert "switch s1 at 127.0.0.1:9: unreachable" in capsys.readouterr().err
