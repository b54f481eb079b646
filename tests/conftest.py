"""Shared fixtures for the wphw tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from p4rt_testserver import P4RuntimeTestServer

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


@pytest.fixture
def servers() -> Iterator[tuple[P4RuntimeTestServer, P4RuntimeTestServer]]:
    """Two switches served by the P4Runtime TEST DOUBLE (real gRPC), for the controller tests."""
    with P4RuntimeTestServer() as a, P4RuntimeTestServer() as b:
        yield a, b
