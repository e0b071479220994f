"""Hand runs stay out of the book (#17): a notebook run outside a plan is tagged, left out of the tables and
of plan jobs' lookups until adopted; papermill parameters a notebook does not declare, or of another kind
than their default, stop it with one line before any run is opened."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import papermill
import pytest

from randnas.configs import SettingError
from randnas.experiments.base import GENOTYPE_ARTIFACT
from randnas.experiments.catalog import inputs_of, load_record
from randnas.experiments.train import find_genotype
from randnas.notebook import check_injected, check_parameters
from randnas.record.store import adopt_run, open_store
from randnas.record.writer import run_tags, tracked_run
from randnas.spaces import GenotypeError
from randnas.spaces.named import get_genotype
from tests.conftest import REPO

TOY = SimpleNamespace(name="toy", label="toy data (tests)", checksum="0" * 64)


def log_search(plan_key: str, seed: int = 0) -> str:
    tags = run_tags(
        seed=seed,
        preset="smoke",
        benchmark="cifar10",
        datasets=[TOY],
        plan_key=plan_key,
        extra={"randnas.setting": "darts-second"},
    )
    with tracked_run("cnn/darts", "search", tags=tags, config={"epochs": 1}) as run:
        run.json(get_genotype("cnn", "DARTS_V2").to_dict(), GENOTYPE_ARTIFACT)
    return run.run_id


def test_a_hand_run_is_tagged_and_left_out_of_the_tables_until_adopted(store, capsys):
    planned = log_search("default/cnn-darts/smoke/x")
    hand = log_search("")
    assert "randnas record adopt" in capsys.readouterr().out
    assert {run.run_id for run in load_record(store)} == {planned}
    adopt_run(open_store(store), hand)
    assert {run.run_id for run in load_record(store)} == {planned, hand}


def test_plan_jobs_never_read_a_hand_run_but_a_hand_run_may(store):
    hand = log_search("")

    def pick(plan_key: str) -> str:
        return find_genotype(inputs_of(plan_key, store), "cnn", "darts", "smoke", "darts-second", 0)[1]

    assert pick("") == hand  # outside a plan (another notebook run by hand) the hand search is the newest pick
    with pytest.raises(GenotypeError, match="no FINISHED cnn/darts run"):
        pick("default/cnn-darts-stage2/smoke/y")  # inside a plan job
    adopt_run(open_store(store), hand)
    assert pick("default/cnn-darts-stage2/smoke/y") == hand


def test_adopting_an_unknown_run_is_one_clear_line(store):
    done = subprocess.run(
        [sys.executable, "-m", "randnas.cli", "record", "adopt", "0123456789abcdef", "--store", str(store)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "randnas: error: no run '0123456789abcdef' in the record; copy its id from the MLflow UI or the "
        "notebook's output"
    )


DECLARED = {"preset": "smoke", "seed": 0, "lr": 0.1, "overrides": {"epochs": 2}, "gpus": None, "dense": False}


@pytest.mark.parametrize(
    ("injected", "message"),
    [
        ({"epochs": -1}, "unknown parameter 'epochs'; this notebook takes preset, seed, lr, overrides, gpus, dense"),
        ({"seed": "abc"}, "parameter 'seed' must be an integer like its default 0, got 'abc'"),
        ({"overrides": "epochs=2"}, "parameter 'overrides' must be a mapping"),
        ({"dense": 1}, "parameter 'dense' must be true/false"),
        ({"seed": True}, "parameter 'seed' must be an integer"),
    ],
)
def test_an_unknown_or_ill_typed_parameter_is_refused(injected, message):
    with pytest.raises(SettingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_injected(DECLARED, injected)


def test_parameters_of_the_declared_kind_pass():
    check_injected(DECLARED, {"seed": 3, "lr": 1, "overrides": {}, "gpus": 2, "preset": "cpu", "dense": True})
    history = ["", "# Parameters (papermill overrides these)\nseed = 0\n", "# Parameters\nseed = 4\n", "import x"]
    check_parameters(history)
    with pytest.raises(SettingError, match="unknown parameter 'sed'"):
        check_parameters([*history[:2], "# Parameters\nsed = 4\n"])
    check_parameters(["", "print(1)"])  # nothing injected: nothing to check


def test_papermill_with_an_unknown_parameter_fails_before_any_run_is_opened(store, tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="unknown parameter 'epochs'"):
        papermill.execute_notebook(
            str(REPO / "notebooks" / "ptb_darts_search.ipynb"),
            str(tmp_path / "out.ipynb"),
            parameters={"epochs": -1},
            progress_bar=False,
            cwd=str(REPO),
        )
    assert not store.exists() or not list(store.glob("*/*/meta.yaml"))
