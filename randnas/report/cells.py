"""Cell drawings (the paper's Figures 2 and 3) in pure matplotlib: no system Graphviz needed.

The layout is computed here (`cnn_cell_layout`, `rnn_cell_layout`: node positions and labelled edges),
so it can be tested without drawing; `draw_cell` puts a layout on a matplotlib axis.
"""

from __future__ import annotations

from dataclasses import dataclass

from randnas.spaces.cnn import CNN_INPUTS, CnnGenotype
from randnas.spaces.rnn import RnnGenotype


@dataclass(frozen=True)
class CellLayout:
    positions: dict[str, tuple[float, float]]
    edges: tuple[tuple[str, str, str], ...]  # (from, to, label); label "" for the plain output edges
    inputs: tuple[str, ...]
    output: str


def cnn_cell_layout(genotype: CnnGenotype, reduction: bool = False) -> CellLayout:
    """Inputs c_{k-2}, c_{k-1} on the left, the four nodes staggered in order, c_{k} on the right."""
    edges_of = genotype.cell(reduction)
    concat = genotype.reduce_concat if reduction else genotype.normal_concat
    names = ["c_{k-2}", "c_{k-1}"] + [str(i) for i in range(len(edges_of) // 2)]
    positions = {"c_{k-2}": (0.0, -1.0), "c_{k-1}": (0.0, 1.0)}
    for node in range(len(edges_of) // 2):
        positions[str(node)] = (2.0 + node * 1.8, (1.6, -1.6, 0.5, -0.5)[node % 4])
    positions["c_{k}"] = (2.0 + (len(edges_of) // 2) * 1.8 + 0.2, 0.0)
    edges = []
    for index, (op, source) in enumerate(edges_of):
        edges.append((names[source], str(index // 2), op))
    for node in concat:
        edges.append((names[node], "c_{k}", ""))
    return CellLayout(positions, tuple(edges), tuple(names[:CNN_INPUTS]), "c_{k}")


def rnn_cell_layout(genotype: RnnGenotype) -> CellLayout:
    """x_t and h_{t-1} feed node 0; each node k = activation(W_k node_pred); h_t = mean of the concat nodes."""
    positions = {"x_{t}": (0.0, 1.0), "h_{t-1}": (0.0, -1.0), "0": (1.2, 0.0)}
    for node in range(1, len(genotype.recurrent) + 1):
        column, row = divmod(node - 1, 3)
        positions[str(node)] = (2.6 + column * 1.5, 1.4 - row * 1.4)
    positions["h_{t}"] = (max(x for x, _ in positions.values()) + 1.5, 0.0)
    edges = [("x_{t}", "0", ""), ("h_{t-1}", "0", "")]
    for node, (activation, predecessor) in enumerate(genotype.recurrent, 1):
        edges.append((str(predecessor), str(node), activation))
    for node in genotype.concat:
        edges.append((str(node), "h_{t}", ""))
    return CellLayout(positions, tuple(edges), ("x_{t}", "h_{t-1}"), "h_{t}")


def draw_cell(layout: CellLayout, ax, title: str = "") -> None:
    """Nodes as labelled circles, edges as arrows with their operation written halfway."""
    for source, target, label in layout.edges:
        (x0, y0), (x1, y1) = layout.positions[source], layout.positions[target]
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "color": "0.35" if label else "0.75",
                "lw": 1.2,
                "shrinkA": 14,
                "shrinkB": 14,
                "connectionstyle": "arc3,rad=0.08",
            },
        )
        if label:
            # 60 % of the way: labels of edges into the same node sit apart, near their target
            ax.text(
                x0 + 0.6 * (x1 - x0),
                y0 + 0.6 * (y1 - y0),
                label,
                fontsize=7,
                ha="center",
                va="center",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
            )
    for name, (x, y) in layout.positions.items():
        color = "#9ecae1" if name in layout.inputs else "#fdd49e" if name == layout.output else "#e5f5e0"
        ax.scatter([x], [y], s=700, color=color, edgecolors="0.3", zorder=3)
        ax.text(x, y, f"${name}$" if "_" in name else name, ha="center", va="center", fontsize=9, zorder=4)
    xs = [x for x, _ in layout.positions.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(-2.2, 2.2)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
