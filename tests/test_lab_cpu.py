"""CPU accounting of lab transfers: /proc ticks of the lab's processes, by kind (CI-runnable:
the 'lab' is this test process and a child that burns CPU)."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

from wphw.lab import scenario


def test_ticks_by_kind_follow_real_cpu_use() -> None:
    burner = subprocess.Popen(
        [sys.executable, "-c", "import time\nt=time.process_time()\nwhile time.process_time()-t<0.3: pass\nimport sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    try:
        lab = SimpleNamespace(
            state=SimpleNamespace(pids={"s1": burner.pid, "pe:wp1": os.getpid(), "gone": 2**22 + 7})
        )
        before = scenario._lab_cpu_ticks(lab)
        t0 = os.times()
        x = 0
        while os.times().user - t0.user < 0.2:  # this process (the "PE") uses 0.2 s of CPU
            x += 1
        os.read(os.open("/dev/zero", os.O_RDONLY), 1 << 20)  # and some system time
        after = scenario._lab_cpu_ticks(lab)
    finally:
        burner.communicate(b"")
    hz = os.sysconf("SC_CLK_TCK")
    assert after["pes"] - before["pes"] >= 0.15 * hz  # our 0.2 s, within tick rounding
    assert after["pes_kernel"] >= before["pes_kernel"]
    assert after["pes"] >= after["pes_kernel"]
    # the burner ran 0.3 s of CPU before or during the window: its ticks count as a switch's
    assert scenario._lab_cpu_ticks(lab)["switches"] == 0  # exited: it no longer counts
    per_mb = scenario._cpu_ms_per_mb(before, after, mbit_s=8.0)  # 8 Mbit/s for 2 s = 2 MB
    assert per_mb is not None
    assert per_mb["pes"] == round((after["pes"] - before["pes"]) * 1000 / hz / 2, 2)
    assert scenario._cpu_ms_per_mb(before, after, mbit_s=None) is None


def test_ticks_of_a_real_process_match_os_times() -> None:
    lab = SimpleNamespace(state=SimpleNamespace(pids={"pe:x": os.getpid()}))
    t = os.times()
    ticks = scenario._lab_cpu_ticks(lab)
    hz = os.sysconf("SC_CLK_TCK")
    assert abs(ticks["pes"] / hz - (t.user + t.system)) < 0.05
    assert abs(ticks["pes_kernel"] / hz - t.system) < 0.05
