"""Cell drawings: the layout has every genotype edge with its operation, and it draws without Graphviz."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from randnas.report.cells import cnn_cell_layout, draw_cell, rnn_cell_layout
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


def test_draw_cell_puts_every_label_on_the_axis(tmp_path):
    fig, ax = plt.subplots()
    genotype = get_genotype("cnn", "ASHA200")
    draw_cell(cnn_cell_layout(genotype), ax, "ASHA200")
    texts = [t.get_text() for t in ax.texts]
    ops = [
        t for t in texts if t and not t.startswith("$") and not t.isdigit()
    ]  # arrows have no text; nodes are numbers or $c_{k}$
    assert sorted(ops) == sorted(op for op, _ in genotype.normal)
    fig.savefig(tmp_path / "cell.png")
    assert (tmp_path / "cell.png").stat().st_size > 5_000
    plt.close(fig)
