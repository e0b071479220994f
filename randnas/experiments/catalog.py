"""Every kind of run the record holds, by experiment name, and the record read as rows (`load_record`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from randnas.experiments import asha, darts, datasets, enas, nb201, ranking, rsws, surrogate, train
from randnas.experiments.base import Record, Run, StoreReader, plain_run
from randnas.record.integrity import check_runs
from randnas.record.store import Store, StoredRun, damaged_meta_files, open_store, run_folder, stored_runs
from randnas.record.vocabulary import FINISHED, counted

# experiment name -> the reader of its runs' rows
KINDS: dict[str, Callable[[StoredRun], Run]] = {
    **{name: train.row for name in train.EXPERIMENTS.values()},
    **{name: rsws.row for name in rsws.EXPERIMENTS.values()},
    **{name: darts.row for name in darts.EXPERIMENTS.values()},
    **{name: asha.row for name in asha.EXPERIMENTS.values()},
    **{name: enas.row for name in enas.EXPERIMENTS.values()},
    nb201.SEARCH_EXPERIMENT: nb201.search_row,
    nb201.BEST_OF_N_EXPERIMENT: nb201.best_of_n_row,
    ranking.EXPERIMENT: ranking.row,
    surrogate.EXPERIMENT: surrogate.row,
    datasets.EXPERIMENT: datasets.row,
}


# experiment name -> its description in the MLflow UI: what its runs are and where the book reads them
DESCRIPTIONS: dict[str, str] = {
    "cnn/train": "CIFAR-10 trainings from scratch (DARTS' evaluation protocol): stage 2 of every searcher's picks and "
    "stage 3's final evaluations; the book's Tables 1, 3, 4 and 5. Run names: <preset>/<plan entry>/<job>.",
    "rnn/train": "PTB trainings from scratch (DARTS' recurrent evaluation): stage 2 and stage 3; Tables 6 and 7.",
    "cnn/rsws": "Random search with weight sharing on the DARTS CNN space (supernet, rounds of sampled cells).",
    "rnn/rsws": "Random search with weight sharing on the DARTS recurrent space (PTB).",
    "cnn/darts": "DARTS searches (first and second order) on the CNN space: alphas per epoch, the derived cell.",
    "rnn/darts": "DARTS searches (first and second order) on the recurrent space (PTB).",
    "nb201/darts": "DARTS on NAS-Bench-201's cell space, scored against the benchmark's accuracies.",
    "cnn/enas": "ENAS searches on the CNN space: the controller's reward, baseline and entropy per epoch, its most "
    "likely cell per epoch, the derive step's samples and the derived cell (Tables 1 and 8's ENAS rows).",
    "rnn/enas": "ENAS searches on the recurrent space (PTB), rewarded by 80 / validation perplexity (Table 6).",
    "nb201/enas": "ENAS on NAS-Bench-201's cell space, every epoch's most likely cell looked up in the benchmark.",
    "cnn/asha": "ASHA over random CIFAR-10 cells (one parent run; a child run per trial).",
    "rnn/asha": "ASHA over random PTB cells (one parent run; a child run per trial).",
    "cnn/ranking": "Shared-weight ranking against stand-alone training (Kendall tau, the paper's Section 5).",
    "nb201/rsws": "Random search with weight sharing on NAS-Bench-201, scored by the benchmark's accuracies.",
    "nb201/best-of-n": "Best of N random NAS-Bench-201 cells by the benchmark's validation accuracy.",
    "surrogate/nb301-asha": "ASHA against random search on the NAS-Bench-301 surrogate (YAHPO Gym nb301).",
    "foundation/datasets": "The datasets every run reads: their label, size and digest.",
}


def experiment_description(name: str) -> str:
    """The MLflow UI's description of experiment `name` ("" for one this project does not make)."""
    return DESCRIPTIONS.get(name, "")


def load_record(store: Store | str | Path | None = None, *, hand_runs: bool = False, check: bool = True) -> Record:
    """The record as rows: every FINISHED top-level run (ASHA's per-trial children are left out), hand runs (a
    notebook run outside a plan) only once adopted unless `hand_runs`. With `check`, a damaged run among them
    raises RecordDamaged naming the file, rather than changing a table without a word."""
    store = open_store(store)
    found = [run for run in stored_runs(store, status=FINISHED) if not run.parent and (hand_runs or counted(run.tags))]
    if check and store.folder is not None:
        folders = [run_folder(store, run.experiment_id, run.run_id) for run in found]
        unreadable = damaged_meta_files(store.folder)
        check_runs(folders, [f"{path}: {why}" for path, why in unreadable.items()])
    return Record(tuple(KINDS.get(run.experiment, plain_run)(run) for run in found), StoreReader(store))


def inputs_of(plan_key: str, store: Store | str | Path | None = None) -> Record:
    """The record a run's lookups read (a search's pick, the stage-2 trials): inside a plan job only the runs the
    book counts, so a plan's results never rest on a hand run; a notebook run by hand may read its own hand runs."""
    return load_record(store, hand_runs=not plan_key, check=False)
