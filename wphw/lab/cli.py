"""``wphw lab``: bring a BMv2 lab up or down, show its status, run a scenario end to end."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _model(example: Path) -> tuple[Any, Any]:
    from wphw.model_args import load_example

    return load_example(example).model


def cmd_up(args: argparse.Namespace) -> int:
    from wphw.lab.network import Lab

    topo, policy = _model(args.example)
    lab = Lab(topo, policy, Path(args.workdir), lab_id=args.id, pe_mode=args.pe_mode)
    plan = lab.up()
    print(
        f"lab {args.id} up: {len(topo.switches)} switches, {len(topo.hosts)} hosts, "
        f"{len(lab.state.waypoint_netns)} waypoints; {plan.entry_count()} entries installed. "
        f"State in {args.workdir}/lab.json; `wphw lab down --workdir {args.workdir}` removes it."
    )
    for host, ns in sorted(lab.state.host_netns.items()):
        print(f"  host {host:<10} ip netns exec {ns} <command>")
    if lab.bmv2_build == "default":
        from wphw.lab.network import BMV2_DEFAULT_BUILD_NOTE

        print(f"note: {BMV2_DEFAULT_BUILD_NOTE}")
    if args.controller is not None:
        from wphw.controller.cli import start_beside_lab

        url = start_beside_lab(args.example, lab, args.controller)
        print(
            f"controller: {url} (log {args.workdir}/controller.log); try `wphw ctl --url {url}"
            f" --token-file {args.workdir}/admin.token status`"
        )
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from wphw.lab.network import STATE_FILE, down

    workdir = Path(args.workdir)
    removed = down(workdir if (workdir / STATE_FILE).exists() else None, lab_id=args.id)
    print(f"removed {len(removed)}: " + ", ".join(removed) if removed else "nothing to remove")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from wphw.lab.network import status

    print(json.dumps(status(Path(args.workdir)), indent=2))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from wphw.lab.scenario import run_scenario
    from wphw.resources import example_dir

    failures = run_scenario(
        example_dir(args.example), Path(args.workdir), lab_id=args.id, pe_mode=args.pe_mode
    )
    report = Path(args.workdir) / "report.txt"
    if report.exists():
        print(report.read_text(), end="")
    print(
        f"scenario {args.example}: "
        + ("all expectations held" if failures == 0 else f"{failures} FAILED")
    )
    return 0 if failures == 0 else 1


def register(subparsers: Any) -> None:
    lab = subparsers.add_parser(
        "lab",
        help="BMv2 labs: switches, hosts and PEs in network namespaces (needs root and simple_switch_grpc)",
    )
    sub = lab.add_subparsers(dest="lab_command", metavar="LAB_COMMAND", required=True)
    for name, func, helptext in (
        ("up", cmd_up, "bring up an example's lab and install its plan"),
        (
            "run",
            cmd_run,
            "bring up, send the example's scenario traffic, check the evidence, tear down",
        ),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument(
            "example",
            type=Path,
            help="example directory (topology.yaml, policy.yaml, scenario.yaml)",
        )
        p.add_argument(
            "--workdir", default="out/lab", help="state, logs and pcaps (default out/lab)"
        )
        p.add_argument(
            "--id",
            default="w0",
            help="lab id: prefix of every namespace and interface (default w0)",
        )
        p.add_argument(
            "--pe-mode",
            choices=("software", "rtl"),
            default="software",
            help="FPGA PEs as the Python reference models (software, default) or as the"
            " Verilog co-simulated with Icarus (rtl; slow)",
        )
        if name == "up":
            p.add_argument(
                "--controller",
                nargs="?",
                const="127.0.0.1:8080",
                metavar="HOST:PORT",
                help="also start `wphw controller run` beside the lab, its API on HOST:PORT"
                " (default 127.0.0.1:8080); `wphw lab down` stops it",
            )
        p.set_defaults(func=func)
    p = sub.add_parser("down", help="remove everything a lab created (also after a crash)")
    p.add_argument("--workdir", default="out/lab")
    p.add_argument("--id", default="w0")
    p.set_defaults(func=cmd_down)
    p = sub.add_parser("status", help="processes and namespaces of a running lab")
    p.add_argument("--workdir", default="out/lab")
    p.set_defaults(func=cmd_status)
