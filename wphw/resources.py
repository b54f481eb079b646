"""Files that ship inside the package (importlib.resources): the compiled P4 program, the
built-in examples and the Verilog sources. Nothing here depends on the current directory or on a source checkout, so
``pip install .`` gives a ``wphw`` that works from any folder.

In the source tree, ``p4/build`` and ``examples`` are links to these folders (``make -C p4``
writes the compiled program here, and the README's commands use ``examples/...``), and
``wphw/data/hdl`` is a link to ``hdl/`` (the wheel gets copies of the files).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from wphw.errors import WphwError

DATA = Path(str(files("wphw") / "data"))
P4_BUILD = DATA / "p4"
P4INFO = P4_BUILD / "wphw.p4info.txtpb"
BMV2_JSON = P4_BUILD / "wphw.json"
EXAMPLES = DATA / "examples"
HDL = DATA / "hdl"
"""The Verilog sources (hdl/ of the source tree): the co-simulated waypoint builds from them."""
HDL_FILELIST = HDL / "wphw.f"
COSIM_TOP = HDL / "wrap" / "wp_cosim_top.v"


def builtin_examples() -> tuple[str, ...]:
    return tuple(sorted(p.name for p in EXAMPLES.iterdir() if (p / "topology.yaml").is_file()))


def example_dir(arg: str | Path) -> Path:
    """An example folder: ``arg`` if it is a folder, else the built-in example of that name."""
    p = Path(arg)
    if p.is_dir():
        return p
    if p.parent == Path(".") and (EXAMPLES / p.name / "topology.yaml").is_file():
        return EXAMPLES / p.name
    names = ", ".join(builtin_examples())
    raise WphwError(f"{arg}: not a folder and not a built-in example ({names})")


def topology_file(folder: Path) -> Path:
    """The topology file of an example folder: topology.yaml, .yml or .json."""
    for name in ("topology.yaml", "topology.yml", "topology.json"):
        if (folder / name).exists():
            return folder / name
    raise WphwError(f"{folder}: no topology.yaml (or .yml, .json) in it")
