"""The ``wphw pe`` command line (no root needed: errors before any socket is opened)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from wphw.pe import cli
from wphw.pe.runtime import pe_command


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    cli.register(p.add_subparsers(dest="command"))
    return p


def test_register_adds_pe_run_query_waypoint() -> None:
    a = parser().parse_args(
        ["pe", "run", "fw", "--iface", "v1", "--legacy", "--stamp", "--control", "/tmp/x.sock"]
    )
    assert (a.service, a.iface, a.legacy, a.stamp, a.control) == (
        "fw", "v1", True, True, "/tmp/x.sock"
    )  # fmt: skip
    assert a.func is cli.cmd_run
    a = parser().parse_args(["pe", "query", "127.0.0.1:9000", "counters"])
    assert (a.control, a.what, a.func) == ("127.0.0.1:9000", "counters", cli.cmd_query)
    a = parser().parse_args(["pe", "waypoint", "--iface", "eth0", "--rtl"])
    assert a.waypoint_args == ["--iface", "eth0", "--rtl"]
    with pytest.raises(SystemExit):
        parser().parse_args(["pe", "run", "dpi", "--iface", "v1"])


def test_bad_params_exit_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "enc.yaml"
    f.write_text("key: '00'\n")
    assert cli.main(["run", "encrypt", "--iface", "lo", "--params", str(f)]) == 2
    assert "key must be 32 bytes" in capsys.readouterr().err
    assert cli.main(["run", "fw", "--iface", "lo", "--params-json", "[1]"]) == 2
    assert "JSON object" in capsys.readouterr().err
    f.write_text("- not a mapping\n")
    assert cli.main(["run", "fw", "--iface", "lo", "--params", str(f)]) == 2
    assert "mapping at the top level" in capsys.readouterr().err


def test_pe_command_argv() -> None:
    argv = pe_command(
        "nat", "eth1", name="nat1", params={"mappings": []}, control="/run/nat1.sock",
        stamp=True, netns="wp1",
    )  # fmt: skip
    assert argv[:4] == ["ip", "netns", "exec", "wp1"]
    assert argv[5:7] == ["-m", "wphw.pe.cli"]
    i = argv.index("--params-json")
    assert json.loads(argv[i + 1]) == {"mappings": []}
    assert "--stamp" in argv and argv[argv.index("--control") + 1] == "/run/nat1.sock"
