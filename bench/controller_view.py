"""The controller's live view (wphw/controller/view.py) at hundreds of switches: headless
Chromium (Debian ``chromium`` + ``chromium-driver``, driven by selenium) loading the page from
a running controller whose fabric is P4Runtime TEST DOUBLE switches (tests/p4rt_multiserver.py,
as bench/controller_rule_add.py), on fat trees (k=16: 320 switches, k=28: 980).

Per row and page, in the same run on the same controller: the page as it was before this
work (``--baseline-commit``'s view.py, read with ``git show``; it uses the same API) and the
page now. Measured:

* ``first_render_ms``: navigation start → the page's first refresh done (``data-refreshed``:
  everything shown, counters too); ``first_paint_ms``: → topology, paths and health shown
  (``data-painted``; the page before showed everything at once);
* over ``--window`` seconds of steady polling: refreshes, main-thread busy time per refresh
  (Chrome's ``Performance.getMetrics`` TaskDuration; Script, Layout, RecalcStyle beside it),
  API requests and JSON bytes per refresh (Resource Timing) and the median duration of each
  API call (the counters' includes reading the switches);
* ``change_visible_ms``: a rule added through the API (answered after the switches took it)
  → the page shows it in its service-path table.

    nice -n 10 .venv/bin/python bench/controller_view.py --rows 16:1000 28:1000

Writes bench/results/controller_view.json.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from controller_rule_add import start_doubles, stop_doubles  # noqa: E402
from p4rt_common import TEST_P4INFO  # noqa: E402

from wphw.controller.api import Api, ApiServer  # noqa: E402
from wphw.controller.service import Service, Tokens, tokens_from_dict  # noqa: E402
from wphw.controller.store import Store  # noqa: E402
from wphw.controller.view import page as page_now  # noqa: E402
from wphw.generate import fat_tree, random_policy  # noqa: E402
from wphw.p4rt import Fabric, Pipeline  # noqa: E402
from wphw.topology import topology_from_dict  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "controller_view.json"
TOKEN = "bench-admin-token-0123456789"
BASELINE = "c16126b"  # the view before the scale work (the branch point of this work)

OBSERVE = """
window.__refreshes = 0;
new MutationObserver(() => window.__refreshes++).observe(
  document.body, {attributes: true, attributeFilter: ["data-refreshed"]});
performance.clearResourceTimings();
performance.setResourceTimingBufferSize(100000);
"""
RESOURCES = """
return performance.getEntriesByType("resource").map(e => ({
  name: e.name, size: e.encodedBodySize || e.transferSize || 0, ms: e.duration}));
