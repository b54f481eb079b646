"""The model arguments every command shares: an example (a folder, or a built-in example's
name) or ``--topo``/``--policy``, and ``--failed-pe``; used by wphw/cli.py and the subcommand
modules (p4rt, lab), which must not import the top-level CLI."""

from __future__ import annotations

import argparse
from pathlib import Path

from wphw.errors import WphwError
from wphw.policy import Policy, load_policy
from wphw.resources import example_dir, topology_file
from wphw.topology import Topology, load_topology


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "example",
        nargs="?",
        type=Path,
        help="a directory with topology.yaml (or topology.json) and policy.yaml",
    )
    p.add_argument(
        "--topo", type=Path, help="topology file (our YAML, or p4lang/tutorials topology.json)"
    )
    p.add_argument("--policy", type=Path, help="policy file (YAML)")


def load_model(args: argparse.Namespace) -> tuple[Topology, Policy]:
    topo_path: Path | None = args.topo
    policy_path: Path | None = args.policy
    if args.example is not None:
        d = example_dir(args.example)
        topo_path = topo_path or topology_file(d)
        policy_path = policy_path or d / "policy.yaml"
    if topo_path is None or policy_path is None:
        raise WphwError("give an example directory, or both --topo and --policy")
    return load_topology(topo_path), load_policy(policy_path)


def failed_pes(args: argparse.Namespace, topo: Topology) -> tuple[str, ...]:
    """``--failed-pe NAME`` (repeatable), checked against the topology."""
    names = tuple(getattr(args, "failed_pe", None) or ())
    unknown = sorted(set(names) - set(topo.pes))
    if unknown:
        raise WphwError(
            f"--failed-pe: unknown PE(s) {', '.join(unknown)} (PEs: {', '.join(sorted(topo.pes))})"
        )
    return names
