from __future__ import annotations

import json
from pathlib import Path

import pytest

from wphw.cli import main

EX = Path(__file__).resolve().parent.parent / "examples"


def test_plan_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(EX / "table1")]) == 0
    out = capsys.readouterr().out
    assert "rule ids-nat" in out and "sff_proxy(port=5, vlan=1)" in out
    target = tmp_path / "plan.json"
    assert (
        main(
            [
                "plan",
                "--topo",
                str(EX / "table1/topology.yaml"),
                "--policy",
                str(EX / "table1/policy.yaml"),
                "--format",
                "json",
                "-o",
                str(target),
                "--runtime-dir",
                str(tmp_path / "rt"),
            ]
        )
        == 0
    )
    assert json.loads(target.read_text())["format"] == 2
    rt = json.loads((tmp_path / "rt" / "s1-runtime.json").read_text())
    assert rt["target"] == "bmv2"
    first = next(e for e in rt["table_entries"] if e["table"] == "wp_classify")
    assert first["match"]["ipv4_src"] == ["192.168.0.0", "255.255.255.0"]
    # verify the saved plan
    assert main(["verify", str(EX / "table1"), "--plan", str(target)]) == 0


def test_verify_and_draw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(EX / "figure4"), "-v"]) == 0
    assert "verify: OK" in capsys.readouterr().out
    for ext in ("png", "svg"):
        out = tmp_path / f"f.{ext}"
        assert main(["draw", str(EX / "figure3"), "-o", str(out)]) == 0
        assert out.stat().st_size > 1000
    assert out.read_text().lstrip().startswith("<?xml")


