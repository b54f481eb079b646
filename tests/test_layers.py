"""Layers go one way (docs/design.md): no import circle among wphw's modules, at module level
or inside functions, and nothing in wphw imports sim/ or tests/ (issue 13)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "wphw"

# The co-simulated waypoint's bridge, testbench pieces and HDL ship in the package (issue 13):
# nothing in wphw reaches into sim/ or tests/.
ALLOWED_OUTSIDE: set[tuple[str, str]] = set()  # nothing: the package needs no checkout


def _modules() -> dict[str, Path]:
    out = {}
    for f in PKG.rglob("*.py"):
        parts = f.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = f
    return out


def _imports(f: Path) -> set[str]:
    """Every module imported anywhere in ``f`` except under ``if TYPE_CHECKING``, plus names
    given to importlib.import_module as string literals."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for n in nodes:
            if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
                visit(n.orelse)
                continue
            for sub in ast.walk(n):
                if isinstance(sub, ast.Import):
                    found.update(a.name for a in sub.names)
                elif isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                    found.add(sub.module)
                    found.update(f"{sub.module}.{a.name}" for a in sub.names)
                elif (
                    isinstance(sub, ast.Call)
                    and ast.unparse(sub.func).endswith("import_module")
                    and sub.args
                    and isinstance(sub.args[0], ast.Constant)
                ):
                    found.add(str(sub.args[0].value))

    visit(ast.parse(f.read_text()).body)
    return found


def test_no_import_circles() -> None:
    mods = _modules()
    graph = {m: {i for i in _imports(f) if i in mods and i != m} for m, f in mods.items()}
    cycles: list[list[str]] = []

    def dfs(m: str, stack: list[str]) -> None:
        for n in sorted(graph[m]):
            if n in stack:
                cycles.append([*stack[stack.index(n) :], n])
            elif len(stack) < 20:
                dfs(n, [*stack, n])

    for m in sorted(graph):
        dfs(m, [m])
    assert not cycles, [" > ".join(c) for c in cycles[:5]]


def test_nothing_imports_sim_or_tests() -> None:
    bad = []
    for m, f in _modules().items():
        for i in _imports(f):
            if i.split(".")[0] in ("sim", "tests") and (m, i) not in ALLOWED_OUTSIDE:
                bad.append(f"{m} imports {i}")
    assert not bad, bad
