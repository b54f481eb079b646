"""``wphw pe``: run a software PE, or ask a running one for its health and counters.

``register(subparsers)`` adds the ``pe`` command to the main ``wphw`` parser; this module also
runs alone (``python -m wphw.pe.cli run fw --iface veth1``), which is what
:func:`wphw.pe.runtime.spawn_pe` starts.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from wphw.errors import PEError, WphwError
from wphw.pe.runtime import DEFAULT_STAMP_LIMIT, PERunner, load_params, query
from wphw.pe.services import SERVICES

log = logging.getLogger(__name__)


def cmd_run(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {}
    if args.params:
        params = load_params(args.params)
    if args.params_json:
        try:
            extra = json.loads(args.params_json)
        except ValueError as exc:
            raise PEError(f"--params-json: {exc}") from None
        if not isinstance(extra, dict):
            raise PEError("--params-json must be a JSON object")
        params |= extra
    runner = PERunner(
        args.service,
        args.iface,
        params,
        legacy=args.legacy,
        name=args.name,
        stamp=args.stamp,
        stamp_limit=args.stamp_limit,
        control=args.control,
    )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("PE %s: signal %d, stopping", runner.name, signum)
        runner.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.open()
    if args.ready_file:
        Path(args.ready_file).write_text(
            json.dumps({"name": runner.name, "control": runner.control_address}) + "\n"
        )
    runner.run()
    log.info("PE %s: stopped; counters %s", runner.name, json.dumps(runner.counters()))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    path = {"health": "/health", "counters": "/counters", "stamps": "/stamps", "flows": "/flows"}
    body = query(args.control, path[args.what], timeout=args.timeout)
    print(json.dumps(body, indent=2))
    return 0


def register(subparsers: Any) -> None:
    """Add ``pe run`` and ``pe query`` to the ``wphw`` command's subparsers."""
    pe = subparsers.add_parser("pe", help="software processing elements (run one, query one)")
    add_commands(pe.add_subparsers(dest="pe_command", metavar="PE_COMMAND", required=True))


def cmd_waypoint(args: argparse.Namespace) -> int:
    from wphw.pe import waypoint

    return int(waypoint.main(args.waypoint_args))


def add_commands(sub: Any) -> None:
    """Add ``run``, ``query`` and ``waypoint`` to ``sub``."""
    w = sub.add_parser(
        "waypoint",
        help="run a software waypoint (several PEs behind one port; see wphw.pe.waypoint)",
        prefix_chars="+",  # every argument goes to wphw.pe.waypoint's own parser
        add_help=False,
    )
    w.add_argument("waypoint_args", nargs=argparse.REMAINDER)
    w.set_defaults(func=cmd_waypoint)
    run = sub.add_parser(
        "run",
        help="run a software PE on an interface (NSH-aware, or --legacy for the proxy leg)",
    )
    run.add_argument("service", choices=sorted(SERVICES), help="the service this PE runs")
    run.add_argument("--iface", required=True, help="interface to read from and send back to")
    run.add_argument("--name", help="PE name in logs and health (default SERVICE@IFACE)")
    run.add_argument(
        "--legacy",
        action="store_true",
        help="frames are Ethernet+802.1Q+IPv4 without NSH (the switch's SFC proxy leg)",
    )
    run.add_argument("--params", type=Path, help="service parameters (YAML or JSON file)")
    run.add_argument(
        "--params-json", help="service parameters as a JSON object (merged over --params)"
    )
    run.add_argument(
        "--control",
        help="control interface: HOST:PORT (port 0 = any) or a unix socket path "
        "(use a path when the PE runs in another network namespace)",
    )
    run.add_argument(
        "--stamp", action="store_true", help="record every packet's identity and SPI/SI"
    )
    run.add_argument(
        "--stamp-limit", type=int, default=DEFAULT_STAMP_LIMIT, help="stamps kept (newest)"
    )
    run.add_argument(
        "--ready-file", type=Path, help="write {name, control} as JSON here once listening"
    )
    run.set_defaults(func=cmd_run)
    q = sub.add_parser("query", help="GET health, counters, stamps or flows of a running PE")
    q.add_argument("control", help="the PE's --control address")
    q.add_argument(
        "what", nargs="?", default="health", choices=("health", "counters", "stamps", "flows")
    )
    q.add_argument("--timeout", type=float, default=1.0)
    q.set_defaults(func=cmd_query)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wphw-pe", description=__doc__)
    parser.add_argument("--log-level", default="info")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except WphwError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
