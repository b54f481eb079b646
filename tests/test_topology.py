from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wphw.errors import TopologyError
from wphw.topology import Metric, PEKind, load_topology, topology_from_dict


def base() -> dict[str, Any]:
    return {
        "switches": {"s1": {}, "s2": {}, "s3": {}},
        "hosts": {
            "h1": {"ip": "10.0.1.1/24", "mac": "08:00:00:00:01:01", "switch": "s1", "port": 1}
        },
        "links": [
            {"a": "s1:2", "b": "s2:1", "latency_ms": 10, "bandwidth_gbps": 100},
            {"a": "s2:2", "b": "s3:1", "latency_ms": 10, "bandwidth_gbps": 100},
            {"a": "s1:3", "b": "s3:2", "latency_ms": 50, "bandwidth_gbps": 1},
        ],
        "waypoints": {
            "wp": {
                "switch": "s3",
                "port": 9,
                "pes": [{"name": "pe1", "services": ["ids"], "kind": "software"}],
            }
        },
    }


def test_loads_our_yaml_example() -> None:
    topo = load_topology(Path(__file__).parent.parent / "examples/table1/topology.yaml")
    assert set(topo.switches) == {"s1", "s2"}
    assert topo.pes["nat1"].kind is PEKind.IN_SWITCH
    assert topo.waypoints["wp_s1_inside"].port is None
    assert topo.ports("s1") == (0, 1, 2)
    assert topo.peer("s1", 1) is not None and topo.peer("s1", 1).switch == "s2"  # type: ignore[union-attr]


def test_loads_tutorials_topology_json(tmp_path: Path) -> None:
    raw = {
        "hosts": {
            "h1": {"ip": "10.0.1.1/24", "mac": "08:00:00:00:01:11", "commands": []},
            "h2": {"ip": "10.0.2.2/24", "mac": "08:00:00:00:02:22", "commands": []},
        },
        "switches": {"s1": {"runtime_json": "s1-runtime.json"}, "s2": {}},
        "links": [["h1", "s1-p1"], ["h2", "s2-p1"], ["s1-p2", "s2-p2", "5ms", 100]],
    }
    path = tmp_path / "topology.json"
    path.write_text(json.dumps(raw))
    topo = load_topology(path)
    assert topo.hosts["h2"].switch == "s2" and topo.hosts["h2"].port == 1
    assert topo.switches["s2"].address == "127.0.0.1:50052"
    assert topo.route("s1", "s2", Metric.LATENCY).cost == 5.0
    assert topo.link_port("s1", "s2") == 2


def test_metrics_choose_different_routes() -> None:
    topo = topology_from_dict(base())
    assert topo.route("s1", "s3", Metric.HOPS).switches == ("s1", "s3")
    assert topo.route("s1", "s3", Metric.LATENCY).switches == ("s1", "s2", "s3")
    assert topo.route("s1", "s3", Metric.BANDWIDTH).switches == ("s1", "s2", "s3")
    assert topo.route("s1", "s3", Metric.BANDWIDTH).cost == 100.0
    # both directions agree (one tree serves both)
    assert topo.route("s3", "s1", Metric.LATENCY).switches == ("s3", "s2", "s1")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t["hosts"]["h1"].update(switch="s9"), "host h1: unknown switch 's9'"),
        (lambda t: t["hosts"]["h1"].update(port=2), "duplicate port s1:2"),
        (lambda t: t["hosts"]["h1"].update(mac="zz"), "bad MAC"),
        (lambda t: t["hosts"]["h1"].update(ip="10.0.1.300/24"), "bad IPv4 address"),
        (lambda t: t["hosts"]["h1"].update(port=600), "port 600 out of range"),
        (lambda t: t["links"].append({"a": "s1:7", "b": "s2:7"}), "parallel links"),
        (lambda t: t["links"].append({"a": "s1:7", "b": "s4:7"}), "unknown switch 's4'"),
        (lambda t: t["links"].append({"a": "s1-x", "b": "s2:7"}), "bad port reference"),
        (lambda t: t["waypoints"]["wp"]["pes"][0].update(kind="gpu"), "unknown kind 'gpu'"),
        (
            lambda t: t["waypoints"]["wp"]["pes"][0].update(kind="in-switch"),
            "in-switch PEs sit on a waypoint without a port",
        ),
        (lambda t: t["waypoints"]["wp"]["pes"][0].update(capacity=0), "capacity must be >= 1"),
        (lambda t: t["waypoints"]["wp"].update(switch="s9"), "waypoint wp: unknown switch 's9'"),
        (lambda t: t["switches"].update(h1={}), "name already used"),
        (lambda t: t.update(extra=1), "unknown top-level key"),
    ],
)
def test_bad_topologies_raise_named_errors(mutate: Any, message: str) -> None:
    raw = base()
    mutate(raw)
    with pytest.raises(TopologyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        topology_from_dict(raw, "topo.yaml")


def test_unreachable_switch() -> None:
    raw = base()
    raw["switches"]["island"] = {}
    topo = topology_from_dict(raw)
    with pytest.raises(TopologyError, match="unreachable"):
        topo.route("s1", "island")


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read"):
        load_topology(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("switches: [\n")
    with pytest.raises(TopologyError, match="not valid YAML"):
        load_topology(bad)
