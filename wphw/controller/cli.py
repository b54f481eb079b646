"""``wphw controller run`` (the long-running controller) and ``wphw ctl`` (its API client);
registered by wphw/cli.py."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wphw.errors import WphwError

LOG = logging.getLogger("wphw.controller")
DEFAULT_URL = "http://127.0.0.1:8080"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from wphw.model_args import add_model_args

    p = subparsers.add_parser(
        "controller",
        help="the long-running controller: desired state, health, reconcile, HTTP API",
    )
    sub = p.add_subparsers(dest="controller_command", metavar="COMMAND", required=True)
    r = sub.add_parser(
        "run",
        help="install the policy and keep the network at it until SIGTERM",
        description=(
            "Install the policy's plan and keep the switches at it: PE health watch and"
            " failover, reconcile of restarted or changed switches, rule changes over the"
            " HTTP API (each compiled and verified before anything is written), state and"
            " events in SQLite. A restarted controller resumes from its database and writes"
            " nothing when the switches already match. See docs/controller.md."
        ),
    )
    add_model_args(r)
    r.add_argument(
        "--listen", default="127.0.0.1:8080", help="HOST:PORT of the API (default %(default)s)"
    )
    r.add_argument(
        "--db",
        type=Path,
        default=Path("wphw-controller.db"),
        help="SQLite database (default %(default)s)",
    )
    r.add_argument(
        "--tokens", type=Path, help="token file (YAML/JSON); without it the API is read-only"
    )
    r.add_argument(
        "--control",
        action="append",
        default=[],
        metavar="WAYPOINT=ENDPOINT",
        help="a waypoint's control endpoint (HOST:PORT or unix socket) to watch (repeatable)",
    )
    r.add_argument(
        "--health-interval", type=float, default=0.5, metavar="SECONDS", help="default %(default)s"
    )
    r.add_argument(
        "--misses",
        type=int,
        default=3,
        help="failed health checks before a waypoint's PEs are failed (default %(default)s)",
    )
    r.add_argument(
        "--reconcile-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="read the switches back and repair differences this often (0: never; default %(default)s)",
    )
    r.add_argument(
        "--policy-from-file",
        action="store_true",
        help="install the policy file even when the database holds another",
    )
    r.add_argument("--p4info", type=Path, help="P4Info to push (default: the packaged program)")
    r.add_argument(
        "--bmv2-json", type=Path, help="BMv2 JSON to push (default: the packaged program)"
    )
    r.add_argument(
        "--election-id",
        type=int,
        default=2,
        help="P4Runtime election id (default %(default)s: above `wphw apply`'s and the lab"
        " installer's 1, so the controller is primary)",
    )
    r.add_argument(
        "--lab",
        type=Path,
        metavar="WORKDIR",
        help="run beside a lab started by `wphw lab up`: watch its waypoints' health and give"
        " its software waypoints their context table",
    )
    r.add_argument(
        "--tenant-roles",
        action="store_true",
        help="write each tenant's switches' classifier through a P4Runtime role of its own"
        " where the switch grants it (not BMv2: see docs/controller.md); needs --tokens",
    )
    r.add_argument(
        "--drain",
        type=float,
        default=0.05,
        metavar="SECONDS",
        help="wait before old paths are deleted (default %(default)s)",
    )
    r.set_defaults(func=cmd_run)

    c = subparsers.add_parser("ctl", help="talk to a running controller over its HTTP API")
    c.add_argument(
        "--url",
        default=os.environ.get("WPHW_CONTROLLER", DEFAULT_URL),
        help="default $WPHW_CONTROLLER or %(default)s",
    )
    c.add_argument(
        "--token-file", type=Path, help="a file holding the token (default: $WPHW_TOKEN)"
    )
    c.add_argument("--json", action="store_true", help="print the API's JSON")
    cs = c.add_subparsers(dest="ctl_command", metavar="COMMAND", required=True)
    cs.add_parser("status", help="policy version, entries, failed PEs, last change").set_defaults(
        func=cmd_ctl
    )
    cs.add_parser("rules", help="the rules").set_defaults(func=cmd_ctl)
    a = cs.add_parser("add", help="add a rule (or change it with --replace)")
    a.add_argument("name")
    a.add_argument("--subscriber", required=True, help="the subscriber switch")
    a.add_argument(
        "--match",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="src=, dst=, proto=, in_port=, src_port=, dst_port= (repeatable)",
    )
    a.add_argument(
        "--actions", required=True, help="comma-separated: services, then forward(N)|drop|route"
    )
    a.add_argument("--priority", type=int)
    a.add_argument("--replace", action="store_true", help="change the existing rule of that name")
    a.set_defaults(func=cmd_ctl)
    rm = cs.add_parser("rm", help="remove a rule")
    rm.add_argument("name")
    rm.set_defaults(func=cmd_ctl)
    e = cs.add_parser("events", help="the event log")
    e.add_argument("--limit", type=int, default=20)
    e.set_defaults(func=cmd_ctl)
    cs.add_parser("counters", help="per-rule and per-hop counters").set_defaults(func=cmd_ctl)


# -- controller run ------------------------------------------------------------------------------


def _parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise WphwError(f"--listen {text!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_run(args: argparse.Namespace) -> int:
    from wphw._load import load
    from wphw.controller.api import Api, ApiServer
    from wphw.controller.metrics import render
    from wphw.controller.service import Service, Tokens, load_tokens, tenant_roles
    from wphw.controller.store import Store
    from wphw.controller.view import page
    from wphw.install import Installer
    from wphw.model_args import load_model
    from wphw.p4rt import Pipeline
    from wphw.resources import BMV2_JSON, P4INFO

    topo, file_policy = load_model(args)  # validates both files
    policy_path = args.policy
    if policy_path is None:
        from wphw.resources import example_dir

        policy_path = example_dir(args.example) / "policy.yaml"
    from wphw.errors import PolicyError

    raw_policy = load(Path(policy_path), PolicyError)
    host, port = _parse_listen(args.listen)
    if not _is_loopback(host) and args.tokens is None:
        raise WphwError(f"--listen {args.listen}: a non-loopback address needs --tokens")
    controls: dict[str, str] = {}
    for item in args.control:
        wp, sep, endpoint = item.partition("=")
        if not sep or not wp or not endpoint:
            raise WphwError(f"--control {item!r}: expected WAYPOINT=ENDPOINT")
        controls[wp] = endpoint
    publish = None
    if args.lab is not None:
        from wphw.lab import Lab, LabState

        state = LabState.load(Path(args.lab))
        lab = Lab(topo, file_policy, Path(args.lab), lab_id=state.lab_id)
        lab.state = state  # the running lab's (not brought up here)
        controls = {**state.pe_control, **controls}
        publish = lab.write_contexts
    tokens = Tokens(load_tokens(args.tokens, topo) if args.tokens is not None else None)
    if args.tenant_roles and args.tokens is None:
        raise WphwError("--tenant-roles: the tenants come from --tokens, which is missing")
    if args.health_interval <= 0 or args.misses < 1 or args.reconcile_interval < 0:
        raise WphwError("--health-interval must be > 0, --misses ≥ 1, --reconcile-interval ≥ 0")
    pipeline = Pipeline.load(
        args.p4info or P4INFO, args.bmv2_json or (None if args.p4info else BMV2_JSON)
    )

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        LOG.info("controller: signal %d, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with Store(args.db) as store:
        # the switches and the FPGA waypoints' registers (a lab's co-simulated ones have no
        # register bus: they configure themselves from the contexts the lab publishes)
        fabric = Installer(
            topo,
            pipeline=pipeline,
            election_id=args.election_id,
            drain=args.drain,
            roles=tenant_roles(tokens.tokens or ()) if args.tenant_roles else None,
        )
        fabric.connect()
        server = None
        try:
            service = Service(
                topo,
                raw_policy,
                fabric,
                store,
                controls=controls,
                misses=args.misses,
                prefer_file_policy=args.policy_from_file,
                publish_contexts=publish,
            )
            change = service.start()
            LOG.info(
                "controller: policy version %d installed: %d entries, %d written",
                service.version,
                change.entries,
                change.written,
            )
            api = Api(
                service,
                tokens,
                read_counters=fabric.read_direct_counters,
                read_counters_many=fabric.read_direct_counters_many,
                metrics=lambda t: render(
                    service, fabric.read_direct_counters, t, fabric.read_direct_counters_many
                ),
                page=page,
            )
            server = ApiServer((host, port), api)
            server.start()
            print(f"wphw controller: listening on {server.url} (database {args.db})", flush=True)
            service.run(
                stop,
                health_interval=args.health_interval,
                reconcile_interval=args.reconcile_interval,
            )
            store.add_event(
                kind="stop", reason="signal", result="ok", policy_version=service.version
            )
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            fabric.close()
    print("wphw controller: stopped", flush=True)
    return 0


# -- ctl -------------------------------------------------------------------------------------------


class Client:
    """A small client of the controller's API (urllib); errors raise :class:`WphwError` with
    the API's typed error and message."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(exc.read())
                msg = f"{err['error']}: {err['message']}"
            except (ValueError, KeyError, TypeError):
                msg = str(exc)
            raise WphwError(f"{method} {path}: {exc.code} {msg}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise WphwError(f"controller at {self.url}: {exc}") from None


def _token(args: argparse.Namespace) -> str | None:
    if args.token_file is not None:
        try:
            return str(Path(args.token_file).read_text()).strip()
        except OSError as exc:
            raise WphwError(f"--token-file {args.token_file}: {exc.strerror}") from None
    env = os.environ.get("WPHW_TOKEN")
    return env or None


def _match(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep:
            raise WphwError(f"--match {item!r}: expected KEY=VALUE")
        out[k.strip()] = int(v) if v.strip().isdigit() and k.strip() == "in_port" else v.strip()
    return out


def cmd_ctl(args: argparse.Namespace) -> int:
    client = Client(args.url, _token(args))
    cmd = args.ctl_command
    out: Any
    if cmd == "status":
        out = client.call("GET", "/api/v1/status")
    elif cmd == "rules":
        out = client.call("GET", "/api/v1/rules")
    elif cmd == "add":
        body: dict[str, Any] = {
            "subscriber": args.subscriber,
            "match": _match(args.match),
            "actions": [a.strip() for a in args.actions.split(",") if a.strip()],
        }
        if args.priority is not None:
            body["priority"] = args.priority
        if args.replace:
            out = client.call("PUT", f"/api/v1/rules/{args.name}", body)
        else:
            out = client.call("POST", "/api/v1/rules", {"name": args.name, **body})
    elif cmd == "rm":
        out = client.call("DELETE", f"/api/v1/rules/{args.name}")
    elif cmd == "events":
        out = client.call("GET", f"/api/v1/events?limit={args.limit}")
    else:
        out = client.call("GET", "/api/v1/counters")
    if args.json:
        print(json.dumps(out, indent=1, sort_keys=True))
        return 0
    sys.stdout.write(_text(cmd, out))
    return 0


def _text(cmd: str, out: Any) -> str:
    lines: list[str] = []
    if cmd == "status":
        lines.append(
            f"policy version {out['policy_version']}: {out['rules']} rules, {out['entries']}"
            f" entries, {out['paths']} service paths on {len(out['switches'])} switches"
        )
        lines.append(f"failed PEs: {', '.join(out['failed_pes']) or 'none'}")
        lines.append(f"installs {out['applies']}, reconcile repairs {out['reconcile_repairs']}")
        lc = out["last_change"]
        if lc:
            lines.append(
                f"last change: {lc['reason']} (compile {lc['compile_s'] * 1e3:.1f} ms, verify"
                f" {lc['verify_s'] * 1e3:.1f} ms, apply {lc['apply_s'] * 1e3:.1f} ms,"
                f" {lc['written']} written)"
            )
    elif cmd == "rules":
        for r in out:
            m = " ".join(f"{k}={v}" for k, v in sorted(r["match"].items())) or "*"
            lines.append(
                f"{r['subscriber']:<6} {r['priority']:>6} {r['name']:<20} {m} -> {', '.join(r['actions'])}"
            )
    elif cmd in ("add", "rm"):
        c = out["change"]
        lines.append(
            f"{c['reason']}: policy version {out['policy_version']}, {c['written']} updates"
            f" written (compile {c['compile_s'] * 1e3:.1f} ms, verify {c['verify_s'] * 1e3:.1f}"
            f" ms{' incremental' if c['incremental'] else ''}, apply {c['apply_s'] * 1e3:.1f} ms,"
            f" waypoint contexts {c['contexts_s'] * 1e3:.1f} ms)"
        )
        if c.get("delta_fallback"):
            lines.append(f"  not written as a delta: {c['delta_fallback']}")
    elif cmd == "events":
        import time

        for e in out:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e["time"]))
            extra = f" written {e['written']}" if e["written"] is not None else ""
            if e.get("apply_mode"):
                extra += f" ({e['apply_mode']}" + (
                    f": {e['apply_note']})" if e.get("apply_note") else ")"
                )
            err = f" — {e['error']}" if e["error"] else ""
            lines.append(
                f"{e['id']:>5} {when} {e['kind']:<12} {e['result']:<8} {e['reason']}{extra}{err}"
            )
    else:
        lines.append("rules (wp_classify)")
        for r in out["rules"]:
            lines.append(
                f"  {r['switch']:<6} {r['rule'] or '-':<20} {r['packets']:>10} pkts {r['bytes']:>12} bytes"
            )
        lines.append("hops (wp_sff)")
        for h in out["hops"]:
            lines.append(
                f"  {h['switch']:<6} SPI {h['spi']:<6} SI {h['si']:<4} {h['action']:<16} {h['packets']:>10} pkts {h['bytes']:>12} bytes"
            )
    return "\n".join(lines) + "\n"


