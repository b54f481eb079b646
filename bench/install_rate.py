"""P4Runtime install rate: wphw apply vs a raw batched Write vs p4runtime-shell, side by side.

    .venv/bin/python bench/install_rate.py                 # encoding rate + the switch runs
    .venv/bin/python bench/install_rate.py --encode-only   # client-side encoding rate only

The switch runs start one simple_switch_grpc on loopback (WPHW_BMV2, PATH, or /opt/p4/env.sh),
push p4/build/wphw.json + wphw.p4info.txtpb, and for each N in --sizes install N entries of
--table into the empty table with:

* ``raw``: pre-built ``p4.v1.WriteRequest`` messages of 1000 updates, one Write RPC at a time
  (message building not timed): the switch's own limit;
* ``wphw``: ``Fabric.apply(plan)`` (connected, pipeline in place): read, diff, encode, write;
* ``p4runtime-shell``: ``TableEntry(...).insert()`` in a loop, run by --shell-python (its own
  venv; it pins an old protobuf and is kept out of wphw's environment).

The table is emptied (not timed) before each run. Medians of --reps runs (p4runtime-shell: one
run above --shell-reps-max entries, as it takes minutes). Results are printed and written to
bench/results/install_rate.json.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from finsy.proto import p4r, p4r_grpc  # noqa: E402
from p4rt_common import BMV2_HELP, Bmv2, Sw, bmv2_env  # noqa: E402

from wphw.entries import LPM, Action, Exact, MatchValue, TableEntry  # noqa: E402
from wphw.p4rt import (  # noqa: E402
    Encoder,
    Fabric,
    Pipeline,
    Schema,
    run_sync,
)
from wphw.p4rt.encode import update_bytes  # noqa: E402

P4INFO = ROOT / "p4" / "build" / "wphw.p4info.txtpb"
BMV2_JSON = ROOT / "p4" / "build" / "wphw.json"
TEST_P4INFO = ROOT / "tests" / "data" / "wphw_test.p4info.txtpb"
RESULTS = ROOT / "bench" / "results" / "install_rate.json"

# Every connection gets a higher election id than the ones before it, so it is primary even
# while the switch has not yet noticed that the previous client went away.
_ELECTION = itertools.count(10)


def make_entries(table: str, n: int, schema: Schema | None = None) -> list[TableEntry]:
    """N distinct entries of ``table``: the first match field varies (exact: 1..N in the
    table's first exact field with the others 255 - i % 4 style; LPM: /(w-8) prefixes),
    the action is the table's first action with parameters, parameters vary with i."""
    if schema is None:
        schema = Schema.load(P4INFO if P4INFO.exists() else TEST_P4INFO)
    info = schema.table(table)
    action = next(
        a
        for a in (schema.action_by_id(i) for i in sorted(info.action_ids))
        if a.params and not a.name.endswith("NoAction")
    )
    fields = info.match_fields
    out = []
    for i in range(n):
        match: dict[str, MatchValue] = {}
        for k, f in enumerate(fields):
            if f.kind == "lpm":
                match[f.name] = LPM(value=(i + 1) << 8, prefix_len=f.bitwidth - 8)
            elif f.kind == "exact" and k == 0 and len(fields) > 1:
                match[f.name] = Exact(value=1 + i // 4)
            elif f.kind == "exact" and k == 1:
                match[f.name] = Exact(value=255 - i % 4)
            elif f.kind == "exact":
                match[f.name] = Exact(value=i + 1)
        params = {p.name: (i + 1) % (1 << p.bitwidth) for p in action.params}
        out.append(TableEntry.of(info.short, match, Action.of(action.short, **params)))
    return out


def shell_json(schema: Schema, entries: list[TableEntry]) -> list[dict[str, Any]]:
    """The entries as p4runtime-shell strings (full names, "value" / "value/len")."""
    out = []
    for e in entries:
        match = {}
        for name, mv in e.match:
            if isinstance(mv, LPM):
                match[name] = f"{mv.value}/{mv.prefix_len}"
            elif isinstance(mv, Exact):
                match[name] = str(mv.value)
        out.append(
            {
                "table": schema.table(e.table).name,
                "action": schema.action(e.action.name).name,
                "match": match,
                "params": {k: str(v) for k, v in e.action.params},
            }
        )
    return out


class Plan:
    def __init__(self, switch: str, entries: list[TableEntry]) -> None:
        self.entries = {switch: entries}


# -- client-side encoding ------------------------------------------------------------------------


def encode_rate(p4info: Path, n: int, reps: int) -> dict[str, Any]:
    schema = Schema.load(p4info)
    enc = Encoder(schema)
    shown = p4info.relative_to(ROOT) if p4info.is_relative_to(ROOT) else p4info
    out: dict[str, Any] = {"p4info": str(shown), "entries": n}
    for table in ("wp_sff", "ipv4_lpm"):
        if not schema.has_table(table):
            continue
        entries = make_entries(table, n, schema)
        gc.collect()
        wall, cpu = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            for e in entries:
                update_bytes("insert", enc.encode_entry(e))
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        # The general encoder alone (no generated per-shape encoders), same framing.
        general = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for e in entries:
                update_bytes("insert", enc.encode_general(e))
            general.append(time.perf_counter() - t0)
        # The upb baseline: building the same messages in place, no validation.
        upb = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for e in entries:
                u = p4r.Update(type=p4r.Update.INSERT)
                te = u.entity.table_entry
                te.table_id = 1
                for i, (_, mv) in enumerate(e.match, start=1):
                    m = te.match.add()
                    m.field_id = i
                    v = mv.value  # type: ignore[union-attr]
                    m.exact.value = v.to_bytes((v.bit_length() + 7) >> 3 or 1, "big")
                a = te.action.action
                a.action_id = 1
                for j, (_, v) in enumerate(e.action.params, start=1):
                    p = a.params.add()
                    p.param_id = j
                    p.value = v.to_bytes((v.bit_length() + 7) >> 3 or 1, "big")
            upb.append(time.perf_counter() - t0)
        out[table] = {
            "entries_per_s_wall": round(n / statistics.median(wall)),
            "entries_per_s_cpu": round(n / statistics.median(cpu)),
            "general_encoder_per_s_wall": round(n / statistics.median(general)),
            "upb_inplace_build_per_s_wall": round(n / statistics.median(upb)),
        }
    return out


# -- the three installers ------------------------------------------------------------------------


async def _raw_install(address: str, device_id: int, eid: int, requests: list[Any]) -> float:
    import grpc

    async with grpc.aio.insecure_channel(
        address,
        options=[
            ("grpc.max_send_message_length", 512 << 20),
            ("grpc.max_metadata_size", 64 << 20),
        ],
    ) as channel:
        stub = p4r_grpc.P4RuntimeStub(channel)
        stream = stub.StreamChannel()
        req = p4r.StreamMessageRequest()
        req.arbitration.device_id = device_id
        req.arbitration.election_id.low = eid
        await stream.write(req)
        await stream.read()
        t0 = time.perf_counter()
        for r in requests:
            await stub.Write(r)
        dt = time.perf_counter() - t0
        stream.cancel()
        return dt


def raw_run(sw: Bmv2, schema: Schema, entries: list[TableEntry]) -> float:
    enc = Encoder(schema)
    eid = next(_ELECTION)
    header = p4r.WriteRequest(device_id=sw.device_id)
    header.election_id.low = eid
    hb = header.SerializeToString()
    requests = []
    for i in range(0, len(entries), 1000):
        body = b"".join(update_bytes("insert", enc.encode_entry(e)) for e in entries[i : i + 1000])
        requests.append(p4r.WriteRequest.FromString(hb + body))  # pre-built messages
    return run_sync(_raw_install(sw.address, sw.device_id, eid, requests))


SHELL_SCRIPT = r"""
import json, sys, time
import p4runtime_sh.shell as sh
addr, device_id, path, eid = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
with open(path) as f:
    entries = json.load(f)
sh.setup(device_id=device_id, grpc_addr=addr, election_id=(0, eid), config=None)
t0 = time.perf_counter()
for e in entries:
    te = sh.TableEntry(e["table"])(action=e["action"])
    for k, v in e["match"].items():
        te.match[k] = v
    for k, v in e["params"].items():
        te.action[k] = v
    te.insert()
dt = time.perf_counter() - t0
sh.teardown()
print(json.dumps({"seconds": dt}))
"""


def shell_run(python: str, sw: Any, schema: Schema, entries: list[TableEntry]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "shell_insert.py"
        script.write_text(SHELL_SCRIPT)
        data = Path(tmp) / "entries.json"
        data.write_text(json.dumps(shell_json(schema, entries)))
        out = subprocess.run(
            [python, str(script), sw.address, str(sw.device_id), str(data), str(next(_ELECTION))],
            capture_output=True,
            text=True,
            check=False,
            timeout=3600,
        )
    if out.returncode != 0:
        raise RuntimeError(f"p4runtime-shell run failed:\n{out.stderr[-2000:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--encode-only", action="store_true")
    ap.add_argument("--table", default="ipv4_lpm", help="table to fill (default ipv4_lpm)")
    ap.add_argument("--p4info", type=Path, default=P4INFO, help="program to push (P4Info)")
    ap.add_argument("--bmv2-json", type=Path, default=BMV2_JSON, help="program to push (JSON)")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--shell-python", default="/opt/p4shell-venv/bin/python")
    ap.add_argument(
        "--shell-reps-max", type=int, default=10000, help="above this N, p4runtime-shell runs once"
    )
    ap.add_argument("--no-shell", action="store_true")
    ap.add_argument("-o", "--output", type=Path, default=RESULTS)
    args = ap.parse_args()

    p4info = args.p4info if args.p4info.exists() else TEST_P4INFO
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_at_start": os.getloadavg(),
        },
        "encode": encode_rate(p4info, 100_000, 5),
    }
    print(json.dumps(result["encode"], indent=2))
    if args.encode_only:
        _write(args.output, result)
        return 0
    found = bmv2_env()
    if found is None or not args.p4info.exists() or not args.bmv2_json.exists():
        print(f"switch runs skipped: {BMV2_HELP if found is None else 'no p4/build artifacts'}")
        _write(args.output, result)
        return 0
    schema = Schema.load(args.p4info)
    pipeline = Pipeline.load(args.p4info, args.bmv2_json)
    sizes = [int(s) for s in args.sizes.split(",")]
    shell_ok = not args.no_shell and Path(args.shell_python).exists()
    sw = Bmv2(*found)
    rows = []
    try:
        with Fabric(
            [Sw("bench", sw.address, sw.device_id)],
            pipeline=pipeline,
            election_id=next(_ELECTION),
        ) as fab:
            fab.apply(Plan("bench", []))  # pushes the pipeline
        for n in sizes:
            entries = make_entries(args.table, n, schema)
            plan = Plan("bench", entries)
            runs: dict[str, list[float]] = {"raw": [], "wphw": [], "p4runtime-shell": []}
            for rep in range(args.reps):
                for method in ("raw", "wphw", "p4runtime-shell"):
                    if method == "p4runtime-shell" and (
                        not shell_ok or (n > args.shell_reps_max and rep > 0)
                    ):
                        continue
                    with Fabric(
                        [Sw("bench", sw.address, sw.device_id)],
                        pipeline=pipeline,
                        election_id=next(_ELECTION),
                    ) as fab:
                        fab.apply(Plan("bench", []))  # empty the table (not timed)
                        if method == "wphw":
                            gc.collect()
                            t0 = time.perf_counter()
                            fab.apply(plan)
                            dt = time.perf_counter() - t0
                    if method == "raw":
                        dt = raw_run(sw, schema, entries)
                    elif method == "p4runtime-shell":
                        dt = shell_run(args.shell_python, sw, schema, entries)
                    with Fabric(
                        [Sw("bench", sw.address, sw.device_id)],
                        pipeline=pipeline,
                        election_id=next(_ELECTION),
                    ) as fab:
                        got = sum(1 for e in fab.read("bench") if not e.is_default)
                    if got != n:
                        raise RuntimeError(f"{method} N={n}: switch holds {got} entries")
                    runs[method].append(dt)
                    print(
                        f"N={n:>6} {method:<16} {dt:8.3f} s  {n / dt:>10,.0f} entries/s", flush=True
                    )
            row: dict[str, Any] = {"entries": n}
            for method, times in runs.items():
                if times:
                    med = statistics.median(times)
                    row[method] = {
                        "runs_s": [round(t, 4) for t in times],
                        "median_s": round(med, 4),
                        "entries_per_s": round(n / med),
                    }
            if "wphw" in row and "raw" in row:
                row["wphw_over_raw"] = round(
                    row["wphw"]["entries_per_s"] / row["raw"]["entries_per_s"], 3
                )
            if "wphw" in row and "p4runtime-shell" in row:
                row["wphw_over_shell"] = round(
                    row["wphw"]["entries_per_s"] / row["p4runtime-shell"]["entries_per_s"], 1
                )
            rows.append(row)
    finally:
        sw.stop()
    result["switch"] = {
        "table": args.table,
        "batch": 1000,
        "target": "simple_switch_grpc",
        "results": rows,
    }
    print(json.dumps(rows, indent=2))
    _write(args.output, result)
    return 0


def _write(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
