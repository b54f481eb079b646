"""Drawings: the topology with every service path, as PNG or SVG (matplotlib, Agg backend)."""

from __future__ import annotations

import colorsys
import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.figure import Figure

from wphw.errors import PlanError
from wphw.plan import Plan
from wphw.topology import Topology


def draw_plan(plan: Plan, topology: Topology, output: Path) -> None:
    """Switches (squares), hosts (circles), waypoints with their PEs (diamonds), and every
    service path as a polyline of its own colour with arrows in the direction of travel and
    the hop order (1, 2, …) at each PE it visits; the legend sits outside the drawing."""
    if output.suffix.lower() not in (".png", ".svg"):
        raise PlanError(f"{output}: drawings are .png or .svg")
    fig = plan_figure(plan, topology)
    fig.savefig(output, dpi=110, bbox_inches="tight")
    plt.close(fig)


MAX_LEGEND = 40  # legend rows; further paths are drawn and counted in the title


def path_colours(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` colours, all different: tab20 for up to 20, then evenly spaced hues."""
    if n <= 20:
        cmap = plt.get_cmap("tab20" if n > 10 else "tab10")
        return [cmap(i) for i in range(n)]
    out = []
    for i in range(n):  # neighbours in hue alternate in brightness, so they stay apart
        r, g, b = colorsys.hsv_to_rgb(i / n, 0.85, 0.95 if i % 2 else 0.7)
        out.append((r, g, b, 1.0))
    return out


def plan_figure(plan: Plan, topology: Topology) -> Figure:
    g = nx.Graph()
    g.add_nodes_from(topology.switches)
    g.add_edges_from(topology.graph.edges)
    for h in topology.hosts.values():
        g.add_edge(h.name, h.switch)
    for wp in topology.waypoints.values():
        g.add_edge(wp.name, wp.switch)
    pos = nx.spring_layout(g, seed=1, iterations=200 if len(g) <= 200 else 50)
    big = len(topology.switches) > 60
    fig, ax = plt.subplots(figsize=(12, 8) if not big else (18, 12))
    nx.draw_networkx_edges(g, pos, ax=ax, edge_color="#bbbbbb", width=1.0)
    kinds = (
        (list(topology.switches), "s", "#4c72b0", "switch"),
        (list(topology.hosts), "o", "#55a868", "host"),
        (list(topology.waypoints), "D", "#c44e52", "waypoint"),
    )
    for nodes, shape, colour, label in kinds:
        nx.draw_networkx_nodes(
            g,
            pos,
            nodelist=nodes,
            node_shape=shape,
            node_color=colour,
            ax=ax,
            node_size=60 if big else 500,
            label=label,
        )
    if not big:
        labels = {n: n for n in g}
        for wp in topology.waypoints.values():
            labels[wp.name] = f"{wp.name}\n" + ", ".join(wp.pes)
        nx.draw_networkx_labels(g, pos, labels=labels, font_size=8, ax=ax)
    paths = plan.paths
    colours = path_colours(len(paths))
    span = max(
        (max(x for x, _ in pos.values()) - min(x for x, _ in pos.values())) if pos else 1.0, 1e-6
    )
    # parallel paths side by side, the whole bundle at most 4% of the drawing wide
    step = span * min(0.004 if big else 0.008, 0.04 / max(len(paths), 1))
    for i, path in enumerate(paths):
        pc = colours[i]
        offset = (i - len(paths) / 2) * step
        pts = [(pos[sw][0] + offset, pos[sw][1] + offset) for sw in path.switches]
        chain = " > ".join(f"{h.service}@{h.pe}" for h in path.hops)
        label = f"spi {path.spi} {path.subscriber}: {chain} > {path.final}"
        ax.plot(
            [x for x, _ in pts],
            [y for _, y in pts],
            "-",
            color=pc,
            linewidth=1.2 if big else 2.2,
            alpha=0.85,
            label=label if i < MAX_LEGEND else None,
            gid=f"path-{path.spi}",
        )
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            if (x0, y0) == (x1, y1):
                continue
            ax.annotate(
                "",
                xy=(x0 + 0.6 * (x1 - x0), y0 + 0.6 * (y1 - y0)),
                xytext=(x0 + 0.4 * (x1 - x0), y0 + 0.4 * (y1 - y0)),
                arrowprops={"arrowstyle": "-|>", "color": pc, "lw": 1.0, "alpha": 0.9},
            )
        for n, hop in enumerate(path.hops, start=1):
            wp = topology.waypoints[topology.pes[hop.pe].waypoint]
            x0, y0 = pos[hop.switch]
            if wp.port is not None:
                x1, y1 = pos[wp.name]
                ax.plot([x0 + offset, x1 + offset], [y0 + offset, y1 + offset], ":",
                        color=pc, linewidth=1.5)  # fmt: skip
            else:
                x1, y1 = x0, y0
            if not big:
                ax.text(
                    (x0 + 2 * x1) / 3 + offset,
                    (y0 + 2 * y1) / 3 + offset,
                    str(n),
                    fontsize=7,
                    color="white",
                    ha="center",
                    va="center",
                    bbox={"boxstyle": "circle,pad=0.15", "fc": pc, "ec": "none"},
                )
    more = max(0, len(paths) - MAX_LEGEND)
    title = f"{len(paths)} service paths, {plan.entry_count()} entries"
    ax.set_title(title + (f" (legend shows the first {MAX_LEGEND})" if more else ""))
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=7,
        framealpha=0.9,
        markerscale=0.4,
        borderaxespad=0.0,
    )
    ax.axis("off")
    fig.tight_layout()
    return fig
