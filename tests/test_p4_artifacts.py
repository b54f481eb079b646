"""The committed P4 artifacts (p4/build/) against their sources and against docs/dataplane.md.

Runs without p4c: the source hash is recomputed, and every table, match field, action, parameter
and direct extern named in the contract is looked up in the committed P4Info (names, widths,
match kinds) and BMv2 JSON (default actions). The tests marked ``p4c`` recompile with p4c and
check the TNA program with p4test when those tools are there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest
from finsy.proto import p4i as p4info_pb2
from google.protobuf import text_format

REPO = Path(__file__).resolve().parent.parent
P4 = REPO / "p4"
BUILD = P4 / "build"
CONTRACT = REPO / "docs" / "dataplane.md"
PREFIX = "MyIngress."

MATCH_KINDS = {
    "exact": p4info_pb2.MatchField.EXACT,
    "ternary": p4info_pb2.MatchField.TERNARY,
    "lpm": p4info_pb2.MatchField.LPM,
    "range": p4info_pb2.MatchField.RANGE,
}


# -- the contract, parsed from docs/dataplane.md ---------------------------------------------


@dataclass(slots=True, kw_only=True)
class TableSpec:
    name: str
    keys: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # name -> kind, width
    actions: dict[str, dict[str, int]] = field(default_factory=dict)  # name -> param -> width
    default_action: str | None = None
    direct_counter: str | None = None
    direct_meter: str | None = None


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _params(text: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"`?(\w+)`?:\s*(\d+)", text)}


def parse_contract(text: str) -> dict[str, TableSpec]:
    tables: dict[str, TableSpec] = {}
    sections = re.split(r"^### ", text, flags=re.M)[1:]
    for section in sections:
        title, _, body = section.partition("\n")
        body = body.split("\n## ")[0]
        named = re.match(r"`(\w+)`", title)
        if named:
            spec = TableSpec(name=named.group(1))
            if m := re.search(r"direct counter `(\w+)`", title):
                spec.direct_counter = m.group(1)
            mode = ""
            for line in body.splitlines():
                if not line.startswith("|") or set(line) <= set("|- "):
                    continue
                cells = _cells(line)
                if cells[0] in ("match field", "action"):
                    mode = cells[0]
                    continue
                name = cells[0].strip("`")
                if mode == "match field":
                    spec.keys[name] = (cells[1], int(cells[2]))
                elif mode == "action":
                    spec.actions[name] = {} if cells[1] == "—" else _params(cells[1])
                    if "default action" in cells[2]:
                        spec.default_action = name
            tables[spec.name] = spec
        elif title.startswith("In-switch services"):
            first = re.findall(r"`(\w+)`", title.split("keyed first on", 1)[1])
            for line in body.splitlines():
                cells = _cells(line) if line.startswith("|") else []
                if len(cells) != 3 or not cells[0].startswith("`"):
                    continue
                spec = TableSpec(name=cells[0].strip("`"))
                for key in first:
                    spec.keys[key] = ("exact", None)
                for m in re.finditer(r"`(\w+)` (exact|ternary|lpm|range)", cells[1]):
                    spec.keys[m.group(1)] = (m.group(2), None)
                for m in re.finditer(r"`(\w+)\(([^)]*)\)`", cells[2]):
                    spec.actions[m.group(1)] = _params(m.group(2))
                if m := re.search(r"direct counter `(\w+)`", cells[2]):
                    spec.direct_counter = m.group(1)
                if m := re.search(r"direct meter `(\w+)`", cells[2]):
                    spec.direct_meter = m.group(1)
                tables[spec.name] = spec
    # widths the services table leaves out are the widths the same field has elsewhere
    widths: dict[str, int] = {}
    for spec in tables.values():
        for key, (_, width) in spec.keys.items():
            if width is not None:
                widths.setdefault(key, width)
    for spec in tables.values():
        for key, (kind, width) in list(spec.keys.items()):
            spec.keys[key] = (kind, width if width is not None else widths[key])
    return tables


@pytest.fixture(scope="module")
def contract() -> dict[str, TableSpec]:
    tables = parse_contract(CONTRACT.read_text())
    # guard against a parser that silently finds nothing
    assert {"wp_classify", "wp_sff", "wp_proxy_return", "ipv4_lpm", "wp_fw", "wp_nat"} <= set(
        tables
    ), f"docs/dataplane.md parsed to {sorted(tables)}"
    return tables


def test_contract_parser_reads_what_the_doc_says(contract: dict[str, TableSpec]) -> None:
    assert contract["wp_classify"].keys["l4_dst_port"] == ("range", 16)
    assert contract["wp_classify"].actions["start_chain"] == {"spi": 24, "paths": 8}
    assert contract["wp_classify"].default_action == "route"
    assert contract["wp_sff"].actions["sff_proxy"] == {"port": 9, "vlan": 12}
    assert contract["wp_nat"].keys == {
        "spi": ("exact", 24),
        "si": ("exact", 8),
        "ipv4_src": ("ternary", 32),
        "ipv4_dst": ("ternary", 32),
    }
    assert contract["wp_nat"].actions["nat_snat"] == {"addr": 32}
    assert contract["wp_ratelimit"].direct_meter == "wp_ratelimit_meter"
    assert contract["wp_count"].direct_counter == "wp_count_counter"


# -- the committed artifacts -------------------------------------------------------------------


def _load_source_hash() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wphw_p4_source_hash", P4 / "source_hash.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _p4info(name: str) -> p4info_pb2.P4Info:
    info = p4info_pb2.P4Info()
    text_format.Parse((BUILD / f"{name}.p4info.txtpb").read_text(), info)
    return info


@pytest.fixture(scope="module")
def p4info() -> p4info_pb2.P4Info:
    return _p4info("wphw")


def test_artifacts_present() -> None:
    for name in ("wphw", "basic_forward"):
        assert (BUILD / f"{name}.json").is_file(), f"p4/build/{name}.json missing"
        assert (BUILD / f"{name}.p4info.txtpb").is_file(), f"p4/build/{name}.p4info.txtpb missing"
    assert (BUILD / "SOURCE_HASH").is_file()


def test_source_hash_is_current() -> None:
    module = _load_source_hash()
    files = [p.relative_to(P4).as_posix() for p in module.source_files()]
    assert "v1model/wphw.p4" in files and "include/wp_sff.p4" in files
    committed = (BUILD / "SOURCE_HASH").read_text().strip()
    assert committed == module.source_hash(), (
        "p4/build/ is stale: the P4 sources changed since the artifacts were compiled; "
        "run `make -C p4` (needs p4c, see docs/p4.md) and commit p4/build/"
    )


def test_every_contract_table_is_in_p4info(
    contract: dict[str, TableSpec], p4info: p4info_pb2.P4Info
) -> None:
    tables = {t.preamble.name: t for t in p4info.tables}
    actions = {a.preamble.id: a for a in p4info.actions}
    for spec in contract.values():
        full = PREFIX + spec.name
        assert full in tables, f"table {full} not in P4Info (have {sorted(tables)})"
        table = tables[full]
        keys = {mf.name: mf for mf in table.match_fields}
        assert set(keys) == set(spec.keys), f"{spec.name}: match fields {sorted(keys)}"
        for key, (kind, width) in spec.keys.items():
            assert keys[key].match_type == MATCH_KINDS[kind], f"{spec.name}.{key} match kind"
            assert keys[key].bitwidth == width, f"{spec.name}.{key} width"
        table_actions = {
            actions[ref.id].preamble.name: (actions[ref.id], ref) for ref in table.action_refs
        }
        for name, params in spec.actions.items():
            assert PREFIX + name in table_actions, f"{spec.name} lacks action {name}"
            action, ref = table_actions[PREFIX + name]
            assert ref.scope != p4info_pb2.ActionRef.DEFAULT_ONLY, f"{name} is default-only"
            assert {p.name: p.bitwidth for p in action.params} == params, f"{name} params"
        extra = {n for n in table_actions if n != "NoAction"} - {PREFIX + a for a in spec.actions}
        assert not extra, f"{spec.name} has actions the contract does not name: {extra}"


def test_short_names_resolve_unambiguously(
    contract: dict[str, TableSpec], p4info: p4info_pb2.P4Info
) -> None:
    names = [t.preamble.name for t in p4info.tables]
    names += [a.preamble.name for a in p4info.actions]
    names += [c.preamble.name for c in p4info.direct_counters]
    names += [m.preamble.name for m in p4info.direct_meters]
    short = set(contract)
    for spec in contract.values():
        short |= set(spec.actions)
        short |= {x for x in (spec.direct_counter, spec.direct_meter) if x}
    for name in short:
        hits = [n for n in names if n == name or n.endswith("." + name)]
        assert hits == [PREFIX + name], f"{name} resolves to {hits}"


def test_direct_counters_and_meters(
    contract: dict[str, TableSpec], p4info: p4info_pb2.P4Info
) -> None:
    table_ids = {t.preamble.id: t.preamble.name for t in p4info.tables}
    counters = {c.preamble.name: c for c in p4info.direct_counters}
    meters = {m.preamble.name: m for m in p4info.direct_meters}
    expected_counters = {s.direct_counter: s.name for s in contract.values() if s.direct_counter}
    expected_meters = {s.direct_meter: s.name for s in contract.values() if s.direct_meter}
    assert set(expected_counters) >= {"wp_classify_counter", "wp_sff_counter", "wp_count_counter"}
    for name, table in expected_counters.items():
        counter = counters[PREFIX + name]
        assert table_ids[counter.direct_table_id] == PREFIX + table
        assert counter.spec.unit == p4info_pb2.CounterSpec.BOTH
    for name, table in expected_meters.items():
        meter = meters[PREFIX + name]
        assert table_ids[meter.direct_table_id] == PREFIX + table


def test_default_actions_in_bmv2_json(contract: dict[str, TableSpec]) -> None:
    program = json.loads((BUILD / "wphw.json").read_text())
    bmv2_tables = {t["name"]: t for pipeline in program["pipelines"] for t in pipeline["tables"]}
    action_names = {a["id"]: a["name"] for a in program["actions"]}
    for spec in contract.values():
        table = bmv2_tables[PREFIX + spec.name]
        default = action_names[table["default_entry"]["action_id"]]
        expected = PREFIX + spec.default_action if spec.default_action else "NoAction"
        assert default == expected, f"{spec.name} default action {default}"


def test_baseline_program_has_the_same_routing_table() -> None:
    wphw = {t.preamble.name: t for t in _p4info("wphw").tables}
    basic = {t.preamble.name: t for t in _p4info("basic_forward").tables}
    for info in (wphw, basic):
        keys = [(mf.name, mf.bitwidth) for mf in info["MyIngress.ipv4_lpm"].match_fields]
        assert keys == [("ipv4_dst", 32)]


# -- with the compilers (marker p4c) -----------------------------------------------------------


def _tool(env: str, name: str) -> str | None:
    explicit = os.environ.get(env)
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return shutil.which(name)


def _p4test() -> str | None:
    p4c = _tool("WPHW_P4C", "p4c")
    if p4c:
        sibling = Path(p4c).with_name("p4test")
        if sibling.is_file():
            return str(sibling)
    return shutil.which("p4test")


@pytest.mark.p4c
def test_tna_program_passes_p4test() -> None:
    p4test = _p4test()
    if p4test is None:
        pytest.skip("p4test not found: build p4c (see docs/p4.md) or put it on PATH / set WPHW_P4C")
    include = os.environ.get("P4C_TNA_INCLUDE")
    if not include or not (Path(include) / "tna.p4").is_file():
        pytest.skip(
            "Tofino includes not found: set P4C_TNA_INCLUDE to p4c's "
            "backends/tofino/bf-p4c/p4include (source /opt/p4/env.sh)"
        )
    proc = subprocess.run(
        [p4test, "-I", include, "-D__TARGET_TOFINO__=1", str(P4 / "tna" / "wphw.p4")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr.lower(), proc.stderr


@pytest.mark.p4c
def test_v1model_recompiles_to_the_committed_p4info(tmp_path: Path) -> None:
    p4c = _tool("WPHW_P4C", "p4c")
    if p4c is None:
        pytest.skip("p4c not found: build p4c (see docs/p4.md) or put it on PATH / set WPHW_P4C")
    out = tmp_path / "wphw.p4info.txtpb"
    proc = subprocess.run(
        [
            p4c,
            "--target",
            "bmv2",
            "--arch",
            "v1model",
            "--std",
            "p4-16",
            "-o",
            str(tmp_path),
            "--p4runtime-files",
            str(out),
            str(P4 / "v1model" / "wphw.p4"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    fresh = p4info_pb2.P4Info()
    text_format.Parse(out.read_text(), fresh)
    committed = _p4info("wphw")
    fresh.pkg_info.Clear()
    committed.pkg_info.Clear()
    assert fresh == committed, "recompiled P4Info differs from p4/build/: run `make -C p4`"
