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


def test_every_paper_job_builds_its_configuration_at_paper_scale(paper_jobs):
    for job in paper_jobs:
        builder = BUILDERS.get(job.notebook.name)
        if builder is None:
            continue
        config = builder(job.parameters)
        assert job.parameters.get("dataset") in ("cifar10", "ptb", None)
        if isinstance(config, CnnTrainConfig):
            assert (config.epochs, config.channels, config.layers) == (600, 36, 20)
        if isinstance(config, PtbTrainConfig):
            assert (config.epochs, config.hidden) == (300, 850)
        if isinstance(config, AshaConfig):  # the paper's ASHA: r = 1, R = 300, eta = 4 on the evaluation network
            assert (config.r, config.R, config.eta, config.layout) == (1, 300, 4, "top_down")
            train = config.train_config()
            if config.benchmark == "cnn":
                assert (train.epochs, train.channels, train.layers) == (300, 36, 20)
            else:
                assert (train.epochs, train.hidden) == (300, 850)
