"""This project's picks at surrogate fidelity: which rows are gathered, which cells are representable."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from randnas.repro import numpy_generator
from randnas.spaces.cnn import parse_cnn_genotype, sample_none_free_cnn_genotype
from randnas.spaces.named import get_genotype
from randnas.surrogate.picks import PREDICTED, picked_cells, predict_cells, selection_agreement


def test_picked_cells_gathers_trained_cells_asha_picks_and_named_ones():
    v1, v2 = get_genotype("cnn", "DARTS_V1").to_darts(), get_genotype("cnn", "DARTS_V2").to_darts()
    record = pd.DataFrame(
        [
            {
                "experiment": "cnn/train",
                "preset": "cpu",
                "genotype_spec": "rsws",
                "stage": "2",
                "run_name": "a",
                "genotype": v1,
                "metric:test/error": 37.5,
                "run_id": "r1",
            },
            {
                "experiment": "cnn/asha",
                "preset": "smoke",
                "run_name": "asha",
                "genotype": v2,
                "metric:best/valid_acc": 0.9,
                "run_id": "r2",
            },
            {
                "experiment": "cnn/asha",
                "preset": "smoke",
                "run_name": "trial-0",
                "genotype": v1,
                "trial": "0",
                "run_id": "r3",
            },  # a child
            {
                "experiment": "rnn/train",
                "preset": "cpu",
                "run_name": "ptb",
                "genotype": "Genotype(recurrent=...)",
                "run_id": "r4",
            },
        ]
    )
    picks = picked_cells(record, {"DARTS_V2": v2})
    assert list(picks["kind"]) == ["named cell", "trained", "ASHA pick"]
    assert list(picks["run_id"]) == ["", "r1", "r2"]
    assert picks.loc[1, "own result"] == "test error 37.50 %"


def test_predict_cells_says_why_a_cell_has_no_prediction(surrogate):
    with_none = parse_cnn_genotype(get_genotype("cnn", "DARTS_V2").to_darts().replace("'skip_connect'", "'none'", 1))
    assert any(op == "none" for op, _ in with_none.normal + with_none.reduce)
    cells = pd.DataFrame({"genotype": [get_genotype("cnn", "DARTS_V2").to_darts(), with_none.to_darts()]})
    out = predict_cells(cells, surrogate)
    assert out.loc[0, PREDICTED] == pytest.approx(92.91, abs=0.01) and out.loc[0, "not representable because"] == ""
    assert math.isnan(out.loc[1, PREDICTED]) and "`none`" in out.loc[1, "not representable because"]


def test_selection_agreement_counts_and_ranks_representable_cells(surrogate):
    cells = [sample_none_free_cnn_genotype(numpy_generator(5, k)) for k in range(12)]
    truth = surrogate.predict(cells, 98)["val_accuracy"]
    with_none = parse_cnn_genotype(get_genotype("cnn", "DARTS_V2").to_darts().replace("'skip_connect'", "'none'", 1))
    assert any(op == "none" for op, _ in with_none.normal + with_none.reduce)
    # a score that orders cells exactly as the surrogate does: tau = 1 over the 12 representable cells
    scored = [{"genotype": c.to_darts(), "quick_score": float(t)} for c, t in zip(cells, truth)]
    scored.append({"genotype": with_none.to_darts(), "quick_score": 1.0})
    agreement = selection_agreement(scored, surrogate)
    assert (agreement["scored"], agreement["representable"]) == (13, 12)
    assert agreement["kendall_tau"] == pytest.approx(1.0)
    reversed_scores = [{**row, "quick_score": -row["quick_score"]} for row in scored]
    assert selection_agreement(reversed_scores, surrogate)["kendall_tau"] == pytest.approx(-1.0)
