"""The default plan's `paper` preset: every job's parameters build a valid configuration, as its
notebook builds it (the networks then take real steps in tests/search/test_*_search.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from randnas import plans
from randnas.search.asha.search import AshaConfig
from randnas.search.cnn import cnn_setting
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
}
ASHA_PARAMETERS = ("benchmark", "r", "R", "eta", "layout", "early_stopping", "max_trials", "workers", "backend",
                   "clock", "objective", "gpus_per_worker", "train")


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


def test_paper_stage3_jobs_select_among_the_runs_the_stage2_jobs_train(paper_jobs):
    from randnas.search.lookup import search_run_of, search_run_seeds

    def trials(entries, setting):
        return {(job.parameters["search_setting"], job.parameters["search_seed"]) for job in paper_jobs
                if job.entry in entries and job.parameters.get("search_setting") == setting}

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
    assert brief == set(range(24)) and all(job.parameters["overrides"] == {"epochs": 100} for job in paper_jobs
                                           if job.entry == "cnn-random-baseline")


def test_every_paper_job_builds_its_configuration_at_paper_scale(paper_jobs):
    for job in paper_jobs:
        builder = BUILDERS.get(job.notebook.name)
        if builder is None:
            continue
        config = builder(job.parameters)
        assert job.parameters.get("dataset") in ("cifar10", "ptb", None)
        if isinstance(config, CnnTrainConfig):  # the random baseline's brief training is 100 epochs
            assert (config.epochs, config.channels, config.layers) == (100 if job.entry == "cnn-random-baseline" else 600, 36, 20)
        if isinstance(config, PtbTrainConfig):
            assert (config.epochs, config.hidden) == (3600 if job.parameters.get("stage") == 3 else 300, 850)
        if isinstance(config, AshaConfig):  # the paper's ASHA: r = 1, R = 300, eta = 4 on the evaluation network
            assert (config.r, config.R, config.eta, config.layout) == (1, 300, 4, "top_down")
            train = config.train_config()
            if config.benchmark == "cnn":
                assert (train.epochs, train.channels, train.layers) == (300, 36, 20)
            else:
                assert (train.epochs, train.hidden) == (300, 850)
