from __future__ import annotations

import json
from pathlib import Path

import pytest

from wphw.cli import main

EX = Path(__file__).resolve().parent.parent / "examples"


def test_plan_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(EX / "table1")]) == 0
    out = capsys.readouterr().out
    assert "rule ids-nat" in out and "sff_proxy(port=5, vlan=1)" in out
    target = tmp_path / "plan.json"
    assert (
        main(
            [
                "plan",
                "--topo",
                str(EX / "table1/topology.yaml"),
                "--policy",
                str(EX / "table1/policy.yaml"),
                "--format",
                "json",
                "-o",
                str(target),
                "--runtime-dir",
                str(tmp_path / "rt"),
            ]
        )
        == 0
    )
    assert json.loads(target.read_text())["format"] == 1
    rt = json.loads((tmp_path / "rt" / "s1-runtime.json").read_text())
    assert rt["target"] == "bmv2"
    first = next(e for e in rt["table_entries"] if e["table"] == "wp_classify")
    assert first["match"]["ipv4_src"] == ["192.168.0.0", "255.255.255.0"]
    # verify the saved plan
    assert main(["verify", str(EX / "table1"), "--plan", str(target)]) == 0


def test_verify_and_draw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(EX / "figure4"), "-v"]) == 0
    assert "verify: OK" in capsys.readouterr().out
    for ext in ("png", "svg"):
        out = tmp_path / f"f.{ext}"
        assert main(["draw", str(EX / "figure3"), "-o", str(out)]) == 0
        assert out.stat().st_size > 1000
    assert out.read_text().lstrip().startswith("<?xml")


def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("subscribers:\n  s1:\n    - {name: r, actions: [vpn]}\n")
    assert main(["plan", "--topo", str(EX / "table1/topology.yaml"), "--policy", str(policy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wphw: error: ") and "rule r: no PE offers service 'vpn'" in err
    assert main(["plan", str(tmp_path / "missing")]) == 2


def test_demo_runs_every_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--no-rtl"]) == 0
    out = capsys.readouterr().out
    for name in ("figure3", "figure4", "table1", "fattree"):
        assert (tmp_path / name / "plan.json").exists() and (tmp_path / name / "paths.png").exists()
        assert f"{name:<8}" in out
    assert out.count("verify: OK") == 4
