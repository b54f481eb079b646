"""The malformed-input corpus (tests/data/bad_inputs.yaml) and misuse of the Python API: every
case fails with a typed error (or TypeError for a wrong argument type), in one line, naming the
element at fault; nothing gets through, nothing crashes."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

import wphw
from wphw.errors import PlanError, PolicyError, TopologyError, WphwError
from wphw.policy import FailureMode, Match, Rule, ServiceSpec

ROOT = Path(__file__).resolve().parent.parent
CORPUS = yaml.safe_load((ROOT / "tests/data/bad_inputs.yaml").read_text())
TABLE1 = ROOT / "examples/table1"


def _content(case: dict[str, Any]) -> bytes:
    text = case["text"]
    if text == "HUGE":  # a 5 MB switch name, given where YAML takes it (a value)
        return (
            "switches: {s1: {}}\nhosts:\n  h1: {ip: 10.0.0.1/24, mac: '08:00:00:00:00:01', "
            f"switch: {'s' * 5_000_000}, port: 1}}\n"
        ).encode()
    if text == "HUGE_KEY":  # as a key: longer than YAML allows
        return f"switches:\n  {'s' * 5_000_000}: {{}}\n".encode()
    if text == "HUGE_RULE":
        return f"subscribers:\n  s1:\n    - {{name: {'r' * 5_000_000}, actions: [drop]}}\n".encode()
    if text == "DEEP":
        return b"subscribers: " + b"[" * 50_000
    if case.get("bytes"):
        return text.encode().decode("unicode_escape").encode("latin-1")
    return str(text).encode()


def _cases(kind: str) -> list[Any]:
    return [pytest.param(c, id=f"{kind}: {c['name']}") for c in CORPUS[kind]]


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS["topology"]) + len(CORPUS["policy"]) + len(API_CASES) >= 80


@pytest.mark.parametrize("case", _cases("topology"))
def test_bad_topology(tmp_path: Path, case: dict[str, Any]) -> None:
    f = tmp_path / case.get("file", "topology.yaml")
    f.write_bytes(_content(case))
    policy = TABLE1 / "policy.yaml"
    if "policy" in case:
        policy = tmp_path / "policy.yaml"
        policy.write_text(case["policy"])
    error = {"PolicyError": PolicyError}.get(case.get("error", ""), TopologyError)
    with pytest.raises(error) as info:
        topo = wphw.load_topology(f)
        wphw.compile(wphw.load_policy(policy), topo)
    _one_line(info.value, case["says"], f)


@pytest.mark.parametrize("case", _cases("policy"))
def test_bad_policy(tmp_path: Path, case: dict[str, Any]) -> None:
    f = tmp_path / "policy.yaml"
    f.write_bytes(_content(case))
    topo = wphw.load_topology(TABLE1 / "topology.yaml")
    with pytest.raises(PolicyError) as info:
        wphw.compile(wphw.load_policy(f), topo)
    _one_line(info.value, case["says"], None)


def _one_line(exc: WphwError, says: str, path: Path | None) -> None:
    msg = str(exc)
    assert "\n" not in msg, msg
    assert says in msg, msg
    assert len(msg) < 2000, f"message of {len(msg)} characters"
    if path is not None and "given twice" not in says:
        assert str(path) in msg or path.name in msg, msg


# -- the Python API -----------------------------------------------------------------------------


def _topo() -> wphw.Topology:
    return wphw.load_topology(TABLE1 / "topology.yaml")


def _policy() -> wphw.Policy:
    return wphw.load_policy(TABLE1 / "policy.yaml")


API_CASES: list[tuple[str, Any, type[BaseException], str]] = [
    ("Match src as text", lambda: Match(src="10.1.0.0/24"), TypeError, "Match.src"),
    ("Match dst as text", lambda: Match(dst="10.1.0.0/24"), TypeError, "Match.dst"),
    ("Match proto as text", lambda: Match(proto="tcp"), TypeError, "Match.proto"),
    ("Match port as int", lambda: Match(proto=6, dst_port=80), TypeError, "Match.dst_port"),
    ("Match in_port bool", lambda: Match(in_port=True), TypeError, "Match.in_port"),
    (
        "ServiceSpec bad failure",
        lambda: ServiceSpec(name="ids", failure="maybe"),
        PolicyError,
        "failure 'maybe'",
    ),
    (
        "Rule services as a string",
        lambda: Rule(name="r", subscriber="s1", priority=1, match=Match(), services="ids"),
        TypeError,
        "services must be a tuple",
    ),  # type: ignore[arg-type]
    (
        "Rule match as dict",
        lambda: Rule(name="r", subscriber="s1", priority=1, match={"proto": 6}),
        TypeError,
        "match must be a Match",
    ),  # type: ignore[arg-type]
    ("compile arguments swapped", lambda: wphw.compile(_topo(), _policy()), TypeError, "swapped"),  # type: ignore[arg-type]
    (
        "compile with a dict",
        lambda: wphw.compile({"subscribers": {}}, _topo()),
        TypeError,
        "compile(policy, topology)",
    ),  # type: ignore[arg-type]
    (
        "Plan.from_json a list",
        lambda: wphw.Plan.from_json("[1, 2]"),
        PlanError,
        "top level is a list",
    ),
    ("Plan.from_json not json", lambda: wphw.Plan.from_json("{"), PlanError, "not a wphw plan"),
    (
        "Plan.from_json wrong format",
        lambda: wphw.Plan.from_json('{"format": 9}'),
        PlanError,
        "unsupported plan format 9",
    ),
    (
        "Plan.from_json missing keys",
        lambda: wphw.Plan.from_json('{"format": 2}'),
        PlanError,
        "not a wphw plan",
    ),
    (
        "Plan.from_json format 1 (before the per-pass SI)",
        lambda: wphw.Plan.from_json('{"format": 1}'),
        PlanError,
        "unsupported plan format 1, this wphw reads 2 (written for the data plane before",
    ),
    (
        "failed_pes unknown",
        lambda: wphw.compile(_policy(), _topo(), failed_pes=["nope"]),
        TopologyError,
        "unknown PE(s) ['nope']",
    ),
    (
        "verify failed_pes unknown",
        lambda: wphw.verify(
            wphw.compile(_policy(), _topo()), _policy(), _topo(), failed_pes=["nope"]
        ),
        TopologyError,
        "nope",
    ),
    ("Policy rules not Rules", lambda: wphw.Policy(rules=("r",)), TypeError, "Policy.rules"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("name", "call", "error", "says"), API_CASES, ids=[c[0] for c in API_CASES]
)
def test_python_api_misuse(name: str, call: Any, error: type[BaseException], says: str) -> None:
    with pytest.raises(error) as info:
        call()
    assert says in str(info.value), str(info.value)
    assert not isinstance(info.value, AttributeError)


def test_good_values_still_construct() -> None:
    m = Match(src=ipaddress.IPv4Network("10.1.0.0/24"), proto=6, dst_port=(80, 80))
    assert str(m) == "src=10.1.0.0/24 proto=tcp dst_port=80"
    assert ServiceSpec(name="ids", failure="bypass").failure is FailureMode.BYPASS  # type: ignore[arg-type]


def test_host_bits_warn(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    f = tmp_path / "policy.yaml"
    f.write_text("subscribers: {s1: [{name: r, match: {src: 192.168.0.1/24}, actions: [drop]}]}\n")
    p = wphw.load_policy(f)
    assert str(p.rules[0].match.src) == "192.168.0.0/24"
    assert any("host bits set" in r.getMessage() for r in caplog.records)
