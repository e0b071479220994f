"""This project's picks at surrogate fidelity: which rows are gathered, which cells are representable."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from randnas.repro import numpy_generator
from randnas.spaces.cnn import parse_cnn_genotype, sample_none_free_cnn_genotype
from randnas.spaces.named import get_genotype
from randnas.surrogate.picks import PREDICTED, predict_cells, selection_agreement


def test_picked_cells_gathers_trained_cells_asha_picks_and_named_ones():
    from randnas.experiments.surrogate import picked_cells
    from tests.rows import RecordBuilder

    v1, v2 = get_genotype("cnn", "DARTS_V1"), get_genotype("cnn", "DARTS_V2")
    built = RecordBuilder()
    trained = built.train("rsws", [50.0, 37.5], preset="cpu", genotype=v1)
    asha = built.asha(preset="smoke", best=0.9, genotype=v2)
    built.train("rsws", [300.0], benchmark="ptb", preset="cpu", genotype=get_genotype("rnn", "DARTS_V2"))
    picks = picked_cells(built.record(), {"DARTS_V2": v2.to_darts()})
    assert list(picks["kind"]) == ["named cell", "trained", "ASHA pick"]
    assert list(picks["run_id"]) == ["", trained, asha]
    assert picks.loc[1, "own result"] == "test error 37.50 %" and picks.loc[1, "genotype"] == v1.to_darts()


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
    scored = [{"genotype": c.to_darts(), "quick_score": float(t)} for c, t in zip(cells, truth, strict=True)]
    scored.append({"genotype": with_none.to_darts(), "quick_score": 1.0})
    agreement = selection_agreement(scored, surrogate)
    assert (agreement["scored"], agreement["representable"]) == (13, 12)
    assert agreement["kendall_tau"] == pytest.approx(1.0)
    reversed_scores = [{**row, "quick_score": -row["quick_score"]} for row in scored]
    assert selection_agreement(reversed_scores, surrogate)["kendall_tau"] == pytest.approx(-1.0)
