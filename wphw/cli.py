"""The ``wphw`` command.

Every subcommand takes a topology and a policy, either as ``--topo T --policy P`` or as one
example directory holding ``topology.yaml`` and ``policy.yaml`` (``wphw plan examples/table1``).
Errors from wphw are printed as one line naming the file and element at fault (exit status 2).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from wphw._load import read_text
from wphw.errors import PlanError, WphwError
from wphw.model_args import add_model_args, failed_pes, load_example, load_model
from wphw.output import format_plan, write_runtime_jsons
from wphw.plan import Plan, compile
from wphw.resources import EXAMPLES
from wphw.verify import verify

# a source checkout, if this wphw runs from one (the co-simulation testbench lives there)
BUILTIN_EXAMPLES = ("figure3", "figure4", "table1", "fattree")

log = logging.getLogger("wphw")


def cmd_plan(args: argparse.Namespace) -> int:
    topo, policy = load_model(args)
    plan = compile(policy, topo, failed_pes=failed_pes(args, topo))
    if args.with_secrets and not (args.format == "json" and args.output):
        raise WphwError("--with-secrets needs --format json and -o FILE (written owner-only)")
    text = (
        plan.to_json(secrets=args.with_secrets)
        if args.format == "json"
        else format_plan(plan, routes=args.routes)
    )
    # every output checked before anything is written: all or nothing
    if args.output:
        _writable_file(Path(args.output), "-o")
    if args.runtime_dir:
        rt = Path(args.runtime_dir)
        if rt.exists() and not rt.is_dir():
            raise WphwError(f"--runtime-dir {rt}: exists and is not a directory")
    if args.output:
        write_atomic(
            Path(args.output),
            text if text.endswith("\n") else text + "\n",
            private=args.with_secrets,
        )
        print(f"wrote {args.output}")
    else:
        print(text)
    if args.runtime_dir:
        try:
            files = write_runtime_jsons(plan, Path(args.runtime_dir))
        except OSError as exc:
            raise WphwError(f"--runtime-dir {args.runtime_dir}: {exc.strerror or exc}") from None
        print(f"wrote {len(files)} runtime files to {args.runtime_dir}")
    return 0


def _writable_file(path: Path, option: str) -> None:
    if path.is_dir():
        raise WphwError(f"{option} {path}: is a directory")
    if not path.parent.is_dir():
        raise WphwError(f"{option} {path}: folder {path.parent} does not exist")


def write_atomic(path: Path, text: str, *, private: bool = False) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file, then a rename);
    ``private``: readable by its owner only (0600) from the first byte."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WphwError(f"{path}: cannot write: {exc.strerror or exc}") from None


def cmd_verify(args: argparse.Namespace) -> int:
    topo, policy = load_model(args)
    failed = failed_pes(args, topo)
    plan = (
        Plan.from_json(read_text(Path(args.plan), PlanError), str(args.plan))
        if args.plan
        else compile(policy, topo, failed_pes=failed)
    )
    report = verify(plan, policy, topo, failed_pes=failed)
    if args.json:
        sys.stdout.write(report.to_json())
        return 0 if report.ok else 1
    seen: set[tuple[object, ...]] = set()
    for w in report.walks if args.verbose else []:
        key = (w.rule, w.spi, w.services, w.switches, str(w.outcome))
        if key in seen:
            continue
        seen.add(key)
        print(
            f"  {w.rule:<24} spi {w.spi!s:<5} services {list(w.services)} -> {w.outcome}"
            f"   via {' > '.join(w.switches)}"
        )
    for warning in report.warnings:
        print(f"warning: {warning}")
    for v in report.counterexamples:
        print(f"VIOLATION ({v.kind}): {v.message}")
        if v.packet is not None:
            print(f"  packet:   {v.packet}")
        if v.expected or v.actual:
            print(f"  expected: {v.expected}")
            print(f"  actual:   {v.actual}")
        for i, hop in enumerate(v.trace):
            print(f"  {'trace:' if i == 0 else '':<9} {hop}")
    print(report.summary())
    return 0 if report.ok else 1


def cmd_draw(args: argparse.Namespace) -> int:
    from wphw.draw import draw_plan

    topo, policy = load_model(args)
    plan = compile(policy, topo, failed_pes=failed_pes(args, topo))
    draw_plan(plan, topo, Path(args.output))
    print(f"wrote {args.output}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the built-in examples: compile, verify, export, draw; lab if possible."""
    from wphw.draw import draw_plan

    out = Path(args.out)
    failures = 0
    for name in BUILTIN_EXAMPLES:
        d = EXAMPLES / name
        topo, policy = load_example(d).model
        t0 = time.perf_counter()
        plan = compile(policy, topo)
        dt = time.perf_counter() - t0
        report = verify(plan, policy, topo)
        target = out / name
        target.mkdir(parents=True, exist_ok=True)
        (target / "plan.json").write_text(plan.to_json())
        (target / "plan.txt").write_text(format_plan(plan) + "\n")
        write_runtime_jsons(plan, target / "runtime")
        draw_plan(plan, topo, target / "paths.png")
        print(
            f"{name:<8} {len(policy.rules):>5} rules -> {plan.entry_count():>6} entries, "
            f"{len(plan.paths):>4} service paths on {len(plan.entries)} switches "
            f"(compiled in {dt * 1000:.1f} ms); {report.summary()}"
        )
        for v in report.violations:
            print(f"  VIOLATION: {v}")
        failures += not report.ok
    print(f"outputs (plan.json, plan.txt, sN-runtime.json, paths.png) in {out}/<example>/")
    if failures:
        return 1
    rc = _demo_rtl(args)
    return rc or _demo_lab(args)


