"""One round trip per kind of experiment: what its writer logs into a store, its reader gives back as the row a
table would read (and the rows of different kinds never mix)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from randnas.experiments import asha, darts, datasets, enas, nb201, ranking, rsws, surrogate, train
from randnas.experiments.base import Run
from randnas.experiments.catalog import load_record
from randnas.search.cnn import cnn_setting
from randnas.search.darts import darts_cnn_setting
from randnas.search.nb201 import SCORES_KEY, Nb201SearchConfig
from randnas.search.rnn import rnn_setting
from randnas.spaces import GenotypeError
from randnas.spaces.named import get_genotype
from randnas.spaces.nb201 import parse_nb201_cell
from randnas.train.cnn import CnnTrainConfig
from randnas.train.ptb import PtbTrainConfig

DIGITS = SimpleNamespace(name="digits", label="digits (toy)", checksum="0" * 64)
COMMON = {"preset": "smoke", "device": "CPU (2 threads)"}


def only(kind, store):
    record = load_record(store)
    runs = record.of(kind)
    assert len(runs) == 1 and len(record) == 1
    return record, runs[0]


def fields_of(run: Run, names: str) -> dict:
    return {name: getattr(run, name) for name in names.split()}


def test_a_training_reads_back_as_its_row(store):
    config = CnnTrainConfig(epochs=2, channels=8, layers=5)
    pick = train.training_pick(None, "cnn", "DARTS_V2", preset="smoke", stage=2, seed=3)
    with train.open_run(
        "cnn", pick, config, DIGITS, seed=3, repeat=1, plan_key="default/cnn-x/smoke/seed-3@ab", **COMMON
    ) as run:
        run.epoch(1, {"test/acc": 0.5, "train/loss": 1.0})
        run.epoch(2, {"test/acc": 0.6, "train/loss": 0.8})
        run.finish(SimpleNamespace(error=40.0, parameters=1.5e6, weights_digest="ab" * 32), config.epochs)
    record, row = only(train.TrainRow, store)
    assert fields_of(row, "benchmark stage genotype_spec search_seed search_run value test_error params_millions") == {
        "benchmark": "cnn",
        "stage": 2,
        "genotype_spec": "DARTS_V2",
        "search_seed": None,
        "search_run": 1,
        "value": 40.0,
        "test_error": 40.0,
        "params_millions": 1.5,
    }
    assert (row.seed, row.repeat, row.epochs, row.digest, row.preset, row.device) == (
        3,
        1,
        2,
        "ab" * 32,
        "smoke",
        "CPU (2 threads)",
    )
    assert row.job == "default/cnn-x/smoke/seed-3" and row.genotype == get_genotype("cnn", "DARTS_V2").to_darts()
    assert train.curve(record, row) == pytest.approx({1: 50.0, 2: 40.0})
    assert train.genotype_of(record, "cnn", row) == get_genotype("cnn", "DARTS_V2")


def test_a_brief_training_scored_on_held_out_data_reads_back_as_validation_error(store):
    config = CnnTrainConfig(epochs=1, channels=8, layers=5)
    pick = train.training_pick(None, "cnn", "random", preset="smoke", stage=2, seed=0, search_seed=2, objective="valid")
    key = "default/cnn-random-baseline/smoke/search_seed-2@ab"
    with train.open_run("cnn", pick, config, DIGITS, seed=0, repeat=1, plan_key=key, **COMMON) as run:
        run.epoch(1, {"search-valid/acc": 0.75})
        run.finish(SimpleNamespace(error=25.0, parameters=1.5e6, weights_digest="cd" * 32), config.epochs)
    record, row = only(train.TrainRow, store)
    assert (row.objective, row.value, row.valid_error, row.genotype_spec, row.search_seed) == (
        "valid",
        25.0,
        25.0,
        "random",
        2,
    )
    assert row.test_error != row.test_error  # nan: this training never saw the test set
    assert train.curve(record, row) == pytest.approx({1: 25.0})
    assert train.selected_by(row).startswith("stage-2 validation error")


def test_a_stage3_ptb_training_reads_back_with_its_selection(store):
    config = PtbTrainConfig(epochs=2, hidden=16)
    tags = {"randnas.search_seeds": "0,1", "randnas.search_run": "2", "randnas.selected_by": "x"}
    pick = train.TrainingPick(
        get_genotype("rnn", "DARTS_V2"),
        "p" * 32,
        {
            "randnas.genotype_spec": "best-rsws",
            "randnas.stage": "3",
            "randnas.search_seed": "1",
            "randnas.search_setting": "random4",
            **tags,
        },
        "stage3",
        "",
    )
    with train.open_run("ptb", pick, config, DIGITS, seed=0, repeat=2, plan_key="", **COMMON) as run:
        run.epoch(1, {"valid/ppl": 300.0})
        run.finish(
            SimpleNamespace(
                best_valid_ppl=290.0, test_ppl=280.0, parameters=2e6, switched_at=0, weights_digest="cd" * 32
            ),
            config.epochs,
        )
    record = load_record(store, hand_runs=True)
    (row,) = record.of(train.TrainRow)
    assert fields_of(row, "benchmark stage search_setting search_seed search_run search_seeds value test_ppl") == {
        "benchmark": "ptb",
        "stage": 3,
        "search_setting": "random4",
        "search_seed": 1,
        "search_run": 2,
        "search_seeds": (0, 1),
        "value": 290.0,
        "test_ppl": 280.0,
    }
    assert row.repeat == 2 and train.curve(record, row) == {1: 300.0}
    assert load_record(store).runs == ()  # a hand run: out of the book until adopted


@pytest.mark.parametrize("space", ["cnn", "rnn"])
def test_a_search_reads_back_with_its_settings_and_scored_cells(store, space):
    config = cnn_setting("random1", epochs=2, channels=4) if space == "cnn" else rnn_setting("random1", epochs=2)
    cell = get_genotype(space, "DARTS_V2")
    scored = [{"genotype": cell.to_darts(), "quick_score": 0.5, "round": 0, "index": 0, "full_score": 0.6}]
    with rsws.open_run(
        space, "random1", config, DIGITS, seed=1, repeat=1, plan_key="p/rsws/smoke/seed-1@1", **COMMON
    ) as run:
        run.epoch(1, {"train/loss": 1.0})
        run.finish(SimpleNamespace(best=cell, scored=scored, best_score=0.6 if space == "cnn" else -250.0), "ef" * 32)
    record, row = only(rsws.SearchRow, store)
    assert (row.space, row.setting, row.mode, row.seed, row.digest, row.genotype) == (
        space,
        "random1",
        "single",
        1,
        "ef" * 32,
        cell.to_darts(),
    )
    assert (row.epochs, row.grad_clip, row.archs_scored, row.best_score) == (
        2,
        5.0 if space == "cnn" else 0.25,
        1,
        0.6 if space == "cnn" else -250.0,
    )
    assert rsws.scores(record, row) == scored and rsws.pick_run(record, space, "smoke", "random1", 1) == row


@pytest.mark.parametrize("space", ["cnn", "nb201"])
def test_a_darts_search_reads_back_with_its_cell_per_epoch(store, space):
    from randnas.search.darts import darts_nb201_setting

    config = (
        darts_cnn_setting("darts-first", epochs=2) if space == "cnn" else darts_nb201_setting("darts-first", epochs=2)
    )
    cells = (
        [get_genotype("cnn", n).to_darts() for n in ("DARTS_V1", "DARTS_V2")]
        if space == "cnn"
        else [
            "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        ]
    )
    bench = SimpleNamespace(
        name="nb201", label="NB201", checksum="1" * 64, lookup=lambda index: {"accuracy": 80.0, "percentile": 40.0}
    )
    search = SimpleNamespace(genotypes=[], alphas=[])
    with darts.open_run(
        space, "darts-first", config, [DIGITS], seed=0, repeat=1, plan_key="p/d/smoke/s@1", **COMMON
    ) as run:
        log = run.epoch_logger(search, bench if space == "nb201" else None)
        for epoch, cell in enumerate(cells, 1):
            search.genotypes.append(cell)
            search.alphas.append({"normal": [[0.5]]})
            log(epoch, {"train/loss": 1.0 / epoch})
        final = get_genotype("cnn", "DARTS_V2") if space == "cnn" else parse_nb201_cell(cells[-1])
        run.finish(
            SimpleNamespace(genotype=final, genotypes=cells, architecture_digest="aa" * 32, weights_digest="bb" * 32)
        )
    record, row = only(darts.DartsRow, store)
    assert (row.space, row.setting, row.order, row.digest, row.weights_digest) == (
        space,
        "darts-first",
        "first",
        "aa" * 32,
        "bb" * 32,
    )
    assert darts.cells(record, row) == cells and darts.pick_run(record, space, "smoke", "darts-first", 0) == row
    assert row.genotype == final.to_darts()
    if space == "nb201":
        assert record.reader.history(row.run_id, "cell/true_accuracy") == [(1, 80.0), (2, 80.0)]


@pytest.mark.parametrize("space", ["cnn", "rnn", "nb201"])
def test_an_enas_search_reads_back_and_its_cell_is_the_stage2_pick(store, space):
    from randnas.search.enas_search import enas_setting

    config = enas_setting(space, {"epochs": 2})
    final = {
        "cnn": get_genotype("cnn", "DARTS_V2"),
        "rnn": get_genotype("rnn", "DARTS_V2"),
        "nb201": parse_nb201_cell("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
    }[space]
    cells = [final.to_darts(), final.to_darts()]
    bench = SimpleNamespace(
        name="nb201", label="NB201", checksum="1" * 64, lookup=lambda index: {"accuracy": 80.0, "percentile": 40.0}
    )
    search = SimpleNamespace(genotypes=cells, op_counts=[{"a": 1}, {"a": 2}])
    with enas.open_run(space, config, [DIGITS], seed=2, repeat=1, plan_key="p/e/smoke/s@1", **COMMON) as run:
        log = run.epoch_logger(search, bench if space == "nb201" else None)
        for epoch in (1, 2):
            log(epoch, {"controller/reward": 0.5 * epoch})
        result = SimpleNamespace(
            genotype=final,
            genotypes=cells,
            derived=[(final.to_darts(), 0.75)],
            score=0.75,
            controller_digest="cc" * 32,
            weights_digest="dd" * 32,
        )
        run.finish(result)
    record, row = only(enas.EnasRow, store)
    assert (row.space, row.setting, row.seed, row.digest, row.weights_digest, row.derive_score) == (
        space,
        "enas",
        2,
        "cc" * 32,
        "dd" * 32,
        0.75,
    )
    assert row.genotype == final.to_darts() and enas.pick_run(record, space, "smoke", 2) == row
    assert [epoch["sampled_ops"] for epoch in enas.epochs_of(record, row)] == [{"a": 1}, {"a": 2}]
    assert record.reader.history(row.run_id, "controller/reward") == [(1, 0.5), (2, 1.0)]
    if space != "nb201":
        pick = train.training_pick(
            record, space, "enas", preset="smoke", stage=2, seed=0, search_setting="enas", search_seed=2
        )
        assert pick.genotype == final and pick.tags[train.TAG_PARENT] == row.run_id
    with pytest.raises(GenotypeError, match="no FINISHED .*/enas run with preset 'smoke' and seed 3"):
        enas.pick_run(record, space, "smoke", 3)


def test_an_asha_search_reads_back_as_its_parent_row_with_its_event_log(store, tmp_path):
    from randnas.search.asha.executors import Event
    from randnas.search.asha.search import EVENTS_FILE, AshaConfig

    config = AshaConfig(benchmark="cnn", R=9, eta=3, max_trials=2, train={"channels": 4})
    events = [
        Event(time=1.0, worker=0, trial=0, rung=0, resource=1, value=0.5, metrics=[{"test/acc": 0.5}]),
        Event(time=2.0, worker=0, trial=1, rung=0, resource=1, value=0.7, metrics=[{"test/acc": 0.7}]),
    ]
    (tmp_path / EVENTS_FILE).write_text("".join(json.dumps(asdict(e)) + "\n" for e in events))
    cell = get_genotype("cnn", "ASHA200")
    result = SimpleNamespace(
        events=events,
        rungs=[{"rung": 0}],
        promotions=[],
        genotype=cell,
        best_value=0.7,
        trials=2,
        epochs=2,
        best_trial=1,
        best_rung=0,
        digest=lambda: "dd" * 32,
    )
    trials = SimpleNamespace(genotype=lambda trial: cell)
    with asha.open_run(config, DIGITS, seed=0, repeat=1, plan_key="p/asha/smoke/seed-0@1", **COMMON) as run:
        run.finish(result, trials, tmp_path)
    record, row = only(asha.AshaRow, store)  # the trials' child runs are no rows of the book
    assert fields_of(row, "benchmark objective cost_model trials jobs promotions epochs_trained best best_trial") == {
        "benchmark": "cnn",
        "objective": "valid",
        "cost_model": "flops",
        "trials": 2,
        "jobs": 2,
        "promotions": 0,
        "epochs_trained": 2,
        "best": 0.7,
        "best_trial": 1,
    }
    assert row.digest == "dd" * 32 and [e["trial"] for e in asha.events(record, row)] == [0, 1]
    assert asha.pick_run(record, "cnn", "smoke", 0) == row


def test_an_nb201_search_reads_back_with_every_scored_cell(store):
    config = Nb201SearchConfig(epochs=2, channels=4, cells_per_stage=1, scored_cells=2, score_epochs=(1,))
    cells = [
        parse_nb201_cell("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
        parse_nb201_cell("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
    ]
    bench = SimpleNamespace(
        name="nb201",
        label="NB201",
        checksum="1" * 64,
        lookup=lambda index: {"accuracy": 10.0 + int(index[0]), "percentile": 5.0},
    )
    result = SimpleNamespace(
        cells=cells, scores={1: [0.1, 0.2], 2: [0.3, 0.1]}, pick=cells[0], score=0.3, weights_digest="ee" * 32
    )
    with nb201.open_search_run(config, DIGITS, bench, seed=0, repeat=1, plan_key="p/n/smoke/seed-0@1", **COMMON) as run:
        run.epoch(1, {"train/loss": 1.0, SCORES_KEY: [0.1, 0.2]})
        scored, pick = run.finish(result, bench)
    record, row = only(nb201.Nb201SearchRow, store)
    assert (row.mode, row.batch_size, row.scored_cells, row.score_epochs, row.score_minibatches) == (
        "single",
        64,
        2,
        (1, 2),
        0,
    )
    assert nb201.scored(record, row) == scored.to_dict(orient="records") and pick["accuracy"] == 11.0
    assert record.reader.history(row.run_id, SCORES_KEY) == []  # the cells' scores go to the artifact, not a metric


def test_best_of_n_ranking_surrogate_and_datasets_runs_read_back_as_their_rows(store, tmp_path):
    bench = SimpleNamespace(name="nb201", label="NB201", checksum="1" * 64)
    summary = pd.DataFrame(
        {
            "N": [1, 5],
            "mean": [80.0, 85.0],
            "std": [1.0, 0.5],
            "p5": [78, 84],
            "p95": [82, 86],
            "gap_to_optimum": [11.0, 6.0],
        }
    )
    with nb201.open_best_of_n_run(bench, [1, 5], 100, seed=0, preset="smoke", plan_key="p/b/smoke/d@1") as run:
        run.finish(summary)
    with ranking.open_run(
        CnnTrainConfig(epochs=1),
        DIGITS,
        search_run="s" * 32,
        search_setting="random1",
        search_seed=0,
        seed=0,
        plan_key="p/r/smoke/d@1",
        **COMMON,
    ) as run:
        run.finish(
            pd.DataFrame({"shared-weight score": [0.1], "stand-alone accuracy": [0.2], "genotype": ["x"]}),
            {"kendall_tau": 0.5, "kendall_p": 0.1, "spearman_rho": 0.6, "spearman_p": 0.2},
        )
    config = {
        "seeds": 3,
        "first_seed": 0,
        "budgets": [8.0],
        "budget_unit_hours": 1.5,
        "workers": [1, 8],
        "etas": [4],
        "r": 1,
        "R": 98,
    }
    (tmp_path / "events").mkdir()
    with surrogate.open_run(bench, config, first_seed=0, seeds=3, preset="smoke", plan_key="p/s/smoke/d@1") as run:
        frame = pd.DataFrame({"digest": ["a", "b"]})
        picks = pd.DataFrame({"not representable because": ["", "none"]})
        run.finish(frame, frame, frame, picks, frame, tmp_path / "events")
    figure = plt.figure()
    with datasets.open_run({"seed": 0}, [DIGITS], seed=0, preset="smoke", plan_key="p/x/smoke/d@1") as run:
        table = pd.DataFrame({"dataset": ["digits"], "images": [10]}).set_index("dataset")
        run.finish(table, table, {"digits": figure}, [])
    record = load_record(store)
    (best,) = record.of(nb201.BestOfNRow)
    assert best.repeats == 100 and nb201.best_of_n_summary(record, best)[1]["mean"] == 85.0
    (check,) = record.of(ranking.RankingRow)
    assert (check.parent, check.search_setting, check.kendall_tau, check.spearman_p) == ("s" * 32, "random1", 0.5, 0.2)
    assert ranking.pairs(record, check) == [{"shared-weight score": 0.1, "stand-alone accuracy": 0.2, "genotype": "x"}]
    (predicted,) = record.of(surrogate.SurrogateRow)
    assert (predicted.seeds, predicted.budgets, predicted.workers, predicted.etas, predicted.R) == (
        3,
        (8.0,),
        (1, 8),
        (4,),
        98,
    )
    assert surrogate.artifact(record, predicted, "picks") == picks.to_dict(orient="records")
    assert predicted.device == surrogate.DEVICE_WORDS
    assert len(record.of(datasets.DatasetsRow)) == 1 and len(record) == 4


def test_the_book_reads_a_store_it_has_never_seen_kinds_of_as_plain_runs(store):
    from randnas.record.writer import run_tags, tracked_run

    tags = run_tags(seed=0, preset="cpu", benchmark="x", datasets=[DIGITS], plan_key="p/new/cpu/d@1")
    with tracked_run("new/kind", "r", tags=tags, config={"epochs": 3}):
        pass
    (run,) = load_record(store).runs
    assert type(run) is Run and (run.experiment, run.preset, run.epochs) == ("new/kind", "cpu", 3)


def test_the_committed_record_reads_as_rows_of_its_kinds():
    from tests.conftest import REPO

    record = load_record(REPO / "mlruns")
    kinds = {type(run).__name__ for run in record}
    assert {"TrainRow", "SearchRow", "DartsRow", "AshaRow", "Nb201SearchRow", "SurrogateRow"} <= kinds
    assert all(run.preset in ("smoke", "cpu") for run in record)
    assert Path(REPO / "mlruns").is_dir()
