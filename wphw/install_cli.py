"""``wphw apply``, ``wphw diff`` and ``wphw stats`` (registered by wphw/cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from wphw.errors import PlanFormatError, WphwError
from wphw.install import AsyncInstaller
from wphw.p4rt import AsyncFabric, Credentials, Pipeline
from wphw.p4rt.counters import read_stats, rule_names
from wphw.resources import BMV2_JSON, P4INFO

# the program that ships with the package, wherever wphw runs from (not the current folder)
DEFAULT_P4INFO = P4INFO
DEFAULT_BMV2_JSON = BMV2_JSON


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from wphw.model_args import add_model_args

    p = subparsers.add_parser(
        "apply",
        help="install a policy's plan on the switches over P4Runtime",
        description=(
            "Compile the policy, read what the switches hold in wphw's tables, and write the"
            " difference: new service paths first, then classifier flips, then removals"
            " (make-before-break). On a failed update every switch is rolled back."
        ),
    )
    add_model_args(p)
    _connection_args(p)
    p.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    p.add_argument(
        "--drain",
        type=float,
        default=0.05,
        metavar="SECONDS",
        help="wait between the classifier flip and deleting old service paths, so packets on"
        " them finish (default 0.05; size it to the slowest PE's latency)",
    )
    p.add_argument(
        "--state",
        type=Path,
        help="plan JSON of the last apply: compiled against (changed paths get new SPIs, so the"
        " update is make-before-break) and rewritten after a successful apply",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_apply)

    p = subparsers.add_parser("diff", help="show what `wphw apply` would change")
    add_model_args(p)
    _connection_args(p)
    p.set_defaults(func=cmd_diff)

    p = subparsers.add_parser(
        "stats", help="per-rule (wp_classify) and per-hop (wp_sff) counters of every switch"
    )
    p.add_argument("example", nargs="?", type=Path, help="a directory with topology.yaml")
    p.add_argument("--topo", type=Path, help="topology file")
    p.add_argument(
        "--policy",
        type=Path,
        help="policy file, to name each classifier entry by its rule (default: the example's)",
    )
    _connection_args(p, pipeline=False)
    p.add_argument("--switch", action="append", help="only this switch (repeatable)")
    p.set_defaults(func=cmd_stats)


def _connection_args(p: argparse.ArgumentParser, pipeline: bool = True) -> None:
    g = p.add_argument_group("P4Runtime")
    if pipeline:
        g.add_argument(
            "--p4info",
            type=Path,
            help=f"P4Info (text or binary) to push and encode against (default {DEFAULT_P4INFO}"
            " if present, else the switch's own)",
        )
        g.add_argument(
            "--bmv2-json", type=Path, help=f"BMv2 JSON to push (default {DEFAULT_BMV2_JSON})"
        )
    g.add_argument("--election-id", type=int, default=1, help="election id (default 1)")
    g.add_argument("--role", help="P4Runtime role name (default: the full-access role)")
    g.add_argument("--tls-ca", type=Path, help="PEM root certificates: use TLS")
    g.add_argument("--tls-cert", type=Path, help="PEM client certificate chain (mutual TLS)")
    g.add_argument("--tls-key", type=Path, help="PEM client private key (mutual TLS)")
    g.add_argument("--tls-target-name", help="name expected in the server certificate")
    g.add_argument("--batch-size", type=int, default=1000, help="updates per Write (1000)")
    g.add_argument("--retries", type=int, default=5, help="connection retries (5)")
    g.add_argument("--timeout", type=float, default=30.0, help="RPC timeout in seconds (30)")


def _pipeline(args: argparse.Namespace) -> Pipeline | None:
    p4info: Path | None = getattr(args, "p4info", None)
    bmv2: Path | None = getattr(args, "bmv2_json", None)
    if p4info is None and DEFAULT_P4INFO.exists():
        p4info = DEFAULT_P4INFO
        if bmv2 is None and DEFAULT_BMV2_JSON.exists():
            bmv2 = DEFAULT_BMV2_JSON
    if p4info is None:
        if bmv2 is not None:
            raise WphwError("--bmv2-json needs --p4info")
        return None
    return Pipeline.load(p4info, bmv2)


def _fabric_options(args: argparse.Namespace, pipeline: bool = True) -> dict[str, Any]:
    creds = None
    if args.tls_ca or args.tls_cert or args.tls_key:
        creds = Credentials(
            root_certificates=args.tls_ca,
            certificate_chain=args.tls_cert,
            private_key=args.tls_key,
            target_name=args.tls_target_name,
        )
    return dict(
        pipeline=_pipeline(args) if pipeline else None,
        election_id=args.election_id,
        role=args.role,
        credentials=creds,
        batch_size=args.batch_size,
        retries=args.retries,
        timeout=args.timeout,
        drain=getattr(args, "drain", 0.05),  # only `wphw apply` writes
    )


class ProgressBar:
    """A one-line progress bar on a terminal (nothing when not a TTY); shown after 0.5 s."""

    def __init__(self, stream: TextIO | None = None, width: int = 40) -> None:
        # looked up now, not at import: sys.stderr may have been replaced since (pytest does)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.t0 = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.t0
        if not self.stream.isatty() or (elapsed < 0.5 and done < total):
            return
        frac = done / total if total else 1.0
        fill = int(frac * self.width)
        rate = done / elapsed if elapsed > 0 else 0.0
        self.stream.write(
            f"\r[{'#' * fill}{'.' * (self.width - fill)}] {done}/{total} updates {rate:,.0f}/s"
        )
        self.stream.flush()
        self.shown = True

    def end(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def cmd_apply(args: argparse.Namespace) -> int:
    from wphw.model_args import load_model
    from wphw.plan import Plan, compile

    if args.drain < 0:
        raise WphwError(f"--drain {args.drain}: must be 0 or more seconds")
    topology, policy = load_model(args)
    state: Path | None = args.state
    previous = None
    if state and state.exists():
        try:
            previous = Plan.from_json(state.read_text(), str(state))
        except PlanFormatError as exc:
            # written for an older data plane: the pipeline push replaces its entries anyway
            print(f"wphw apply: warning: {exc}; --state ignored", file=sys.stderr)
    plan = compile(policy, topology, previous=previous)
    bar = None if args.no_progress or args.dry_run else ProgressBar()

    async def run() -> int:
        installer = AsyncInstaller(topology, **_fabric_options(args))
        # A dry run is read-only: no arbitration (a running controller keeps its role), no
        # pipeline push, no Write, no register write.
        await installer.connect(arbitrate=not args.dry_run)
        try:
            result = await installer.apply(plan, dry_run=args.dry_run, progress=bar)
        finally:
            await installer.close()
        if bar is not None:
            bar.end()
        if result.diff is not None:
            print(result.diff)
        elif state is not None:
            state.write_text(plan.to_json())
        print(result)
        return 0

    return asyncio.run(run())


def cmd_diff(args: argparse.Namespace) -> int:
    from wphw.model_args import load_model
    from wphw.plan import compile

    topology, policy = load_model(args)
    plan = compile(policy, topology)

    async def run() -> int:
        fabric = AsyncFabric(topology, **_fabric_options(args))
        await fabric.connect(arbitrate=False)
        try:
            diff = await fabric.diff(plan)
        finally:
            await fabric.close()
        print(diff)
        return 0

    return asyncio.run(run())


def cmd_stats(args: argparse.Namespace) -> int:

    from wphw.model_args import load_example

    if args.example is None and args.topo is None:
        raise WphwError("stats: give an example directory or --topo")
    ex = load_example(args.example, topo=args.topo, policy=args.policy, policy_required=False)
    topology = ex.topology
    names = None
    if ex.policy is not None:  # name each classifier entry by the policy rule it realises
        from wphw.plan import compile

        names = rule_names(compile(ex.policy, topology))

    async def run() -> int:
        fabric = AsyncFabric(topology, **_fabric_options(args, pipeline=False))
        await fabric.connect(arbitrate=False)
        try:
            stats = await read_stats(fabric, args.switch)
        finally:
            await fabric.close()
        print(stats.table(names))
        return 0

    return asyncio.run(run())
