"""A rule added through the controller's API → installed on the switches, on fat trees of
P4Runtime TEST DOUBLE switches (tests/p4rt_multiserver.py: each switch a test-double device —
real gRPC, real P4Runtime messages — ``--per-server`` of them behind one gRPC server process).

Per row (fat tree k, rules): the controller starts and installs the policy; then --repeat times
one new rule is POSTed to ``/api/v1/rules`` over HTTP and the time until the answer (the answer
comes after the switches acknowledged every write) is measured, with the controller's own
split: compile (incremental: wphw.plan_incremental), verify (incremental: ``verify_change``),
apply (``apply_delta``: the changed switches only, no Read), store (the database rows of the
change) and the rest (HTTP, JSON, policy parsing). Beside it, in the same run and on the same
controller, the baseline: the same kind of change installed the way ``wphw apply`` does it — a
full compile (``previous=``), a full ``verify``, ``Fabric.apply`` (every switch read and
diffed). Medians; results printed and written to bench/results/controller_rule_add.json.

    nice -n 10 .venv/bin/python bench/controller_rule_add.py --rows 4:100 8:1000 16:1000 28:10000

The test double is Python: its Write and Read handling, not a switch's, is part of "apply".
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from p4rt_common import TEST_P4INFO  # noqa: E402
from p4rt_testserver import free_port  # noqa: E402

from wphw.controller.api import Api, ApiServer  # noqa: E402
from wphw.controller.service import Service, Tokens, tokens_from_dict  # noqa: E402
from wphw.controller.store import Store  # noqa: E402
from wphw.generate import fat_tree, random_policy  # noqa: E402
from wphw.p4rt import Fabric, Pipeline  # noqa: E402
from wphw.policy import policy_from_dict  # noqa: E402
from wphw.topology import topology_from_dict  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "controller_rule_add.json"
TOKEN = "bench-admin-token-0123456789"


def _post(server: ApiServer, body: Any) -> tuple[int, Any, float]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=600)
    data = json.dumps(body).encode()
    t0 = time.perf_counter()
    conn.request(
        "POST",
        "/api/v1/rules",
        body=data,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    out = json.loads(resp.read())
    t1 = time.perf_counter()
    conn.close()
    return resp.status, out, t1 - t0


class NullInstaller:
    """No switches: ``apply`` writes nothing (the controller's own share at any scale)."""

    def apply(self, plan: Any) -> Any:
        return None

    def apply_delta(self, plan: Any, delta: Any) -> Any:
        return None

    def read_direct_counters(self, switch: str, table: str) -> list[Any]:
        return []


def start_doubles(n: int, per_server: int) -> tuple[list[subprocess.Popen[str]], list[str]]:
    """Test-double processes serving devices 1..n, ``per_server`` each; the address of each."""
    procs: list[subprocess.Popen[str]] = []
    addresses: list[str] = []
    try:
        for first in range(1, n + 1, per_server):
            count = min(per_server, n + 1 - first)
            port = free_port()
            proc = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "tests" / "p4rt_multiserver.py"),
                    f"--port={port}",
                    f"--first={first}",
                    f"--count={count}",
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            procs.append(proc)
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise SystemExit(f"test double on port {port} did not start")
            addresses += [f"127.0.0.1:{port}"] * count
    except BaseException:
        stop_doubles(procs)
        raise
    return procs, addresses


