"""hdl/wphw.f — the one file list every simulator, bench and yosys run reads — names every RTL
source in hdl/ (the shared modules included), each file holds the module it is named after, and
every header the RTL includes is in an include directory the list names."""

from __future__ import annotations

import re
from pathlib import Path

from wphw.netfpga.cocotb_tb import read_filelist

HDL = Path(__file__).resolve().parents[1] / "hdl"


def test_every_source_is_listed() -> None:
    sources, _ = read_filelist(HDL / "wphw.f")
    listed = {p.resolve() for p in sources}
    on_disk = {p.resolve() for p in HDL.glob("*.v")}
    assert on_disk - listed == set(), "hdl/*.v missing from hdl/wphw.f"
    assert all(p.is_file() for p in sources)


def test_one_module_per_file_named_after_it() -> None:
    for path in HDL.glob("*.v"):
        modules = re.findall(r"^module\s+(\w+)", path.read_text(encoding="utf-8"), re.M)
        assert modules == [path.stem], f"{path.name}: {modules}"


def test_includes_resolve() -> None:
    sources, incdirs = read_filelist(HDL / "wphw.f")
    for path in sources:
        for name in re.findall(r'`include\s+"([^"]+)"', path.read_text(encoding="utf-8")):
            assert any((d / name).is_file() for d in incdirs), f"{path.name}: {name}"
