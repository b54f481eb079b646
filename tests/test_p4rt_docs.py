"""The Python examples of docs/p4runtime.md run, against the P4Runtime TEST DOUBLE."""

from __future__ import annotations

import re

from p4rt_common import ROOT, TEST_P4INFO, FakePlan, Sw
from p4rt_testserver import P4RuntimeTestServer

import wphw


def test_docs_examples_run(capsys: object) -> None:
    text = (ROOT / "docs" / "p4runtime.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2
    d = ROOT / "examples" / "table1"
    plan = wphw.compile(
        wphw.load_policy(d / "policy.yaml"), wphw.load_topology(d / "topology.yaml")
    )
    with P4RuntimeTestServer() as a, P4RuntimeTestServer() as b:
        scope = {
            "topology": [Sw("s1", a.address), Sw("s2", b.address)],
            "plan": FakePlan(dict(plan.entries)),
            "P4INFO": TEST_P4INFO,
        }
        for block in blocks:
            exec(compile(block, "docs/p4runtime.md", "exec"), scope)
        assert len(a.entries()) == len(plan.entries["s1"])
        assert len(b.entries()) == len(plan.entries["s2"])
