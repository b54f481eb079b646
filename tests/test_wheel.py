"""The package as `pip install .` installs it, run from a folder that is not the checkout:
the compiled P4 program and the built-in examples come with it, nothing imports sim/, tests/
or the checkout, the demo's RTL check builds the waypoint from the package's own HDL, and
outputs carry no path of the machine that wrote them (issue 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import wphw
from wphw.cli import main
rc = [main(["plan", "table1", "--format", "json", "-o", "plan.json", "--runtime-dir", "rt"]),
      main(["verify", "figure3"]),
      main(["demo", "--out", "out"])]
mods = {n: getattr(m, "__file__", None) or "" for n, m in list(sys.modules.items())}
print(json.dumps({"rc": rc, "wphw": wphw.__file__,
                  "from_checkout": sorted(n for n, f in mods.items() if f.startswith(sys.argv[2])),
                  "sim_or_tests": sorted(n for n in mods if n.split(".")[0] in ("sim", "tests"))}))
"""


def test_installed_wheel_works_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("wphw-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = "/usr/bin:/bin"  # no simple_switch_grpc: the demo skips the lab and says so
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(target), str(ROOT / "wphw")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rc"] == [0, 0, 0], proc.stdout[-3000:]
    assert result["wphw"].startswith(str(target)), result["wphw"]
    assert result["from_checkout"] == [] and result["sim_or_tests"] == []
    rt = json.loads((work / "rt" / "s1-runtime.json").read_text())
    assert rt["p4info"] == "wphw.p4info.txtpb" and rt["bmv2_json"] == "wphw.json"
    assert (work / "rt" / "wphw.json").is_file()
    text = "".join(p.read_text() for p in (work / "rt").glob("*-runtime.json"))
    assert str(tmp_path) not in text and str(ROOT) not in text
    for name in ("figure3", "figure4", "table1", "fattree"):
        assert (work / "out" / name / "paths.png").is_file()
    # the co-simulated waypoint runs from the wheel: its HDL, top and cocotb module are package
    # data (Icarus is on /usr/bin; cocotb comes from the cosim extra in this environment)
    assert "rtl      OK" in proc.stdout, proc.stdout[-3000:]
    assert (target / "wphw" / "data" / "hdl" / "wrap" / "wp_cosim_top.v").is_file()
    assert not (target / "wphw" / "data" / "hdl").is_symlink()
