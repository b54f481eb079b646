"""The model arguments every command shares: an example (a folder, or a built-in example's
name) or ``--topo``/``--policy``, and ``--failed-pe``; used by wphw/cli.py and the subcommand
modules (p4rt, lab), which must not import the top-level CLI."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Example:
    """An example loaded: its folder, topology and policy (None when it has no policy.yaml and
    none was required)."""

    dir: Path
    topology: Topology
    policy: Policy | None

    @property
    def model(self) -> tuple[Topology, Policy]:
        if self.policy is None:
            raise WphwError(f"{self.dir}: no policy.yaml")
        return self.topology, self.policy


def load_example(
    example: str | Path | None,
    *,
    topo: Path | None = None,
    policy: Path | None = None,
    policy_required: bool = True,
) -> Example:
    """The one example loader of every command (plan, verify, draw, apply, diff, stats, lab,
    scenario, experiments): ``example`` is a folder or a built-in example's name, with
    topology.yaml/.yml/.json and policy.yaml; ``topo``/``policy`` override its files (or stand
    alone without an example)."""
    d: Path | None = None
    if example is not None:
        d = example_dir(Path(example))
        topo = topo or topology_file(d)
        if policy is None and (policy_required or (d / "policy.yaml").exists()):
            policy = d / "policy.yaml"
    if topo is None or (policy is None and policy_required):
        raise WphwError("give an example directory, or both --topo and --policy")
    return Example(
        dir=d if d is not None else topo.parent,
        topology=load_topology(topo),
        policy=load_policy(policy) if policy is not None else None,
    )


def load_model(args: argparse.Namespace) -> tuple[Topology, Policy]:
    return load_example(args.example, topo=args.topo, policy=args.policy).model


def failed_pes(args: argparse.Namespace, topo: Topology) -> tuple[str, ...]:
    """``--failed-pe NAME`` (repeatable), checked against the topology."""
    names = tuple(getattr(args, "failed_pe", None) or ())
    unknown = sorted(set(names) - set(topo.pes))
    if unknown:
        raise WphwError(
            f"--failed-pe: unknown PE(s) {', '.join(unknown)} (PEs: {', '.join(sorted(topo.pes))})"
        )
    return names
