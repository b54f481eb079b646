"""The controller's API against its own served OpenAPI document, by schemathesis (PyPI): it
generates requests from the document (valid and invalid), sends them over HTTP to a controller
running on the P4Runtime TEST DOUBLE, and checks every answer — no 5xx, only documented status
codes and content types, bodies that match the documented schemas. The switches must still hold
exactly the installed plan afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from controller_harness import ADMIN, Running, running_controller  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from p4rt_testserver import P4RuntimeTestServer  # noqa: E402


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with (
        P4RuntimeTestServer() as a,
        P4RuntimeTestServer() as b,
        running_controller((a, b), tmp_path_factory.mktemp("ctl") / "c.db") as rc,
    ):
        yield rc


@pytest.fixture(scope="module")
def api_schema(controller: Running) -> Any:
    host, port = controller.server.server_address[:2]
    return schemathesis.openapi.from_url(f"http://{host}:{port}/openapi.json")


def test_api_conforms_to_its_openapi_document(api_schema: Any) -> None:
    """Every operation of the served document, through schemathesis's Python API (its pytest
    plugin does not run under pytest 9: it reads ``Function._nodeid``)."""
    from hypothesis import given
    from schemathesis.checks import positive_data_acceptance as accepts_valid

    # Excluded: "a schema-valid request is accepted". A rule can be valid JSON and still be
    # refused with 422 by the policy parser, the compiler or the verifier (an unknown switch or
    # service, an overlap at the same priority, a chain that cannot be placed): what JSON
    # Schema cannot say. tests/test_controller_api.py checks those refusals one by one.

    ran = 0
    for result in api_schema.get_all_operations():
        op = result.ok()

        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {ADMIN}"}, excluded_checks=[accepts_valid]
            )

        check()
        ran += 1
    assert ran == 13


def test_the_switches_hold_the_installed_plan_after_the_fuzzing(controller: Running) -> None:
    assert controller.matches_plan()


def test_the_served_document_is_the_generated_one(controller: Running, tmp_path: Path) -> None:
    from wphw.controller.api import ROUTES, openapi

    status, doc = controller.request("GET", "/openapi.json", token=None)
    assert status == 200 and doc == openapi()
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert ops == {(r.method, r.path) for r in ROUTES}
