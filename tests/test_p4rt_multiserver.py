"""The many-devices P4Runtime test double (tests/p4rt_multiserver.py) behaves as one switch per
device: a fabric of three switches behind one server process gets each switch's plan, reads each
back separately, and a delta apply writes only the switch it names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from p4rt_common import TEST_P4INFO
from p4rt_testserver import free_port

from wphw.entries import Action, Exact, TableEntry
from wphw.p4rt import Fabric, Pipeline

HERE = Path(__file__).resolve().parent


class _Switch:
    def __init__(self, name: str, address: str, device_id: int) -> None:
        self.name, self.address, self.device_id = name, address, device_id


def _sff(spi: int, port: int) -> TableEntry:
    return TableEntry.of(
        "wp_sff",
        {"spi": Exact(value=spi), "si": Exact(value=255)},
        Action.of("sff_forward", port=port, si=255),
    )


def test_three_devices_behind_one_server() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "p4rt_multiserver.py"), f"--port={port}", "--count=3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        address = f"127.0.0.1:{port}"
        switches = [_Switch(f"s{i}", address, i) for i in (1, 2, 3)]
        plan_entries = {f"s{i}": (_sff(10 + i, i), _sff(20 + i, i)) for i in (1, 2, 3)}

        class P:
            entries = plan_entries

        with Fabric(switches, pipeline=Pipeline.load(TEST_P4INFO), drain=0) as fabric:
            result = fabric.apply(P())
            assert result.written == 6
            for i in (1, 2, 3):
                assert fabric.read(f"s{i}") == sorted(
                    plan_entries[f"s{i}"], key=lambda e: repr(e.match)
                )
            assert fabric.apply(P()).written == 0
            new = {**plan_entries, "s2": (_sff(12, 2), _sff(32, 7))}

            class Q:
                entries = new

            done = fabric.apply_delta(Q(), {"s2": ((_sff(22, 2),), (_sff(32, 7),))})
            assert done.written == 2 and [s.switch for s in done.switches] == ["s2"]
            assert set(fabric.read("s2")) == set(new["s2"])
            assert set(fabric.read("s1")) == set(plan_entries["s1"])
            assert fabric.apply(Q()).written == 0  # a full apply agrees: nothing to do
    finally:
        proc.terminate()
        proc.wait(timeout=10)
