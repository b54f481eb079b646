"""Shared fixtures for the wphw tests."""

from __future__ import annotations

from pathlib import Path

import pytest

import wphw

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
EXAMPLE_NAMES = ("figure3", "figure4", "table1", "fattree")


@pytest.fixture(params=EXAMPLE_NAMES)
def example(request: pytest.FixtureRequest) -> tuple[str, wphw.Topology, wphw.Policy]:
    d = EXAMPLES / request.param
    return (
        request.param,
        wphw.load_topology(d / "topology.yaml"),
        wphw.load_policy(d / "policy.yaml"),
    )
