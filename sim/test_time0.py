"""Outputs are defined from time 0 with inputs that never change (Icarus ``-g2012``).

Icarus never runs an ``always @*`` block whose inputs keep their initial values, so logic
written that way stays X until some input changes (``wp_axis_arb``'s ``m_axis_tvalid`` was X
after reset with no traffic). The RTL uses continuous assignments instead; each harness in
``sim/time0/`` ties every input of one module to a constant and prints its outputs, which must
contain no x or z.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sim import common

HARNESSES = sorted((common.REPO / "sim" / "time0").glob("tb_*.v"))


@pytest.mark.parametrize("harness", HARNESSES, ids=[h.stem for h in HARNESSES])
def test_outputs_defined_at_time0(harness: Path, tmp_path: Path) -> None:
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        pytest.skip("Icarus Verilog (iverilog, vvp) not on PATH: apt-get install iverilog")
    sources, incdirs = common.read_filelist()
    out = tmp_path / "sim.vvp"
    cmd = ["iverilog", "-g2012", "-o", str(out), "-s", harness.stem]
    cmd += [f"-I{d}" for d in incdirs]
    subprocess.run([*cmd, str(harness), *map(str, sources)], check=True)
    res = subprocess.run(["vvp", "-n", str(out)], check=True, capture_output=True, text=True)
    lines = [ln for ln in res.stdout.splitlines() if "=" in ln]
    assert lines, res.stdout
    for ln in lines:
        values = [kv.split("=", 1)[1] for kv in ln.split() if "=" in kv]
        assert not any(c in v for v in values for c in "xXzZ"), f"{harness.stem}: {ln}"
