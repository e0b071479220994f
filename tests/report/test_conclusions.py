"""The chapters' conclusions in words: each sentence is filled from the numbers of in-memory runs, says its n,
and changes its words when the numbers cross the line it states (the median cell, uniform weights, zero)."""

from __future__ import annotations

from randnas.report import conclusions
from randnas.spaces.nb201 import parse_nb201_cell
from tests.report.test_nb201 import Bench, cells
from tests.rows import RecordBuilder

SKIPS = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
CONV = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|"


def bench_of(truth: list[float]) -> Bench:
    table = {f"{i:06d}": t for i, t in enumerate(truth)}
    table[parse_nb201_cell(SKIPS).to_index()] = 39.77
    table[parse_nb201_cell(CONV).to_index()] = 85.0
    return Bench(table)


def test_picks_below_the_median_are_said_so_beside_nas_bench_201s_own_rsps():
    truth = [90.0, 80.0, 70.0, 60.0, 95.0, 96.0]
    built = RecordBuilder()
    built.nb201_search(cells([0.1, 0.1, 0.1, 0.9, 0.1, 0.1], truth), seed=0)  # picks 60: below every other
    built.nb201_search(cells([0.1, 0.1, 0.9, 0.1, 0.1, 0.1], truth), seed=1)  # picks 70
    (picks, rsps, tau) = conclusions.nb201_sentences(built.record(), "cpu", bench_of(truth))
    assert "every pick sits below the median cell" in picks and "(n=2, too few for an interval)" in picks
    assert rsps.startswith("NAS-Bench-201's own RSPS lands below the median too (84.16 ± 1.69 %")
    assert "project setting" in picks and "Kendall tau" in tau and "(n=2" in tau
    high = RecordBuilder()
    high.nb201_search(cells([0.1, 0.1, 0.1, 0.1, 0.1, 0.9], truth), seed=0)
    words = conclusions.nb201_sentences(high.record(), "cpu", bench_of(truth))
    assert "every pick sits above the median cell" in words[0] and "at percentile 100 of" in words[0]
    assert not any("RSPS" in sentence for sentence in words)


def test_darts_collapse_is_counted_and_near_uniform_weights_called_arbitrary():
    truth = [90.0, 80.0]
    built = RecordBuilder()
    built.darts(space="nb201", preset="cpu", cells=[CONV, SKIPS], weights={"edges": [[0.21, 0.2, 0.2, 0.2, 0.19]] * 6})
    built.darts(space="nb201", preset="cpu", seed=1, cells=[CONV], weights={"edges": [[0.2] * 5] * 6})
    collapse, weights = conclusions.nb201_sentences(built.record(), "cpu", bench_of(truth))
    assert "1 of 2 searches ended at the all-skip_connect cell (39.77 %)" in collapse
    assert "uniform over 5 ops is 0.200" in weights and "close to arbitrary" in weights
    decided = RecordBuilder()
    decided.darts(space="cnn", preset="cpu", cells=["c"], weights={"normal": [[0.9] + [0.1 / 7] * 7] * 14})
    (words,) = conclusions.darts_weight_sentences(decided.record(), "cpu", "cnn")
    assert "0.900" in words and "uniform over 8 ops is 0.125" in words and "arbitrary" not in words


def test_enas_cells_are_set_beside_nas_bench_201s_own_enas_and_a_near_uniform_controller_said_so():
    import math

    uniform = 6 * math.log(5)  # six edges, five ops each
    built = RecordBuilder()
    built.enas(preset="cpu", seed=0, cell=CONV)
    built.enas(preset="cpu", seed=1, cell=SKIPS)
    built.enas(preset="cpu", seed=1, repeat=2, cell=CONV)  # a same-seed repeat: not another search
    built.histories[(built.runs[0].run_id, "controller/entropy")] = [(1, uniform), (2, uniform - 0.01)]
    built.histories[(built.runs[1].run_id, "controller/entropy")] = [(1, uniform), (2, uniform - 0.02)]
    cells, entropy = conclusions.nb201_sentences(built.record(), "cpu", bench_of([90.0, 80.0]))
    assert cells.startswith("ENAS's derived cells reach 62.39 % (n=2, too few for an interval) on average, at ")
    assert "percentiles 75, 25 of all" in cells and "own ENAS ended at 37.51 ± 3.19 % (percentile 0," in cells
    assert "2 ENAS controller(s) sampled cells of entropy 9.642" in entropy and "uniformly has 9.657" in entropy
    assert "still close to uniform" in entropy
    learned = RecordBuilder()
    learned.enas(preset="cpu", seed=0, cell=CONV)
    learned.histories[(learned.runs[0].run_id, "controller/entropy")] = [(1, uniform), (2, 2.0)]
    (words,) = conclusions.enas_entropy_sentences(learned.record(), "cpu", "nb201")
    assert "entropy 2.000" in words and "close to uniform" not in words


def test_surrogate_sentences_compare_at_one_worker_and_spell_out_the_deadline():
    searches = []
    for seed in range(6):
        for workers in (1, 8):
            random = None if workers == 8 and seed < 4 else 0.90 + 0.001 * seed
            searches.append(
                {
                    "method": "random",
                    "label": "random search",
                    "workers": workers,
                    "gpu_hours": 2.0,
                    "seed": seed,
                    "final_accuracy": random,
                }
            )
            searches.append(
                {
                    "method": "asha",
                    "label": "ASHA eta=3 (R=100)",
                    "workers": workers,
                    "gpu_hours": 2.0,
                    "seed": seed,
                    "final_accuracy": 0.92 + 0.001 * (seed % 2),
                }
            )
    built = RecordBuilder()
    built.surrogate(searches, unit_hours=1.0)
    gap, one, eight, caveat = conclusions.surrogate_sentences(built.record(), "cpu")
    assert gap.startswith("At 2.00 trainings on 1 worker, ASHA minus random search: ASHA eta=3 ")
    assert "(n=6)" in gap and "(ASHA ahead)" in gap
    assert "2.00 trainings on 1 worker(s): 2.0 full trainings each; random search returned a cell in 6 of 6" in one
    assert "less than one full training each" in eight and "returned a cell in 2 of 6 seeds (33%)" in eight
    assert "no training noise" in caveat
    assert conclusions.surrogate_sentences(RecordBuilder().record(), "cpu") == []
