"""The demo's hardware check, shipped in the package: the figure3 plan's register writes
program the real Verilog waypoint (``hdl/wrap/wp_cosim_top.v``: wp_waypoint with its PEs, in
Icarus through cocotb), an NSH frame of ``branch-http-to-hq`` comes out encrypted exactly as
:mod:`wphw.services.esp` encrypts it, and the return path decrypts it back.

:func:`run` builds and runs it (needs Icarus Verilog and the ``cosim`` extra: cocotb and
cocotbext-axi); the cocotb test is :func:`test_figure3_plan_encrypts_on_rtl`, which the source
tree's sim/test_plan_registers.py also runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from wphw.errors import WphwError
from wphw.netfpga.cocotb_tb import read_filelist, tuser
from wphw.resources import COSIM_TOP, EXAMPLES
from wphw.services import esp

KEY = bytes(range(32))
"""The figure3 example's encryption key (examples/figure3/topology.yaml)."""
TIMEOUT_US = 40
MODULE = "wphw.netfpga.rtl_check"


def figure3_branch() -> tuple[Any, tuple[Any, ...]]:
    """The figure3 plan and its register writes for the FPGA waypoint ``wp_branch``."""
    import wphw
    from wphw.netfpga.plan import waypoint_of

    t = wphw.load_topology(EXAMPLES / "figure3" / "topology.yaml")
    p = wphw.load_policy(EXAMPLES / "figure3" / "policy.yaml")
    plan = wphw.compile(p, t)
    return plan, tuple(w for w in plan.register_writes if waypoint_of(w) == "wp_branch")


def _frame(spi: int, si: int) -> bytes:
    from scapy.contrib.nsh import NSH
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    return bytes(
        Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01", type=0x894F)
        / NSH(spi=spi, si=si, mdtype=2, nextproto=1, ttl=63)
        / IP(src="10.0.1.1", dst="10.0.2.2")
        / TCP(sport=40000, dport=80, flags="S")
        / b"GET /payroll HTTP/1.1\r\n\r\n"
    )


def _with_path(frame: bytes, spi: int, si: int) -> bytes:
    out = bytearray(frame)
    out[18:21] = spi.to_bytes(3, "big")
    out[21] = si
    return bytes(out)


cocotb: Any
try:
    import cocotb
    from cocotb.triggers import with_timeout
except ImportError:  # without the cosim extra: run() says what is missing
    cocotb = None


if cocotb is not None:

    @cocotb.test()  # type: ignore[untyped-decorator]
    async def test_figure3_plan_encrypts_on_rtl(dut: Any) -> None:
        from wphw.netfpga.chacha20 import ChaCha20Driver
        from wphw.netfpga.cosim_bridge import start
        from wphw.netfpga.drivers import WaypointDriver
        from wphw.netfpga.plan import DEFAULT_LAYOUT, apply_register_writes, instance

        tb = await start(dut)
        plan, writes = figure3_branch()
        done = await apply_register_writes(writes, lambda wp: tb.bus)
        tb.log.info("applied %s register writes of %d", done, len(writes))
        enc = next(c for c in plan.contexts if c.waypoint == "wp_branch" and c.service == "encrypt")
        dec = next(c for c in plan.contexts if c.waypoint == "wp_branch" and c.service == "decrypt")
        wpd = await WaypointDriver.attach(tb.bus)
        rows = set()
        for i in range(wpd.caps):
            if await wpd.read("ENTRY_CTRL", i):
                key = await wpd.read("ENTRY_KEY", i)
                rows.add((key >> 8, key & 0xFF))
        assert rows == {(enc.spi, enc.si), (dec.spi, dec.si)}, rows
        enc_inst = next(w.block for w in writes if w.block.startswith("wp_chacha20"))
        cc = await ChaCha20Driver.attach(tb.bus, base=instance(enc_inst).base)
        seq = await cc.seq()

        port = DEFAULT_LAYOUT.port
        frame = _frame(enc.spi, enc.si)
        await tb.send(frame, src_port=port)
        out, user = await with_timeout(tb.recv(), TIMEOUT_US, "us")
        expected = _with_path(esp.encrypt(frame, key=KEY, key_id=1, seq=seq), enc.spi, enc.si - 1)
        assert out == expected, f"encrypted frame differs from wphw.services.esp (seq {seq})"
        assert user == tuser(len(frame) + esp.HEADER_LEN, port, port)

        # the return path: the ciphertext on the decrypt path comes back as the original
        await tb.send(_with_path(out, dec.spi, dec.si), src_port=port)
        plain, _ = await with_timeout(tb.recv(), TIMEOUT_US, "us")
        assert plain == _with_path(frame, dec.spi, dec.si - 1), "decrypt did not restore it"

        # no row: unchanged, default port (0 = nowhere)
        stray = _frame(4242, 255)
        await tb.send(stray, src_port=port)
        out, user = await with_timeout(tb.recv(), TIMEOUT_US, "us")
        assert out == stray and (user >> 24) & 0xFF == DEFAULT_LAYOUT.default_port
        counters = await wpd.counters()
        assert sum(counters.entry_pkts) == 2 and counters.miss_pkts == 1
        assert (await cc.counters()).done_pkts == 1


def run(workdir: Path) -> None:
    """Build the waypoint from the package's HDL and run the check; raises on failure, and
    :class:`~wphw.errors.WphwError` saying what is missing (Icarus, the cosim extra)."""
    if shutil.which("iverilog") is None:
        raise WphwError("the RTL check needs Icarus Verilog (apt-get install iverilog)")
    try:
        from cocotb_tools.runner import get_results, get_runner  # type: ignore[attr-defined]
    except ImportError:
        raise WphwError("the RTL check needs cocotb: pip install 'wphw[cosim]'") from None
    sources, incdirs = read_filelist()
    runner = get_runner("icarus")
    build_dir = workdir / "rtl_check"
    params = {"NUM_ENTRIES": 16}
    runner.build(
        sources=[*sources, COSIM_TOP],
        includes=incdirs,
        hdl_toplevel="wp_cosim_top",
        parameters=params,
        build_dir=build_dir,
        timescale=("1ns", "1ps"),
        always=True,
    )
    results = runner.test(
        test_module=MODULE,
        hdl_toplevel="wp_cosim_top",
        parameters=params,
        build_dir=build_dir,
        test_dir=build_dir,
        extra_env={"COCOTB_LOG_LEVEL": "WARNING", "PYTHONWARNINGS": "ignore::DeprecationWarning"},
    )
    total, failed = get_results(results)
    if failed or not total:
        raise WphwError(
            f"RTL check: {failed} of {total} cocotb test(s) failed (log in {build_dir})"
        )
