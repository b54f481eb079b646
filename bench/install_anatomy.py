"""Where a small install's time goes: the numbers behind docs/benchmarks.md's 1k analysis.

    nice -n -10 env -u PYTHONPATH PATH=/opt/p4/install/bin:$PATH .venv/bin/python bench/install_anatomy.py

One simple_switch_grpc (as bench/install_rate.py finds it), the wphw program, ipv4_lpm entries:

* ``batch_cost``: 1,000 pre-built inserts sent as sequential Writes of 1000/500/250/100
  updates on one channel: wall time (median) and the switch process's CPU time (mean, from
  /proc/<pid>/stat) per 1,000 entries;
* ``client_only``: ``AsyncFabric.apply`` of 1,000 entries with Write and Read replaced by
  no-ops: the client's own time per entry (median);
* ``emulated_overlap``: pre-built batches of the ramp wphw uses (32, 64, 128, 250, 250, 250, 26),
  two Writes in flight, with a busy-wait of 0 / 2.5 / 5 us per entry standing in for encoding
  (no Read, no phases): ratio of one raw 1000-update Write's time to that.

Results are printed and written to bench/results/install_anatomy.json.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import install_rate as ir  # noqa: E402
from p4rt_common import BMV2_HELP, Bmv2, Sw, bmv2_env  # noqa: E402

from wphw.p4rt import Encoder, Pipeline, Schema  # noqa: E402
from wphw.p4rt import client as C  # noqa: E402
from wphw.p4rt import fabric as F  # noqa: E402
from wphw.p4rt.encode import update_bytes  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "install_anatomy.json"
N = 1000
RAMP = (32, 64, 128, 250, 250, 250, 26)


def _cpu_ms(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()
    return (int(f[11]) + int(f[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def _run(sw: Bmv2, schema: Schema, pipeline: Pipeline, reps: int) -> dict[str, Any]:
    entries = ir.make_entries("ipv4_lpm", N, schema)
    enc = Encoder(schema)
    ups = [update_bytes("insert", enc.encode_entry(e)) for e in entries]
    empty = ir.Plan("bench", [])
    out: dict[str, Any] = {}
    fab = F.AsyncFabric(
        [Sw("bench", sw.address, sw.device_id)], pipeline=pipeline, election_id=next(ir._ELECTION)
    )
    async with fab:
        c = fab._clients["bench"]

        async def timed(bodies: list[tuple[bytes, int]], per_entry: float = 0.0) -> float:
            pending: set[asyncio.Future[None]] = set()
            t0 = time.perf_counter()
            for b, n in bodies:
                for _ in range(0, n if per_entry else 0, 16):
                    _spin(per_entry * 16)
                    await asyncio.sleep(0)
                if len(pending) >= 2:
                    _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                pending.add(asyncio.ensure_future(c.write(b)))
                await asyncio.sleep(0)
            await asyncio.gather(*pending)
            return time.perf_counter() - t0

        def cut(sizes: tuple[int, ...]) -> list[tuple[bytes, int]]:
            bodies, i = [], 0
            for s in sizes:
                bodies.append((b"".join(ups[i : i + s]), s))
                i += s
            return bodies

        # batch cost: sequential Writes, one at a time
        cost: dict[str, Any] = {}
        for bs in (1000, 500, 250, 100):
            walls, cpus = [], []
            bodies = [b"".join(ups[i : i + bs]) for i in range(0, N, bs)]
            for _ in range(reps):
                await fab.apply(empty)
                gc.collect()
                c0, t0 = _cpu_ms(sw.proc.pid), time.perf_counter()
                for b in bodies:
                    await c.write(b)
                walls.append(time.perf_counter() - t0)
                await asyncio.sleep(0.05)
                cpus.append(_cpu_ms(sw.proc.pid) - c0)
            cost[str(bs)] = {
                "wall_ms_median": round(statistics.median(walls) * 1e3, 2),
                "switch_cpu_ms_mean": round(statistics.mean(cpus), 2),
            }
        out["batch_cost"] = cost
        # emulated overlap
        emu: dict[str, Any] = {}
        one = cut((N,))
        ramp = cut(RAMP)
        res: dict[str, list[float]] = {"raw": [], "0": [], "2.5": [], "5": []}
        for _ in range(reps):
            for key, bodies, per in (
                ("raw", one, 0.0),
                ("0", ramp, 0.0),
                ("2.5", ramp, 2.5e-6),
                ("5", ramp, 5e-6),
            ):
                await fab.apply(empty)
                gc.collect()
                res[key].append(await timed(bodies, per))
        raw = statistics.median(res["raw"])
        for key in ("0", "2.5", "5"):
            emu[f"{key}_us_per_entry"] = round(raw / statistics.median(res[key]), 3)
        emu["raw_ms"] = round(raw * 1e3, 2)
        out["emulated_overlap"] = emu
        await fab.apply(empty)

        # client only: no network
        async def no_write(self: Any, payload: bytes) -> None:
            self.write_rpcs += 1

        async def no_read(self: Any, entities: Any) -> list[Any]:
            return []

        C.SwitchClient.write, C.SwitchClient.read = no_write, no_read  # type: ignore[method-assign]
        plan = ir.Plan("bench", entries)
        times = []
        for _ in range(reps):
            gc.collect()
            t0 = time.perf_counter()
            await fab.apply(plan)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        out["client_only"] = {
            "ms_per_1000": round(med * 1e3, 2),
            "us_per_entry": round(med / N * 1e6, 2),
        }
    return out


def main() -> int:
    found = bmv2_env()
    if found is None:
        print(f"skipped: {BMV2_HELP}")
        return 0
    schema = Schema.load(ir.P4INFO)
    pipeline = Pipeline.load(ir.P4INFO, ir.BMV2_JSON)
    sw = Bmv2(*found)
    try:
        result = C.run_sync(_run(sw, schema, pipeline, reps=int(os.environ.get("REPS", 20))))
    finally:
        sw.stop()
    print(json.dumps(result, indent=2))
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