"""


def baseline_page(commit: str) -> str:
    src = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:wphw/controller/view.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ns: dict[str, Any] = {}
    exec(compile(src, f"{commit}:view.py", "exec"), ns)
    return str(ns["PAGE"])


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as ChromeService

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.binary_location = str(shutil.which("chromium"))
    driver = webdriver.Chrome(service=ChromeService(shutil.which("chromedriver")), options=opts)
    driver.set_script_timeout(600)
    driver.set_page_load_timeout(600)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, script: str, timeout: float = 600.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = driver.execute_script(script)
        if got:
            return got
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for: {script}")


def _metrics(driver: Any) -> dict[str, float]:
    got = driver.execute_cdp_cmd("Performance.getMetrics", {})
    return {m["name"]: m["value"] for m in got["metrics"]}


def _post(server: ApiServer, body: Any) -> tuple[int, Any]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=600)
    conn.request(
        "POST",
        "/api/v1/rules",
        body=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    out = json.loads(resp.read())
    conn.close()
    return resp.status, out


def measure(server: ApiServer, window: float, add_rule: Callable[[], str]) -> dict[str, Any]:
    host, port = server.server_address[:2]
    with chromium() as d:
        d.execute_cdp_cmd("Performance.enable", {})
        d.get(f"http://{host}:{port}/#token={TOKEN}")
        refreshed = _wait(d, "return document.body.dataset.refreshed")
        nav = d.execute_script("return performance.timing.navigationStart")
        first = float(refreshed) - float(nav)
        # the page now marks when topology, paths and health are shown (before the counters);
        # the page before showed everything at once
        painted = d.execute_script("return document.body.dataset.painted")
        first_paint = float(painted) - float(nav) if painted else first
        err = d.execute_script("return document.getElementById('err').textContent")
        first_calls: dict[str, float] = {}
        for r in d.execute_script(RESOURCES):
            if "/api/v1/" in r["name"]:
                key = r["name"].split("/api/v1/")[1].split("?")[0]
                first_calls.setdefault(key, r["ms"])
        d.execute_script(OBSERVE)
        m0 = _metrics(d)
        time.sleep(window)
        m1 = _metrics(d)
        n = int(d.execute_script("return window.__refreshes"))
        res = [r for r in d.execute_script(RESOURCES) if "/api/v1/" in r["name"]]
        per_path: dict[str, list[float]] = {}
        for r in res:
            per_path.setdefault(r["name"].split("/api/v1/")[1].split("?")[0], []).append(r["ms"])
        # the page now polls the counters only every max(1 s, 4 × their duration), so the
        # window may hold none: one cycle with them, forced, measured on its own
        counters_cycle: dict[str, float] | None = None
        if d.execute_script("return typeof state !== 'undefined'"):
            d.execute_script("performance.clearResourceTimings()")
            before = int(d.execute_script("return window.__refreshes"))
            ma = _metrics(d)
            d.execute_script("state.countersDue = 0")
            d.execute_async_script(  # one script waiting in the page: no polling from here
                "const [want, done] = arguments; const t = setInterval(() => {"
                " if (window.__refreshes >= want) { clearInterval(t); done(true); } }, 50);",
                before + 2,
            )
            mb = _metrics(d)
            calls = [r for r in d.execute_script(RESOURCES) if "/counters" in r["name"]]
            counters_cycle = {
                "busy_ms": (mb["TaskDuration"] - ma["TaskDuration"]) * 1e3
                - (m1["TaskDuration"] - m0["TaskDuration"]) * 1e3 / max(n, 1),
                "script_ms": (mb["ScriptDuration"] - ma["ScriptDuration"]) * 1e3,
                "layout_ms": (mb["LayoutDuration"] - ma["LayoutDuration"]) * 1e3,
                "style_ms": (mb["RecalcStyleDuration"] - ma["RecalcStyleDuration"]) * 1e3,
                "api_ms": calls[0]["ms"] if calls else float("nan"),
                "json_bytes": calls[0]["size"] if calls else 0,
            }
        r0 = int(d.execute_script("return window.__refreshes"))
        ma = _metrics(d)
        name = add_rule()
        t0 = time.perf_counter()
        d.execute_async_script(
            "const [name, done] = arguments; const t = setInterval(() => {"
            " if (document.querySelector('#paths tbody').textContent.includes(name)) {"
            " clearInterval(t); done(true); } }, 20);",
            name,
        )
        visible = (time.perf_counter() - t0) * 1e3
        mb = _metrics(d)
        r1 = int(d.execute_script("return window.__refreshes"))
        # the main-thread time of the cycle that showed the change (the other cycles in
        # between counted at the steady cost). The page before redrew everything on every
        # refresh, so there its change costs what a refresh costs (and this estimate, with
        # its uneven overlapping refreshes, means nothing: None)
        change_busy = (
            (mb["TaskDuration"] - ma["TaskDuration"]) * 1e3
            - max(0, r1 - r0 - 1) * (m1["TaskDuration"] - m0["TaskDuration"]) * 1e3 / max(n, 1)
            if counters_cycle is not None
            else None
        )
        nodes = d.execute_script("return document.getElementsByTagName('*').length")

        def busy(key: str) -> float:
            return (m1[key] - m0[key]) * 1e3 / max(n, 1)

        return {
            "first_render_ms": first,
            "first_paint_ms": first_paint,
            "first_load_api_ms": first_calls,
            "error_shown": err,
            "window_s": window,
            "refreshes": n,
            "busy_ms_per_refresh": busy("TaskDuration"),
            "script_ms_per_refresh": busy("ScriptDuration"),
            "layout_ms_per_refresh": busy("LayoutDuration"),
            "style_ms_per_refresh": busy("RecalcStyleDuration"),
            "main_thread_busy_fraction": (m1["TaskDuration"] - m0["TaskDuration"]) / window,
            "requests_per_refresh": len(res) / max(n, 1),
            "json_bytes_per_refresh": sum(r["size"] for r in res) / max(n, 1),
            "api_median_ms": {k: statistics.median(v) for k, v in sorted(per_path.items())},
            "counters_cycle": counters_cycle,
            "change_visible_ms": visible,
            "change_cycle_busy_ms": change_busy,
            "dom_nodes": nodes,
        }


def run(k: int, n_rules: int, window: float, baseline: str, per_server: int) -> dict[str, Any]:
    raw_topo = fat_tree(k)
    raw_policy = random_policy(raw_topo, n_rules)
    names = sorted(raw_topo["switches"])
    procs, addresses = start_doubles(len(names), per_server)
    try:
        for i, (name, address) in enumerate(zip(names, addresses, strict=True)):
            raw_topo["switches"][name] = {"address": address, "device_id": i + 1}
        topo = topology_from_dict(raw_topo)
        hosts = sorted(raw_topo["hosts"].items())
        edges = sorted({h["switch"] for _, h in hosts})
        with (
            tempfile.TemporaryDirectory() as tmp,
            Store(Path(tmp) / "c.db") as store,
            Fabric(topo, pipeline=Pipeline.load(TEST_P4INFO), drain=0) as fabric,
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
            counter = [0]

            def make_adder(server: ApiServer) -> Callable[[], str]:
                def add() -> str:
                    i = counter[0]
                    counter[0] += 1
                    _, dst = hosts[(7 * i + 3) % len(hosts)]
                    name = f"view-bench-{i}"
                    status, out = _post(
                        server,
                        {
                            "name": name,
                            "subscriber": edges[i % len(edges)],
                            "priority": 100_000 + i,
                            "match": {"dst": str(dst["ip"]).split("/")[0] + "/32",
                                      "proto": "udp", "dst_port": 4000 + i},
                            "actions": ["ids", "route"],
                        },
                    )  # fmt: skip
                    if status != 201:
                        raise SystemExit(f"rule add failed: {status} {out}")
                    return name

                return add

            out: dict[str, Any] = {}
            # the page now first: the page before leaves counter reads running on the server
            # after its browser is gone (its polls overlap), which would slow what follows
            for label, text in (("now", page_now()), ("before", baseline_page(baseline))):
                api = Api(
                    service,
                    tokens,
                    read_counters=fabric.read_direct_counters,
                    page=lambda text=text: text,  # type: ignore[misc]
                )
                server = ApiServer(("127.0.0.1", 0), api)
                server.start()
                try:
                    out[label] = measure(server, window, make_adder(server))
                finally:
                    server.shutdown()
                    server.server_close()
                time.sleep(3)
                m = out[label]
                print(
                    f"k={k} {len(names)} switches {n_rules} rules [{label:6}] first render"
                    f" {m['first_render_ms']:8.0f} ms (paths and health {m['first_paint_ms']:.0f}"
                    " ms) | per refresh: busy"
                    f" {m['busy_ms_per_refresh']:7.1f} ms, {m['requests_per_refresh']:.1f}"
                    f" requests, {m['json_bytes_per_refresh'] / 1e3:8.1f} kB | {m['refreshes']}"
                    f" refreshes in {window:.0f} s | change visible {m['change_visible_ms']:.0f}"
                    f" ms, its cycle busy {m['change_cycle_busy_ms']} ms | counters cycle"
                    f" {m['counters_cycle']}"
                    f" | first load API {m['first_load_api_ms']} | steady API"
                    f" {m['api_median_ms']}",
                    flush=True,
                )
        b, a = out["before"], out["now"]
        return {
            "k": k,
            "switches": len(names),
            "rules": n_rules,
            "entries": first.entries,
            "paths": len(service.ctl.plan.paths) if service.ctl.plan else 0,
            "start_s": start_s,
            "before": b,
            "now": a,
            "ratio_first_render": b["first_render_ms"] / a["first_render_ms"],
            "ratio_busy_per_refresh": b["busy_ms_per_refresh"]
            / max(a["busy_ms_per_refresh"], 1e-9),
            "ratio_json_bytes_per_refresh": b["json_bytes_per_refresh"]
            / max(a["json_bytes_per_refresh"], 1),
        }
    finally:
        stop_doubles(procs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", nargs="*", default=["16:1000", "28:1000"], help="K:RULES")
    ap.add_argument("--window", type=float, default=10.0, help="seconds of steady polling")
    ap.add_argument("--baseline-commit", default=BASELINE)
    ap.add_argument("--per-server", type=int, default=500)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("wphw.netfpga.plan").setLevel(logging.ERROR)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = []
    for spec in args.rows:
        k, n = (int(x) for x in spec.split(":"))
        rows.append(run(k, n, args.window, args.baseline_commit, args.per_server))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "python": platform.python_version(),
                "chromium": subprocess.run(
                    ["chromium", "--version"], capture_output=True, text=True, check=False
                ).stdout.strip(),
                "baseline_commit": args.baseline_commit,
                "window_s": args.window,
                "rows": rows,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
