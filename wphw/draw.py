"""Drawings: the topology with every service path, as PNG or SVG (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx

from wphw.errors import PlanError
from wphw.plan import Plan
from wphw.topology import Topology


def draw_plan(plan: Plan, topology: Topology, output: Path) -> None:
    """Switches (squares), hosts (circles), waypoints with their PEs (diamonds), and each
    service path as a coloured polyline through the switches it visits."""
    if output.suffix.lower() not in (".png", ".svg"):
        raise PlanError(f"{output}: drawings are .png or .svg")
    g = nx.Graph()
    g.add_nodes_from(topology.switches)
    g.add_edges_from(topology.graph.edges)
    for h in topology.hosts.values():
        g.add_edge(h.name, h.switch)
    for wp in topology.waypoints.values():
        g.add_edge(wp.name, wp.switch)
    pos = nx.spring_layout(g, seed=1, iterations=200 if len(g) <= 200 else 50)
    big = len(topology.switches) > 60
    fig, ax = plt.subplots(figsize=(12, 8) if not big else (16, 12))
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
    cmap = plt.get_cmap("tab10")
    shown = plan.paths[:20]
    for i, path in enumerate(shown):
        offset = (i - len(shown) / 2) * 0.008
        xs, ys = [], []
        for sw in path.switches:
            x, y = pos[sw]
            xs.append(x + offset)
            ys.append(y + offset)
        chain = " > ".join(f"{h.service}@{h.pe}" for h in path.hops)
        ax.plot(
            xs,
            ys,
            "-",
            color=cmap(i % 10),
            linewidth=2.5,
            alpha=0.8,
            label=f"spi {path.spi} {path.subscriber}: {chain} > {path.final}",
        )
        for hop in path.hops:
            wp = topology.waypoints[topology.pes[hop.pe].waypoint]
            if wp.port is not None:
                (x0, y0), (x1, y1) = pos[hop.switch], pos[wp.name]
                ax.plot(
                    [x0 + offset, x1 + offset],
                    [y0 + offset, y1 + offset],
                    ":",
                    color=cmap(i % 10),
                    linewidth=2,
                )
    more = len(plan.paths) - len(shown)
    title = f"{len(plan.paths)} service paths, {plan.entry_count()} entries"
    ax.set_title(title + (f" ({more} paths not drawn)" if more else ""))
    ax.legend(loc="upper left", fontsize=7, framealpha=0.9, markerscale=0.4)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)
