"""Cell drawings: the layout has every genotype edge with its operation, and it draws without Graphviz."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from randnas.spaces.drawing import cnn_cell_layout, draw_cell, rnn_cell_layout
from randnas.spaces.named import get_genotype


def test_cnn_layout_has_the_eight_edges_and_the_concat():
    genotype = get_genotype("cnn", "DARTS_V2")
    layout = cnn_cell_layout(genotype)
    labelled = [edge for edge in layout.edges if edge[2]]
    assert labelled[0] == ("c_{k-2}", "0", "sep_conv_3x3") and labelled[7] == ("0", "3", "dil_conv_3x3")
    assert len(labelled) == 8 and [e[0] for e in layout.edges if e[1] == "c_{k}"] == ["0", "1", "2", "3"]
    reduce = [edge for edge in cnn_cell_layout(genotype, reduction=True).edges if edge[2]]
    assert [op for _, _, op in reduce] == [op for op, _ in genotype.reduce]


def test_rnn_layout_follows_predecessors_and_activations():
    genotype = get_genotype("rnn", "DARTS_V2")
    layout = rnn_cell_layout(genotype)
    labelled = [edge for edge in layout.edges if edge[2]]
    assert labelled == [(str(pred), str(node), act) for node, (act, pred) in enumerate(genotype.recurrent, 1)]
    assert len(layout.positions) == 2 + 1 + 8 + 1


def test_draw_cell_names_every_op_in_its_legend_with_one_colour_per_op(tmp_path):
    fig, ax = plt.subplots()
    genotype = get_genotype("cnn", "ASHA200")
    draw_cell(cnn_cell_layout(genotype), ax, "ASHA200")
    legend = {
        text.get_text(): line.get_color()
        for text, line in zip(ax.get_legend().get_texts(), ax.get_legend().get_lines(), strict=True)
    }
    assert sorted(legend) == sorted({op for op, _ in genotype.normal})
    assert len(set(legend.values())) == len(legend)  # no two ops share a colour
    fig.savefig(tmp_path / "cell.png")
    assert (tmp_path / "cell.png").stat().st_size > 5_000
    plt.close(fig)


def test_an_op_has_the_same_colour_in_the_normal_and_the_reduction_cell():
    from randnas.spaces.drawing import _op_colours

    genotype = get_genotype("cnn", "DARTS_V2")
    normal, reduce = (_op_colours(cnn_cell_layout(genotype, reduction=r)) for r in (False, True))
    assert normal["skip_connect"] == reduce["skip_connect"]
    assert normal["sep_conv_3x3"] != reduce["max_pool_3x3"]


def test_cell_figure_is_drawn_at_the_column_width_with_the_cells_hash(tmp_path):
    from randnas.spaces.common import cell_hash
    from randnas.spaces.drawing import COLUMN_INCHES, cell_figure

    for space, cells in (("cnn", 2), ("rnn", 1)):
        genotype = get_genotype(space, "DARTS_V2")
        fig = cell_figure(genotype, "DARTS_V2")
        assert fig.get_size_inches()[0] == COLUMN_INCHES and len(fig.axes) == cells
        assert cell_hash(genotype.to_darts()) in fig.axes[0].get_title(loc="left")
        plt.close(fig)
