"""Drawings readable at fat-tree size: legend outside, a colour per path, every path drawn,
arrows for direction, hop numbers (issue 12)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.text import Annotation

import wphw
from wphw.draw import path_colours, plan_figure

EX = Path(__file__).resolve().parent.parent / "examples"


def test_fattree_drawing() -> None:
    topo = wphw.load_topology(EX / "fattree/topology.yaml")
    plan = wphw.compile(wphw.load_policy(EX / "fattree/policy.yaml"), topo)
    fig = plan_figure(plan, topo)
    try:
        ax = fig.axes[0]
        lines = [
            a
            for a in ax.get_children()
            if isinstance(a, Line2D) and (a.get_gid() or "").startswith("path-")
        ]
        assert len(lines) == len(plan.paths) > 20  # every path, not the first 20
        assert len({to_hex(line.get_color()) for line in lines}) == len(plan.paths)
        fig.canvas.draw()
        legend = ax.get_legend()
        assert legend is not None
        assert legend.get_window_extent().x0 >= ax.get_window_extent().x1  # outside the graph
        arrows = [a for a in ax.get_children() if isinstance(a, Annotation)]
        assert len(arrows) >= sum(len(p.switches) - 1 for p in plan.paths) - len(plan.paths)
    finally:
        plt.close(fig)


def test_path_colours_are_distinct() -> None:
    for n in (1, 5, 10, 11, 20, 21, 44, 300):
        assert len({to_hex(c) for c in path_colours(n)}) == n