def stop_doubles(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(
    k: int, n_rules: int, repeat: int, *, switches: bool = True, per_server: int = 500
) -> dict[str, Any]:
    raw_topo = fat_tree(k)
    raw_policy = random_policy(raw_topo, n_rules)
    names = sorted(raw_topo["switches"])
    procs, addresses = start_doubles(len(names), per_server) if switches else ([], [])
    try:
        for i, (name, address) in enumerate(zip(names, addresses, strict=False)):
            raw_topo["switches"][name] = {"address": address, "device_id": i + 1}
        topo = topology_from_dict(raw_topo)
        hosts = sorted(raw_topo["hosts"].items())
        edges = sorted({h["switch"] for _, h in hosts})
        with (
            tempfile.TemporaryDirectory() as tmp,
            Store(Path(tmp) / "c.db") as store,
            Fabric(topo, pipeline=Pipeline.load(TEST_P4INFO), drain=0)
            if switches
            else contextlib.nullcontext(NullInstaller()) as fabric,
        ):
            service = Service(topo, raw_policy, fabric, store)
            t0 = time.perf_counter()
            first = service.start()
            start_s = time.perf_counter() - t0
            tokens = Tokens(
                tokens_from_dict(
                    {"tokens": [{"name": "bench", "token": TOKEN, "access": "admin"}]}, topo
                )
            )
            server = ApiServer(
                ("127.0.0.1", 0), Api(service, tokens, read_counters=fabric.read_direct_counters)
            )
            server.start()
            api: list[dict[str, float]] = []
            try:
                for i in range(repeat):
                    _, dst = hosts[(7 * i + 3) % len(hosts)]
                    rule = {
                        "name": f"bench-{i}",
                        "subscriber": edges[i % len(edges)],
                        "priority": 100_000 + i,
                        "match": {
                            "dst": str(dst["ip"]).split("/")[0] + "/32",
                            "proto": "udp",
                            "dst_port": 4000 + i,
                        },
                        "actions": ["ids", "route"],
                    }
                    status, out, total = _post(server, rule)
                    if status != 201:
                        raise SystemExit(f"rule add failed: {status} {out}")
                    c = out["change"]
                    assert c["incremental"], c
                    assert c["compiled_incrementally"], c
                    assert c["delta_apply"] or not switches, c
                    known = c["compile_s"] + c["verify_s"] + c["apply_s"] + c["store_s"]
                    api.append(
                        {
                            "total_ms": total * 1e3,
                            "compile_ms": c["compile_s"] * 1e3,
                            "verify_ms": c["verify_s"] * 1e3,
                            "apply_ms": c["apply_s"] * 1e3,
                            "store_ms": c["store_s"] * 1e3,
                            "other_ms": (total - known) * 1e3,
                            "written": c["written"],
                        }
                    )
                # the baseline: the same kind of change, with a full verify (as `wphw apply`)
                base: list[dict[str, float]] = []
                for i in range(max(1, repeat // 2)):
                    raw = json.loads(json.dumps(service.raw))
                    _, dst = hosts[(11 * i + 5) % len(hosts)]
                    sub = edges[(i + 1) % len(edges)]
                    raw["subscribers"].setdefault(sub, []).append(
                        {
                            "name": f"base-{i}",
                            "priority": 200_000 + i,
                            "match": {
                                "dst": str(dst["ip"]).split("/")[0] + "/32",
                                "proto": "udp",
                                "dst_port": 5000 + i,
                            },
                            "actions": ["ids", "route"],
                        }
                    )
                    t0 = time.perf_counter()
                    ch = service.ctl.install(policy_from_dict(raw), reason="baseline")
                    total = time.perf_counter() - t0 - ch.state_s
                    service.raw = raw
                    base.append(
                        {
                            "total_ms": total * 1e3,
                            "compile_ms": (ch.compile_s - ch.verify_s) * 1e3,
                            "verify_ms": ch.verify_s * 1e3,
                            "apply_ms": ch.apply_s * 1e3,
                            "written": ch.written,
                        }
                    )
                    assert not ch.compiled_incrementally and not ch.delta_apply
            finally:
                server.shutdown()
                server.server_close()
        med = {key: statistics.median(r[key] for r in api) for key in api[0]}
        bmed = {key: statistics.median(r[key] for r in base) for key in base[0]}
        return {
            "k": k,
            "switches": len(raw_topo["switches"]),
            "rules": n_rules,
            "entries": first.entries,
            "switches_served": switches,
            "test_double_processes": len(procs),
            "start_s": start_s,
            "api_rule_add_median": med,
            "baseline_full_verify_median": bmed,
            "ratio_total": bmed["total_ms"] / med["total_ms"],
            "runs": {"api": api, "baseline": base},
        }
    finally:
        stop_doubles(procs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--rows",
        nargs="*",
        default=["4:100", "8:1000", "16:1000"],
        help="K:RULES (default %(default)s)",
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--per-server", type=int, default=500, help="test-double devices per server process"
    )
    ap.add_argument(
        "--no-switches",
        action="store_true",
        help="no test-double switches: the controller's own share (apply writes nothing)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("wphw.netfpga.plan").setLevel(logging.ERROR)  # FPGA PEs without params
    # SIGTERM stops the test-double processes too (the finally blocks run)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = []
    for spec in args.rows:
        k, n = (int(x) for x in spec.split(":"))
        row = run(k, n, args.repeat, switches=not args.no_switches, per_server=args.per_server)
        rows.append(row)
        m, b = row["api_rule_add_median"], row["baseline_full_verify_median"]
        print(
            f"k={k:<3} {row['switches']:>4} switches {n:>6} rules {row['entries']:>7} entries:"
            f" API rule add → installed {m['total_ms']:8.1f} ms (compile {m['compile_ms']:.1f},"
            f" verify {m['verify_ms']:.1f}, apply {m['apply_ms']:.1f}, store {m['store_ms']:.1f},"
            f" other {m['other_ms']:.1f}, {m['written']:.0f} written)"
            f" | baseline full verify {b['total_ms']:8.1f} ms (compile {b['compile_ms']:.1f},"
            f" verify {b['verify_ms']:.1f}, apply {b['apply_ms']:.1f}) | ratio {row['ratio_total']:.1f}",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "python": platform.python_version(),
                "repeat": args.repeat,
                "switches": not args.no_switches,
                "rows": rows,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
