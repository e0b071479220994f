"""The default plan's `paper` preset: every job's parameters build a valid configuration, as its
notebook builds it (the networks then take real steps in tests/search/test_*_search.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from randnas import plans
from randnas.search.asha.search import AshaConfig
from randnas.search.cnn import cnn_setting
from randnas.search.darts import DartsCnnConfig, darts_cnn_setting, darts_nb201_setting
from randnas.search.darts_rnn import DartsRnnConfig, darts_rnn_setting
from randnas.search.rnn import rnn_setting
from randnas.train.cnn import CnnTrainConfig
from randnas.train.ptb import PtbTrainConfig
from tests.conftest import REPO

BUILDERS = {
    "rsws_search.ipynb": lambda p: cnn_setting(p["setting"], mode=p["mode"], **p["overrides"]),
    "train_from_scratch.ipynb": lambda p: CnnTrainConfig(**p["overrides"]),
    "ptb_rsws_search.ipynb": lambda p: rnn_setting(p["setting"], **p["overrides"]),
    "ptb_train_from_scratch.ipynb": lambda p: PtbTrainConfig(**p["overrides"]),
    "asha_search.ipynb": lambda p: AshaConfig(**{k: p[k] for k in ASHA_PARAMETERS}),
    "darts_search.ipynb": lambda p: darts_cnn_setting(p["setting"], **p["overrides"]),
    "nb201_darts.ipynb": lambda p: darts_nb201_setting(p["setting"], **p["overrides"]),
    "ptb_darts_search.ipynb": lambda p: darts_rnn_setting(p["setting"], **p["overrides"]),
}
ASHA_PARAMETERS = (
    "benchmark",
    "r",
    "R",
    "eta",
    "layout",
    "early_stopping",
    "max_trials",
    "workers",
    "backend",
    "clock",
    "objective",
    "gpus_per_worker",
    "train",
)


@pytest.fixture(scope="module")
def paper_jobs():
    return plans.expand(plans.load_plan(REPO / "plans" / "default.yaml", root=REPO), "paper")


def test_paper_preset_expands_the_papers_tables(paper_jobs):
    counts = Counter(job.entry for job in paper_jobs)
    assert counts["cnn-rsws"] == 20  # Table 2: 5 settings x 4 trials
    assert counts["cnn-stage2"] == 20
    assert counts["ptb-rsws"] == 16  # Table 7: 4 settings x 4 trials
    assert counts["ptb-stage2"] == 16
    assert counts["cnn-asha"] == counts["ptb-asha"] == 1
    # stage 3: Table 1/4's six Random (5) runs x 10 seeds, Table 6/8's two Random (4) runs at 3600 epochs
    assert counts["cnn-stage3"] == 60 and counts["cnn-rsws-broad"] == counts["cnn-stage2-broad"] == 20
    assert counts["ptb-stage3"] == 2 and counts["ptb-rsws-run2"] == counts["ptb-stage2-run2"] == 4
    assert counts["cnn-asha-stage3"] == 10 and counts["ptb-asha-stage3"] == 1
    # Liu et al.'s random baseline: 24 cells trained briefly, the best one with 10 seeds (PTB: 8 cells)
    assert counts["cnn-random-baseline"] == 24 and counts["random-stage3"] == 10
    assert counts["ptb-random-baseline"] == 8 and counts["ptb-random-stage3"] == 1
    # the paper's reproduced DARTS: 4 second-order searches, each pick through stage 2, the best with 10 seeds
    assert counts["cnn-darts"] == counts["cnn-darts-stage2"] == 4 and counts["cnn-darts-stage3"] == 10
    assert counts["ptb-darts"] == counts["ptb-darts-stage2"] == 4 and counts["ptb-darts-stage3"] == 1


def test_paper_stage3_jobs_select_among_the_runs_the_stage2_jobs_train(paper_jobs):
    from randnas.experiments.train import search_run_of, search_run_seeds

    def trials(entries, setting):
        return {
            (job.parameters["search_setting"], job.parameters["search_seed"])
            for job in paper_jobs
            if job.entry in entries and job.parameters.get("search_setting") == setting
        }

    cnn_trials = trials({"cnn-stage2", "cnn-stage2-broad"}, "random5")
    for job in (j for j in paper_jobs if j.entry == "cnn-stage3"):
        p = job.parameters
        seeds = search_run_seeds(p["search_run"], p["trials_per_run"], p["first_search_seed"])
        assert {("random5", s) for s in seeds} <= cnn_trials, job.plan_key
        assert (p["stage"], p["overrides"]) == (3, {})  # 600 epochs, C=36, 20 cells: stage 2's protocol, more seeds
    for job in (j for j in paper_jobs if j.entry == "cnn-stage2-broad"):
        p = job.parameters
        assert 2 <= search_run_of(p["search_seed"], p["trials_per_run"], p["first_search_seed"]) <= 6
    ptb_trials = trials({"ptb-stage2", "ptb-stage2-run2"}, "random4")
    for job in (j for j in paper_jobs if j.entry == "ptb-stage3"):
        p = job.parameters
        seeds = search_run_seeds(p["search_run"], p["trials_per_run"], p["first_search_seed"])
        assert {("random4", s) for s in seeds} <= ptb_trials and p["overrides"] == {"epochs": 3600}
    brief = {job.parameters["search_seed"] for job in paper_jobs if job.entry == "cnn-random-baseline"}
    assert brief == set(range(24)) and all(
        job.parameters["overrides"] == {"epochs": 100} for job in paper_jobs if job.entry == "cnn-random-baseline"
    )


def test_every_paper_job_builds_its_configuration_at_paper_scale(paper_jobs):
    for job in paper_jobs:
        builder = BUILDERS.get(job.notebook.name)
        if builder is None:
            continue
        config = builder(job.parameters)
        assert job.parameters.get("dataset") in ("cifar10", "ptb", None)
        if isinstance(config, CnnTrainConfig):  # the random baseline's brief training is 100 epochs
            assert (config.epochs, config.channels, config.layers) == (
                100 if job.entry == "cnn-random-baseline" else 600,
                36,
                20,
            )
        if isinstance(config, DartsCnnConfig):  # the paper's reproduced DARTS: second order at DARTS' own settings
            assert (config.order, config.epochs, config.channels, config.layers, config.batch_size) == (
                "second",
                50,
                16,
                8,
                64,
            )
        if isinstance(config, DartsRnnConfig):  # DARTS' recurrent search: 300 units, batch 256, 50 epochs, second order
            assert (config.order, config.epochs, config.hidden, config.batch_size, config.arch_lr) == (
                "second",
                50,
                300,
                256,
                3e-3,
            )
        if isinstance(config, PtbTrainConfig):
            assert (config.epochs, config.hidden) == (3600 if job.parameters.get("stage") == 3 else 300, 850)
        if isinstance(config, AshaConfig):  # the paper's ASHA: r = 1, R = 300, eta = 4 on the evaluation network
            assert (config.r, config.R, config.eta, config.layout) == (1, 300, 4, "top_down")
            train = config.train_config()
            if config.benchmark == "cnn":
                assert (train.epochs, train.channels, train.layers) == (300, 36, 20)
            else:
                assert (train.epochs, train.hidden) == (300, 850)


NEW_ENTRIES = (
    "cnn-stage3",
    "ptb-stage3",
    "cnn-asha-stage3",
    "ptb-asha-stage3",
    "random-stage3",
    "ptb-random-stage3",
    "cnn-random-baseline",
    "ptb-random-baseline",
    "cnn-stage2-broad",
    "ptb-stage2-run2",
    "ptb-reference-stage3",
)


def test_paper_stage3_and_baseline_jobs_find_their_cell_and_train_a_step_at_tiny_size(paper_jobs):
    """A paper-preset record stand-in holds the stage-2 trials and ASHA searches the jobs read; each kind
    of job resolves its architecture as its notebook does and takes one step of its trainer at tiny size."""
    from randnas.data import load_corpus, load_image_data
    from randnas.experiments.train import training_pick
    from randnas.spaces.named import get_genotype
    from randnas.train.cnn import CnnTrainer
    from randnas.train.ptb import PtbTrainer
    from tests.rows import RecordBuilder

    built = RecordBuilder()
    for space, setting, seeds in (("cnn", "random5", range(1, 25)), ("rnn", "random4", range(1, 9))):
        benchmark = "cnn" if space == "cnn" else "ptb"
        for seed in seeds:
            built.train(
                "rsws",
                [50.0 + seed],
                benchmark=benchmark,
                preset="paper",
                setting=setting,
                search_seed=seed,
                genotype=get_genotype(space, "DARTS_V1"),
            )
        for seed in range(24 if space == "cnn" else 8):
            built.train(
                "random",
                [50.0 - seed],
                benchmark=benchmark,
                preset="paper",
                search_seed=seed,
                genotype=get_genotype(space, "DARTS_V2"),
            )
        # the stage-2 jobs' first search
        built.search(space=space, preset="paper", setting=setting, seed=5, genotype=get_genotype(space, "DARTS_V2"))
    built.asha(benchmark="cnn", preset="paper", genotype=get_genotype("cnn", "ASHA200"))
    built.asha(benchmark="ptb", preset="paper", best=60.0, genotype=get_genotype("rnn", "DARTS_V2"))
    record = built.record()

    digits, pydoc = load_image_data("digits"), load_corpus("pydoc")
    seen, trained = set(), set()
    for job in (j for j in paper_jobs if j.entry in NEW_ENTRIES):
        p = job.parameters
        if (job.entry, p.get("search_run")) in seen:
            continue
        seen.add((job.entry, p.get("search_run")))
        cnn = job.notebook.name == "train_from_scratch.ipynb"
        pick = training_pick(
            record,
            "cnn" if cnn else "rnn",
            p["genotype"],
            preset="paper",
            stage=p.get("stage", 2),
            seed=p["seed"],
            search_setting=p.get("search_setting", ""),
            search_seed=p.get("search_seed", 0),
            search_run=p.get("search_run", 1),
            trials_per_run=p.get("trials_per_run", 0),
            first_search_seed=p.get("first_search_seed", 0),
        )
        if p["genotype"] == "best-rsws":  # the lowest stage-2 number of the run's trials: its first seed here
            run = p["search_run"]
            assert pick.tags["randnas.search_seed"] == str((run - 1) * p["trials_per_run"] + p["first_search_seed"])
        if p["genotype"] == "best-random":  # the random cells' numbers fall with the seed: the last one wins
            assert pick.tags["randnas.search_seed"] == str(p["trials_per_run"] - 1)
        if job.entry in trained:
            continue
        trained.add(job.entry)
        if cnn:
            config = CnnTrainConfig(
                **{**p["overrides"], "epochs": 1, "channels": 4, "layers": 3, "max_steps_per_epoch": 1}
            )
            result = CnnTrainer(config, pick.genotype, digits, "cpu").run()
        else:
            config = PtbTrainConfig(
                **{
                    **p["overrides"],
                    "epochs": 1,
                    "hidden": 8,
                    "batch_size": 8,
                    "max_steps_per_epoch": 1,
                    "eval_batch_size": 64,
                    "test_eval_batch_size": 64,
                    "max_eval_chunks": 1,
                }
            )
            result = PtbTrainer(config, pick.genotype, pydoc, 0, "cpu").run(test=False)
        assert result.weights_digest
    assert {entry for entry, _ in seen} == set(NEW_ENTRIES)