def _demo_rtl(args: argparse.Namespace) -> int:
    """The figure3 plan's register writes on the real Verilog waypoint (Icarus, cocotb)."""
    if args.no_rtl:
        print("skipped: the co-simulated hardware PE (--no-rtl)")
        return 0
    from wphw.netfpga import rtl_check

    print(
        "co-simulating the FPGA waypoint (hdl/wp_waypoint.v + wp_chacha20) programmed by the "
        "figure3 plan ..."
    )
    t0 = time.perf_counter()
    try:
        rtl_check.run(Path(args.out))
    except WphwError as exc:
        if "needs" in str(exc):
            print(f"skipped: {exc}")
            return 0
        print(f"rtl      FAILED: {exc}")
        return 1
    print(
        "rtl      OK: the plan's register writes programmed the RTL waypoint; an NSH frame of "
        "branch-http-to-hq came out encrypted exactly as wphw.services.esp does it, the return "
        f"path decrypted ({time.perf_counter() - t0:.0f} s)"
    )
    return 0


def _demo_lab(args: argparse.Namespace) -> int:
    bmv2 = shutil.which("simple_switch_grpc")
    if bmv2 is None:
        print(
            "skipped: the BMv2 lab (real switches, packets and PEs) needs simple_switch_grpc on PATH, "
            "which is in no package registry: build BMv2 from source (docs/p4.md) and run "
            "`wphw lab run examples/table1`."
        )
        return 0
    from wphw.lab.scenario import main_job

    failures, workdir = main_job(out=Path(args.out))
    print((workdir / "report.txt").read_text(), end="")
    return int(failures)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wphw",
        description=(
            "wphw: the waypoint service model on programmable switches and FPGA PEs.\n"
            "Write per-switch rules whose actions are services (encrypt, ids, nat, fw, ...);\n"
            "wphw turns them into NSH steering entries on every switch (plan), proves the\n"
            "result (verify), and installs it over P4Runtime (apply)."
        ),
        epilog=(
            "examples:\n"
            "  wphw plan examples/table1             per-switch entries for the paper's Table 1\n"
            "  wphw plan examples/figure3 --format json -o plan.json\n"
            "  wphw verify examples/figure4 -v       walk packets through the plan\n"
            "  wphw draw examples/figure4 -o f4.png  topology with every service path\n"
            "  wphw demo                             all built-in examples (the README's main job)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="DEBUG, INFO, WARNING (default), ERROR",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("plan", help="translate a policy into per-switch entries")
    add_model_args(p)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.add_argument("--routes", action="store_true", help="also show ipv4_lpm routes in the table")
    p.add_argument("--runtime-dir", help="also write p4lang/tutorials sN-runtime.json files here")
    p.add_argument(
        "--with-secrets",
        action="store_true",
        help="keep FPGA keys in the JSON plan (file written 0600); left out by default",
    )
    _failed_pe_arg(p)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser(
        "verify",
        help="check every packet class on every port through the plan (exit 1 on a violation)",
    )
    add_model_args(p)
    p.add_argument("--plan", type=Path, help="verify this plan JSON instead of compiling one")
    p.add_argument("-v", "--verbose", action="store_true", help="print every rule's packet walks")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _failed_pe_arg(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("draw", help="draw the topology and every service path (PNG or SVG)")
    add_model_args(p)
    p.add_argument("-o", "--output", required=True, help="output file, .png or .svg")
    _failed_pe_arg(p)
    p.set_defaults(func=cmd_draw)

    p = sub.add_parser("demo", help="run the main job on the built-in examples")
    p.add_argument("--out", default="out", help="output directory (default: out)")
    p.add_argument("--no-rtl", action="store_true", help="skip the co-simulated hardware PE")
    p.set_defaults(func=cmd_demo)

    # The installer's, the lab's and the software PEs' subcommands register themselves.
    from wphw.controller.cli import register as register_controller
    from wphw.install_cli import register as register_p4rt
    from wphw.lab.cli import register as register_lab
    from wphw.pe.cli import register as register_pe

    for register in (register_p4rt, register_lab, register_pe, register_controller):
        register(sub)
    return parser


def _failed_pe_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--failed-pe",
        action="append",
        metavar="NAME",
        help="treat this PE as failed (repeatable): its services follow their failure modes",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except WphwError as exc:
        print(f"wphw: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`wphw plan ... | head`): not an error of ours; stop quietly
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 141
    except RecursionError:
        print("wphw: error: input nested too deeply", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
