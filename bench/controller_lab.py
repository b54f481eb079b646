"""The controller process on real BMv2 labs (needs root and simple_switch_grpc).

1. **Rule add → installed, table1 lab**: ``wphw lab up`` + ``wphw controller run --lab``;
   --adds rules are POSTed one at a time and timed from the request to the answer (the answer
   comes after every switch acknowledged its writes). Baseline in the same lab right after: the
   controller is stopped and the same kind of change is installed the way ``wphw apply`` does it
   — an in-process ``Controller`` (full compile against the installed plan, a full ``verify``,
   ``Fabric.apply``), process start-up not counted.
2. **PE failover, examples/failover**: ``wphw.lab.experiments.failover`` --runs times with the
   daemon (health every 50 ms, one miss) and --runs times with the in-process Controller
   (health every 50 ms), alternating.

Medians; printed and written to bench/results/controller_lab.json.

    sudo .venv/bin/python bench/controller_lab.py --adds 10 --runs 3
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import socket
import statistics
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import wphw
from wphw.controller import Controller
from wphw.controller.cli import Client, start_beside_lab
from wphw.lab import Lab
from wphw.lab.experiments import failover
from wphw.p4rt import Fabric, Pipeline
from wphw.resources import BMV2_JSON, P4INFO

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "controller_lab.json"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rule(i: int) -> dict[str, Any]:
    return {
        "name": f"bench-{i}",
        "subscriber": "s1",
        "priority": 100 + i,
        "match": {"dst": "198.51.100.10/32", "proto": "udp", "dst_port": 6000 + i},
        "actions": ["ids", "route"],
    }


def rule_adds(workdir: Path, adds: int) -> dict[str, Any]:
    example = ROOT / "examples" / "table1"
    topo = wphw.load_topology(example / "topology.yaml")
    policy = wphw.load_policy(example / "policy.yaml")
    lab = Lab(topo, policy, workdir, lab_id="bc")
    lab.up()
    try:
        url = start_beside_lab(example, lab, f"127.0.0.1:{_port()}")
        api = Client(url, (workdir / "admin.token").read_text().strip())
        daemon = []
        for i in range(adds):
            t0 = time.perf_counter()
            out = api.call("POST", "/api/v1/rules", _rule(i))
            total = time.perf_counter() - t0
            c = out["change"]
            daemon.append(
                {
                    "total_ms": total * 1e3,
                    "compile_ms": c["compile_s"] * 1e3,
                    "verify_ms": c["verify_s"] * 1e3,
                    "apply_ms": c["apply_s"] * 1e3,
                    "contexts_ms": c["contexts_s"] * 1e3,
                    "written": c["written"],
                }
            )
        raw = api.call("GET", "/api/v1/policy")
        plan = wphw.Plan.from_json(json.dumps(api.call("GET", "/api/v1/plan")))
        os.kill(lab.state.pids["controller"], signal.SIGTERM)
        time.sleep(1.0)
        # the baseline: the same kind of change as `wphw apply` installs it (full verify)
        fabric = Fabric(topo, pipeline=Pipeline.load(P4INFO, BMV2_JSON), election_id=3)
        fabric.connect()
        try:
            ctl = Controller(
                topo, wphw.policy_from_dict(raw), fabric, publish_contexts=lab.write_contexts
            )
            ctl.plan = plan
            base = []
            for i in range(adds):
                r = _rule(1000 + i)
                raw["subscribers"]["s1"].append({k: v for k, v in r.items() if k != "subscriber"})
                t0 = time.perf_counter()
                ch = ctl.install(wphw.policy_from_dict(raw), reason="baseline")
                total = time.perf_counter() - t0
                base.append(
                    {
                        "total_ms": total * 1e3,
                        "compile_ms": (ch.compile_s - ch.verify_s) * 1e3,
                        "verify_ms": ch.verify_s * 1e3,
                        "apply_ms": ch.apply_s * 1e3,
                        "contexts_ms": ch.contexts_s * 1e3,
                        "written": ch.written,
                    }
                )
        finally:
            fabric.close()
    finally:
        lab.down()
    return {
        "daemon_api": {k: statistics.median(r[k] for r in daemon) for k in daemon[0]},
        "baseline_full_verify": {k: statistics.median(r[k] for r in base) for k in base[0]},
        "runs": {"daemon_api": daemon, "baseline": base},
    }


def failovers(workdir: Path, runs: int, rate: float) -> dict[str, Any]:
    example = ROOT / "examples" / "failover"
    d, c = [], []
    for i in range(runs):
        d.append(asdict(failover(example, workdir / f"d{i}", rate=rate, seconds=5, lab_id="bd",
                                 daemon=f"127.0.0.1:{_port()}")))  # fmt: skip
        c.append(asdict(failover(example, workdir / f"c{i}", rate=rate, seconds=5, lab_id="be")))

    def med(rs: list[dict[str, Any]]) -> float | None:
        xs = [r["kill_to_restored_ms"] for r in rs if r["kill_to_restored_ms"] is not None]
        return statistics.median(xs) if xs else None

    return {
        "daemon_restored_ms_median": med(d),
        "in_process_restored_ms_median": med(c),
        "daemon": d,
        "in_process": c,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--adds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="wphw-bench-ctl-") as tmp:
        adds = rule_adds(Path(tmp) / "adds", args.adds)
        d, b = adds["daemon_api"], adds["baseline_full_verify"]
        print(
            f"table1 lab, rule add → installed: API {d['total_ms']:.1f} ms (compile"
            f" {d['compile_ms']:.1f}, verify {d['verify_ms']:.1f}, apply {d['apply_ms']:.1f},"
            f" waypoint contexts {d['contexts_ms']:.1f}, {d['written']:.0f} written) | baseline full verify {b['total_ms']:.1f} ms"
            f" (compile {b['compile_ms']:.1f}, verify {b['verify_ms']:.1f}, apply"
            f" {b['apply_ms']:.1f}) | ratio {b['total_ms'] / d['total_ms']:.2f}",
            flush=True,
        )
        fo = failovers(Path(tmp) / "fo", args.runs, args.rate) if args.runs else {}
        if fo:
            print(
                f"failover at {args.rate:.0f} pkt/s, {args.runs} runs each: kill → restored,"
                f" daemon median {fo['daemon_restored_ms_median']} ms"
                f" (runs {[r['kill_to_restored_ms'] for r in fo['daemon']]}) | in-process"
                f" Controller median {fo['in_process_restored_ms_median']} ms"
                f" (runs {[r['kill_to_restored_ms'] for r in fo['in_process']]})",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"machine": platform.platform(), "rule_add": adds, "failover": fo}, indent=1)
        + "\n"
    )
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