def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("subscribers:\n  s1:\n    - {name: r, actions: [vpn]}\n")
    assert main(["plan", "--topo", str(EX / "table1/topology.yaml"), "--policy", str(policy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wphw: error: ") and "rule r: no PE offers service 'vpn'" in err
    assert main(["plan", str(tmp_path / "missing")]) == 2


def test_demo_runs_every_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--no-rtl"]) == 0
    out = capsys.readouterr().out
    for name in ("figure3", "figure4", "table1", "fattree"):
        assert (tmp_path / name / "plan.json").exists() and (tmp_path / name / "paths.png").exists()
        assert f"{name:<8}" in out
    assert out.count("verify: OK") == 4


def _documented_commands() -> list[tuple[str, str]]:
    """Every `wphw ...` line inside a code block of README.md and docs/*.md."""
    import shlex

    root = EX.parent
    out = []
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        in_code = False
        for line in doc.read_text().splitlines():
            if line.lstrip().startswith("```"):
                in_code = not in_code
                continue
            text = line.split("#", 1)[0].strip()
            if not in_code or not text.startswith("wphw ") or text.endswith("--help"):
                continue
            if any(c in text for c in "[]|") or "..." in text:
                continue  # a synopsis ([--name NAME], a|b, ...), not a command
            if any(w.isupper() for w in shlex.split(text)):
                continue  # placeholders (SERVICE, CONTROL)
            out.append((doc.name, text))
    return out


@pytest.mark.parametrize(("doc", "command"), _documented_commands())
def test_documented_commands_parse(doc: str, command: str) -> None:
    """The command lines the docs show are accepted by the CLI (options exist, values valid)."""
    import shlex

    from wphw.cli import build_parser

    argv = shlex.split(command)[1:]
    args = build_parser().parse_args(argv)
    assert callable(args.func), command


def test_documented_commands_were_found() -> None:
    commands = {c for _, c in _documented_commands()}
    assert "wphw lab run examples/figure3 --pe-mode rtl" in commands
    assert "wphw apply examples/table1 --dry-run" in commands


@pytest.mark.parametrize(("extra", "mode"), [([], "software"), (["--pe-mode", "rtl"], "rtl")])
def test_lab_run_and_up_pass_the_pe_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, extra: list[str], mode: str
) -> None:
    """`wphw lab run|up` hand --pe-mode (default software) to the scenario runner / Lab (the
    option was once used but never declared: every `wphw lab run` died on an AttributeError)."""
    import wphw.lab.network
    import wphw.lab.scenario
    from wphw.errors import LabError

    seen: dict[str, object] = {}

    def fake_run(example: Path, workdir: Path, *, lab_id: str, pe_mode: str) -> int:
        seen.update(example=example, workdir=workdir, lab_id=lab_id, pe_mode=pe_mode)
        return 0

    class FakeLab:
        def __init__(self, topo: object, policy: object, workdir: Path, **kw: str) -> None:
            seen.update(kw)
            raise LabError("stop here")

    monkeypatch.setattr(wphw.lab.scenario, "run_scenario", fake_run)
    monkeypatch.setattr(wphw.lab.network, "Lab", FakeLab)
    wd = str(tmp_path / "lab")
    assert main(["lab", "run", str(EX / "table1"), "--workdir", wd, "--id", "w7", *extra]) == 0
    assert seen == {"example": EX / "table1", "workdir": Path(wd), "lab_id": "w7", "pe_mode": mode}
    seen.clear()
    assert main(["lab", "up", str(EX / "table1"), "--workdir", wd, *extra]) != 0
    assert seen == {"lab_id": "w0", "pe_mode": mode}


def test_verify_tampered_plan_prints_counterexamples_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11's /25 tamper: half of ids-nat's sources skip IDS and NAT."""
    plan = tmp_path / "plan.json"
    assert main(["plan", str(EX / "table1"), "--format", "json", "-o", str(plan)]) == 0
    d = json.loads(plan.read_text())
    for e in d["entries"]["s1"]:
        if e["table"] == "wp_classify" and e["params"].get("spi") == 1:
            e["match"]["ipv4_src"]["mask"] = 0xFFFFFF80
    plan.write_text(json.dumps(d))
    capsys.readouterr()
    assert main(["verify", str(EX / "table1"), "--plan", str(plan)]) == 1
    out = capsys.readouterr().out
    assert "VIOLATION (services): rule ids-nat at s1" in out
    assert "packet:   s1 port 0: 192.168.0.128" in out and "trace:" in out
    assert main(["verify", str(EX / "table1"), "--plan", str(plan), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["ok"] and report["classes"] > 0
    assert report["violations"][0]["packet"]["src"] == "192.168.0.128"


def test_failed_pe_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(EX / "table1"), "--failed-pe", "proxy1"]) == 0
    out = capsys.readouterr().out
    assert "rule http-proxy" in out
    assert main(["verify", str(EX / "table1"), "--failed-pe", "proxy1", "--failed-pe", "ids1"]) == 0
    assert (
        main(["draw", str(EX / "table1"), "--failed-pe", "ids1", "-o", str(tmp_path / "d.png")])
        == 0
    )
    assert main(["verify", str(EX / "table1"), "--failed-pe", "nope"]) == 2
    assert "--failed-pe: unknown PE(s) nope" in capsys.readouterr().err


TOPO = str(EX / "table1/topology.yaml")


@pytest.mark.parametrize(
    ("case", "content", "argv", "says"),
    [
        (
            "binary topology",
            b"\xed\x00\xff" * 50,
            ["plan", "--topo", "{f}", "--policy", "{f}"],
            "not UTF-8 text",
        ),
        (
            "binary policy",
            b"\xff\xfe" * 50,
            ["plan", "--topo", TOPO, "--policy", "{f}"],
            "not UTF-8 text",
        ),
        (
            "binary plan",
            b"\x00\xff" * 50,
            ["verify", str(EX / "table1"), "--plan", "{f}"],
            "not UTF-8 text",
        ),
        (
            "binary in draw",
            b"\xff" * 9,
            ["draw", "--topo", "{f}", "--policy", "{f}", "-o", "x.png"],
            "not UTF-8",
        ),
        (
            "duplicate key",
            b"metric: hops\nmetric: latency\nsubscribers: {}\n",
            ["plan", "--topo", TOPO, "--policy", "{f}"],
            "key 'metric' given twice",
        ),
        (
            "duplicate switch",
            b"switches:\n  s1: {address: '1.2.3.4:1'}\n  s1: {address: '1.2.3.4:2'}\n",
            ["plan", "--topo", "{f}", "--policy", str(EX / "table1/policy.yaml")],
            "key 's1' given twice",
        ),
        (
            "deep nesting",
            b"[" * 100000,
            ["plan", "--topo", TOPO, "--policy", "{f}"],
            "nested too deeply",
        ),
        ("missing plan", None, ["verify", str(EX / "table1"), "--plan", "{f}"], "cannot read"),
        ("plan is a folder", "dir", ["verify", str(EX / "table1"), "--plan", "{f}"], "cannot read"),
        (
            "output folder missing",
            None,
            ["plan", str(EX / "table1"), "-o", "{f}/sub/plan.json"],
            "does not exist",
        ),
        (
            "runtime dir is a file",
            b"x",
            ["plan", str(EX / "table1"), "--runtime-dir", "{f}"],
            "not a directory",
        ),
        (
            "sctp ports",
            b"subscribers:\n  s1:\n    - {match: {proto: sctp, dst_port: 9}, actions: [drop]}\n",
            ["plan", "--topo", TOPO, "--policy", "{f}"],
            "need proto tcp or udp",
        ),
    ],
)
def test_bad_inputs_are_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    content: bytes | str | None,
    argv: list[str],
    says: str,
) -> None:
    f = tmp_path / "input.yaml"
    if isinstance(content, bytes):
        f.write_bytes(content)
    elif content == "dir":
        f.mkdir()
    args = [a.replace("{f}", str(f)) for a in argv]
    assert main(args) == 2, case
    err = capsys.readouterr().err
    assert err.startswith("wphw: error: ") and err.count("\n") == 1, err
    assert says in err, err
    assert "Traceback" not in err


def test_plan_output_is_all_or_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "plan.json"
    blocker = tmp_path / "rt"
    blocker.write_text("a file where the runtime folder should go")
    assert (
        main(
            [
                "plan",
                str(EX / "table1"),
                "--format",
                "json",
                "-o",
                str(target),
                "--runtime-dir",
                str(blocker),
            ]
        )
        == 2
    )
    assert not target.exists()  # nothing written when one output cannot be
    assert not list(tmp_path.glob(".*.tmp"))


def test_log_level_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--log-level", "LOUD", "plan", str(EX / "table1")])
    assert info.value.code == 2
    assert "invalid choice: 'LOUD'" in capsys.readouterr().err


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        f"{sys.executable} -m wphw.cli plan {EX / 'fattree'} --routes | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


def test_plan_with_secrets_is_owner_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import stat

    out = tmp_path / "plan.json"
    assert main(["plan", str(EX / "figure3"), "--format", "json", "-o", str(out)]) == 0
    assert "000102030405060708090a0b0c0d0e0f" not in out.read_text()
    assert json.loads(out.read_text())["register_writes"]  # the rest is there
    secret = tmp_path / "secret.json"
    assert (
        main(["plan", str(EX / "figure3"), "--format", "json", "-o", str(secret), "--with-secrets"])
        == 0
    )
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert main(["plan", str(EX / "figure3"), "--with-secrets"]) == 2