def start_beside_lab(
    example: Path, lab: Any, listen: str, *, extra: Sequence[str] = (), timeout: float = 60.0
) -> str:
    """Start ``wphw controller run EXAMPLE --lab WORKDIR`` as a process of its own (it outlives
    ``wphw lab up``), recorded in the lab's state as ``controller`` so ``wphw lab down`` stops
    it; returns the API's URL once it answers."""
    import secrets
    import subprocess
    import time

    import yaml

    host, port = _parse_listen(listen)
    workdir = Path(lab.workdir)
    # an admin token for this lab's controller, readable by its owner only
    token = secrets.token_urlsafe(24)
    token_file, tokens = workdir / "admin.token", workdir / "controller-tokens.yaml"
    for path, text in (
        (token_file, token + "\n"),
        (tokens, yaml.safe_dump({"tokens": [{"name": "lab", "token": token, "access": "admin"}]})),
    ):
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(text)
    cmd = [sys.executable, "-m", "wphw.cli", "controller", "run", str(example)]
    cmd += ["--lab", str(workdir), "--db", str(workdir / "controller.db")]
    cmd += ["--listen", f"{host}:{port}", "--tokens", str(tokens), *extra]
    with (workdir / "controller.log").open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    lab.state.pids["controller"] = proc.pid
    lab.state.save()
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WphwError(
                f"the controller exited with {proc.returncode}; see {workdir / 'controller.log'}"
            )
        try:
            Client(url, token, timeout=1.0).call("GET", "/api/v1/status")
            return url
        except WphwError:
            time.sleep(0.2)
    raise WphwError(f"the controller did not answer at {url} within {timeout:.0f} s")
