"""Cell drawings (the paper's Figures 2 and 3, a run page's cell) in pure matplotlib: no system Graphviz needed.

The layout is computed here (`cnn_cell_layout`, `rnn_cell_layout`: node positions and labelled edges),
so it can be tested without drawing; `draw_cell` puts a layout on a matplotlib axis.
"""

from __future__ import annotations

from dataclasses import dataclass

from randnas.spaces.cnn import CNN_INPUTS, CNN_OPS, CnnGenotype
from randnas.spaces.common import cell_hash
from randnas.spaces.rnn import RNN_SEARCH_OPS, RnnGenotype

# the book's content column is 772 px wide: a figure of 7.7 in at 100 dpi shows at its native size, labels as drawn
COLUMN_INCHES = 7.7
CELL_DPI = 100


@dataclass(frozen=True)
class CellLayout:
    positions: dict[str, tuple[float, float]]
    edges: tuple[tuple[str, str, str], ...]  # (from, to, label); label "" for the plain output edges
    inputs: tuple[str, ...]
    output: str
    ops: tuple[str, ...] = ()  # the space's operations: an op has the same colour in every drawing of the space


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
    return CellLayout(positions, tuple(edges), tuple(names[:CNN_INPUTS]), "c_{k}", CNN_OPS)


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
    return CellLayout(positions, tuple(edges), ("x_{t}", "h_{t-1}"), "h_{t}", RNN_SEARCH_OPS)


def _op_colours(layout: CellLayout) -> dict[str, tuple[float, float, float]]:
    """The colour of each operation the cell uses: its place in the space's op list picks it from tab10 (room for
    every op of a space: 8 in the CNN space, 5 in the recurrent one), so two drawings colour an op alike."""
    import matplotlib

    palette = matplotlib.colormaps["tab10"].colors
    order = list(layout.ops) + sorted({label for _, _, label in layout.edges if label} - set(layout.ops))
    used = {label for _, _, label in layout.edges if label}
    return {op: palette[index % len(palette)] for index, op in enumerate(order) if op in used}


def draw_cell(layout: CellLayout, ax, title: str = "") -> None:
    """Nodes as labelled circles, edges as arrows coloured by their operation, named in a legend beside the cell:
    labels written on the edges overlap where edges cross, a legend never does."""
    from matplotlib.lines import Line2D

    colours = _op_colours(layout)
    for source, target, label in layout.edges:
        (x0, y0), (x1, y1) = layout.positions[source], layout.positions[target]
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "color": colours[label] if label else "0.8",
                "lw": 2.0 if label else 1.0,
                "shrinkA": 13,
                "shrinkB": 13,
                "connectionstyle": "arc3,rad=0.12",
            },
        )
    for name, (x, y) in layout.positions.items():
        color = "#9ecae1" if name in layout.inputs else "#fdd49e" if name == layout.output else "#e5f5e0"
        ax.scatter([x], [y], s=650, color=color, edgecolors="0.3", zorder=3)
        ax.text(x, y, f"${name}$" if "_" in name else name, ha="center", va="center", fontsize=10, zorder=4)
    xs = [x for x, _ in layout.positions.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(-2.2, 2.2)
    ax.set_axis_off()
    handles = [Line2D([], [], color=colour, lw=2.5, label=op) for op, colour in colours.items()]
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=9)
    if title:
        ax.set_title(title, fontsize=11, loc="left")


def cell_figure(genotype: CnnGenotype | RnnGenotype, title: str):
    """A cell as the book and the run pages draw it: a CNN genotype's normal cell above its reduction cell, a
    recurrent cell alone, at the column's width so nothing is scaled down; each titled with the cell's hash (the
    tables' short name of it)."""
    import matplotlib.pyplot as plt

    short = cell_hash(genotype.to_darts())
    if isinstance(genotype, CnnGenotype):
        figure, axes = plt.subplots(2, 1, figsize=(COLUMN_INCHES, 5.6), dpi=CELL_DPI)
        draw_cell(cnn_cell_layout(genotype), axes[0], f"{title}: normal cell ({short})")
        draw_cell(cnn_cell_layout(genotype, reduction=True), axes[1], "reduction cell")
    else:
        figure, ax = plt.subplots(figsize=(COLUMN_INCHES, 3.4), dpi=CELL_DPI)
        draw_cell(rnn_cell_layout(genotype), ax, f"{title}: recurrent cell ({short})")
    figure.tight_layout()
    return figure
