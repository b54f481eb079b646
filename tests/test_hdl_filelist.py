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


# a tuser or a block's register address declared with a literal width instead of
# `WP_TUSER_WIDTH (wp_frame.vh) / `WP_BLOCK_ADDR_WIDTH (wp_regmap.vh) or a parameter
_TUSER = re.compile(r"tuser", re.I)
_BLOCK_ADDR = re.compile(r"axil_(aw|ar)addr|AXI_PE_(AW|AR)ADDR|reg_(wr|rd)_addr|pa_(aw|ar)addr")
_DECL = re.compile(r"^\s*(input|output|wire|reg|parameter)\b")


def test_widths_named() -> None:
    """Every RTL file (the wrappers too) sizes tuser and register-block addresses by name."""
    sources, _ = read_filelist(HDL / "wphw.f")
    files = {p.resolve() for p in sources} | {p.resolve() for p in (HDL / "wrap").glob("*.v")}
    assert HDL.joinpath("wrap", "wp_cosim_top.v").resolve() in files
    bad = []
    for path in sorted(files):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("//")[0]
            if not _DECL.match(code) and "+:" not in code:
                continue
            if _TUSER.search(code) and re.search(r"\b(127|128)\b", code):
                bad.append(f"{path.name}:{n}: {line.strip()}")
            if _BLOCK_ADDR.search(code) and re.search(r"\b(11|12)\b", code):
                bad.append(f"{path.name}:{n}: {line.strip()}")
    assert bad == [], "literal widths:\n" + "\n".join(bad)
