"""The surrogate evaluator: encoding checked against the documented predictions, clear errors, file checks."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from randnas.data import DataError
from randnas.repro import numpy_generator
from randnas.spaces.cnn import CNN_OPS, NONE_FREE_OPS, cnn_genotype, parse_cnn_genotype, sample_none_free_cnn_genotype
from randnas.spaces.common import GenotypeError
from randnas.spaces.named import get_genotype
from randnas.surrogate.nb301 import FEATURES, MISSING, SurrogateError, cell_features, check_epochs, load_nb301_surrogate

# measured values documented in <data root>/yahpo-nb301/README.md
DARTS_V2_DOCUMENTED = {1: 0.6142, 4: 0.6847, 18: 0.8071, 75: 0.9183, 98: 0.9291}


def test_darts_v2_gives_the_documented_predictions(surrogate):
    epochs = list(DARTS_V2_DOCUMENTED)
    prediction = surrogate.predict([get_genotype("cnn", "DARTS_V2")] * len(epochs), epochs)
    assert prediction["val_accuracy"] == pytest.approx(list(DARTS_V2_DOCUMENTED.values()), abs=1e-4)
    # the cumulative runtime grows with the epoch; each epoch's time is positive
    assert np.all(np.diff(prediction["runtime"]) > 0) and np.all(prediction["runtime_increase"] > 0)


def test_one_epoch_for_a_batch_equals_one_query_each(surrogate):
    cells = [sample_none_free_cnn_genotype(numpy_generator(3, k)) for k in range(5)]
    batch = surrogate.predict(cells, 50)["val_accuracy"]
    alone = [surrogate.predict([cell], 50)["val_accuracy"][0] for cell in cells]
    assert np.array_equal(batch, alone)
    assert len(set(batch.round(6))) == 5  # different cells, different predictions: the encoding reaches the model


def test_encoding_of_darts_v2_slots():
    features = cell_features(get_genotype("cnn", "DARTS_V2"))
    assert len(features) == len(FEATURES) == 34
    # DARTS_V2 normal node 2: sep_conv_3x3 from 0 and 1 (slots 0, 1); node 5: skip from 0, dil_conv_3x3 from 2
    # (slots 9, 11)
    assert features["edge_normal_0"] == features["edge_normal_1"] == "sep_conv_3x3"
    assert features["edge_normal_9"] == "skip_connect" and features["edge_normal_11"] == "dil_conv_3x3"
    assert features["edge_normal_10"] == features["edge_normal_12"] == features["edge_normal_13"] == MISSING
    assert features["inputs_node_normal_5"] == "0_2"
    # every cell has exactly 8 active edge slots per cell
    for cell in ("normal", "reduce"):
        assert sum(features[f"edge_{cell}_{slot}"] != MISSING for slot in range(14)) == 8


def test_inputs_are_written_sorted():
    cell = [
        ("sep_conv_3x3", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 2),
        ("skip_connect", 0),
        ("max_pool_3x3", 3),
        ("avg_pool_3x3", 1),
        ("dil_conv_3x3", 4),
        ("dil_conv_5x5", 2),
    ]
    features = cell_features(cnn_genotype(cell, cell))
    # node 3 takes inputs (2, 0) in that order: the category is "0_2", and the op goes to the input's slot
    assert features["inputs_node_normal_3"] == "0_2" and features["inputs_node_reduce_5"] == "2_4"
    assert features["edge_normal_4"] == "sep_conv_3x3" and features["edge_normal_2"] == "skip_connect"
    assert features["edge_normal_13"] == "dil_conv_3x3" and features["edge_normal_11"] == "dil_conv_5x5"


def test_unrepresentable_cells_and_epochs_have_clear_errors():
    with_none = parse_cnn_genotype(get_genotype("cnn", "DARTS_V2").to_darts().replace("'skip_connect'", "'none'", 1))
    with pytest.raises(SurrogateError, match="`none`.*NAS-Bench-301 has no `none` op"):
        cell_features(with_none)
    # two edges of one node from one input cannot even be written as a genotype of this space
    with pytest.raises(GenotypeError, match="both edges come from input 0"):
        parse_cnn_genotype(
            get_genotype("cnn", "DARTS_V2").to_darts().replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', 0)", 1)
        )
    for bad in (0, 99, float("nan"), -3):
        with pytest.raises(SurrogateError, match="outside the surrogate's range 1..98"):
            check_epochs(bad)


def test_missing_or_altered_files_are_named(tmp_path, surrogate):
    with pytest.raises(DataError, match="model_v2.onnx not found"):
        load_nb301_surrogate(tmp_path)
    folder = tmp_path / "yahpo-nb301"
    shutil.copytree(surrogate.folder, folder)
    (folder / "encoding_v2.json").chmod(0o644)
    with open(folder / "encoding_v2.json", "a") as handle:
        handle.write(" ")
    with pytest.raises(DataError, match="encoding_v2.json has sha256 .* expected b16bb8d"):
        load_nb301_surrogate(tmp_path)


def test_none_free_sampler_is_uniform_over_seven_ops():
    from scipy import stats

    rng = numpy_generator(11)
    counts = dict.fromkeys(CNN_OPS, 0)
    for _ in range(700):
        for cell in (g := sample_none_free_cnn_genotype(rng)).normal + g.reduce:
            counts[cell[0]] += 1
    assert counts["none"] == 0
    observed = [counts[op] for op in NONE_FREE_OPS]
    assert stats.chisquare(observed).pvalue > 1e-3
