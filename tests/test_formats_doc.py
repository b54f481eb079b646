"""docs/formats.md's "write your own example" walkthrough, run as a user would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wphw.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "formats.md"


def test_walkthrough(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DOC.read_text().split("## Write your own example", 1)[1]
    blocks = re.findall(r"```yaml\n(# (\S+)\n.*?)```", text, re.S)
    assert [name for _, name in blocks] == ["topology.yaml", "policy.yaml"]
    d = tmp_path / "my-example"
    d.mkdir()
    for body, name in blocks:
        (d / name).write_text(body)
    commands = re.findall(r"^wphw (.+?)(?:\s+#.*)?$", text, re.M)
    assert len(commands) == 3
    for cmd in commands:
        argv = cmd.replace("my-example", str(d)).split()
        assert main(argv) == 0, cmd
    out = capsys.readouterr().out
    assert "verify: OK" in out and "rule web-ids" in out
    # the documented failure mode: with the IDS down, web traffic is routed unchecked
    assert main(["plan", str(d), "--failed-pe", "ids1"]) == 0
    assert "web-ids" in capsys.readouterr().out
