"""Stages 2 and 3: a cell trained from scratch with the evaluation protocol (`cnn/train`, `rnn/train`).

What such a run trains and where the cell came from (`training_pick`: a named cell, a search's pick, the
winner among one independent run's stage-2 trials, a random baseline cell), what it logs (`open_run`), and how
the book reads it back (`TrainRow`, `curve`). It runs a little past the package's ~500 lines because this package
keeps one kind of run's whole schema in one module (what it trains, what it logs, what the book reads), and a
training's pick is most of what a training is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from randnas.experiments.base import (
    GENOTYPE_ARTIFACT,
    TAG_GENOTYPE,
    TAG_PARENT,
    TAG_PRECISION,
    TAG_SEARCH_SEED,
    TAG_SEARCH_SETTING,
    Record,
    Run,
    common,
    integer,
    real,
)
from randnas.record.store import StoredRun
from randnas.record.vocabulary import TAG_DEVICE, TAG_DIGEST, TAG_REPEAT
from randnas.record.writer import RunLog, run_tags, tracked_run

# the book's benchmark name -> the experiment, the genotype space, the run's benchmark tag
EXPERIMENTS = {"cnn": "cnn/train", "ptb": "rnn/train"}
SPACE = {"cnn": "cnn", "ptb": "rnn"}
BENCHMARK_TAG = {"cnn": "cifar10", "ptb": "ptb"}
BENCHMARK_OF_SPACE = {"cnn": "cnn", "rnn": "ptb"}

TAG_SPEC = "randnas.genotype_spec"
TAG_STAGE = "randnas.stage"
TAG_SEARCH_RUN = "randnas.search_run"
TAG_SEARCH_SEEDS = "randnas.search_seeds"
TAG_SELECTED_BY = "randnas.selected_by"
TAG_CANDIDATES = "randnas.stage2_candidates"
TAG_OBJECTIVE = "randnas.objective"  # CIFAR-10: what the training trained on and scored by (absent: "test")
# the metrics a training logs at its end, and the per-epoch one each benchmark's tables read
TEST_ERROR, TEST_PPL, BEST_VALID_PPL = "test/error", "test/ppl", "valid/best_ppl"
PARAMS_MILLIONS, ASGD_FROM = "params/millions", "optimizer/asgd_from_epoch"
CURVE_KEY = {"cnn": "test/acc", "ptb": "valid/ppl"}
# Stage 2 picks the best trial by the number each benchmark reports: the paper chose CIFAR-10 trials by their
# stage-2 test error and PTB trials by validation perplexity (lower is better for both); a CIFAR-10 training
# with the `valid` objective (the random baseline, as Liu et al.) reports validation error instead.
STAGE2_WORDS = {"cnn": "stage-2 test error", "ptb": "stage-2 best validation perplexity"}
VALID_WORDS = "stage-2 validation error (trained on half the training set, scored on the other half)"
# genotype specs that select among stage-2 runs: the spec a stage-2 run was logged under
BEST_OF = {
    "best-rsws": "rsws",
    "best-random": "random",
    "best-random-with-none": "random-with-none",
    "best-darts": "darts",
    "best-enas": "enas",
}
# genotype specs that name a search's pick by (preset, search setting, search seed)
SEARCH_PICKS = ("rsws", "darts", "enas")
# The random-search baseline's cells, one per search seed. `random`: cells as DARTS evaluates them, never with
# `none` on CIFAR-10 (the PTB sampler never draws it); `random-with-none`: the released uniform sampler over all
# 8 CIFAR-10 ops, `none` included (only (7/8)^16 = 12 % of its cells are none-free), this project's earlier
# baseline, kept as a labelled option.
RANDOM_CELLS = {
    "random": "none-free random cells (as DARTS evaluates cells)",
    "random-with-none": "random cells with `none` allowed (the released sampler over all 8 ops)",
}
RANDOM_BASELINE_STREAM = 4  # keeps "random" genotypes apart from the searches' own draws


@dataclass(frozen=True, kw_only=True)
class TrainRow(Run):
    """One training run of a cell from scratch."""

    benchmark: str  # cnn (CIFAR-10) or ptb
    stage: int  # 2, or 3: the final evaluation
    genotype_spec: str  # how the cell was named: DARTS_V2, rsws, best-rsws, asha, random, ...
    objective: str  # CIFAR-10: "test" (whole training set, test error) or "valid" (half / the other half)
    genotype: str  # the cell, in its space's text form
    search_setting: str  # the search setting of a search's pick ("" otherwise)
    search_seed: int | None  # the search (trial) the cell comes from
    search_run: int  # the independent run of searches that trial belongs to (1: the first)
    search_seeds: tuple[int, ...]  # stage 3: the trials it was chosen among
    selected_by: str  # stage 3: the number that chose it
    parent: str  # the run the cell was read from ("" for a named cell)
    value: float  # the stage-2 number the tables report: test error (%) or best validation perplexity
    test_error: float  # CIFAR-10 test error (%) after the last epoch (nan for PTB and the `valid` objective)
    valid_error: float  # CIFAR-10 validation error (%) after the last epoch, `valid` objective only (else nan)
    valid_ppl: float  # PTB best validation perplexity (nan for CIFAR-10)
    test_ppl: float  # PTB test perplexity of the best-validation weights (nan for CIFAR-10)
    params_millions: float  # the evaluation network's size, auxiliary head excluded


def row(stored: StoredRun) -> TrainRow:
    tags, metrics = stored.tags, stored.metrics
    benchmark = "cnn" if stored.experiment == EXPERIMENTS["cnn"] else "ptb"
    seeds = tuple(int(s) for s in tags.get(TAG_SEARCH_SEEDS, "").split(",") if s.strip())
    test_error, valid_ppl = real(metrics.get(TEST_ERROR)), real(metrics.get(BEST_VALID_PPL))
    objective = tags.get(TAG_OBJECTIVE, "test")
    valid_error = real(metrics.get(error_metric(objective))) if objective != "test" else math.nan
    return TrainRow(
        **common(stored),
        benchmark=benchmark,
        # runs from before stages were tagged are stage 2
        stage=integer(tags.get(TAG_STAGE), 2),
        genotype_spec=tags.get(TAG_SPEC, ""),
        objective=objective,
        genotype=tags.get(TAG_GENOTYPE, ""),
        search_setting=tags.get(TAG_SEARCH_SETTING, ""),
        search_seed=integer(tags.get(TAG_SEARCH_SEED)),
        search_run=integer(tags.get(TAG_SEARCH_RUN), 1),
        search_seeds=seeds,
        selected_by=tags.get(TAG_SELECTED_BY, ""),
        parent=tags.get(TAG_PARENT, ""),
        value=(test_error if objective == "test" else valid_error) if benchmark == "cnn" else valid_ppl,
        test_error=test_error,
        valid_error=valid_error,
        valid_ppl=valid_ppl,
        test_ppl=real(metrics.get(TEST_PPL)),
        params_millions=real(metrics.get(PARAMS_MILLIONS)),
    )


def error_metric(objective: str) -> str:
    """The final-error metric of a CIFAR-10 training with this objective: `test/error`, `search-valid/error`, ..."""
    from randnas.train.cnn import CNN_OBJECTIVES

    return f"{CNN_OBJECTIVES[objective][1]}/error"


def curve_key(run: TrainRow) -> str:
    """The per-epoch metric a run's curve is read from: CIFAR-10 accuracy on its scored split, PTB validation ppl."""
    from randnas.train.cnn import CNN_OBJECTIVES

    if run.benchmark == "cnn" and run.objective != "test":
        return f"{CNN_OBJECTIVES[run.objective][1]}/acc"
    return CURVE_KEY[run.benchmark]


def selected_by(run: TrainRow) -> str:
    """The stage-2 number a stage-3 pick among such runs was chosen by, in words."""
    return STAGE2_WORDS[run.benchmark] if run.objective == "test" else VALID_WORDS


def curve(record: Record, run: TrainRow) -> dict[int, float]:
    """Epoch -> the tables' quantity after it: CIFAR-10 error (%) on the scored split, PTB validation perplexity."""
    history = record.reader.history(run.run_id, curve_key(run))
    if run.benchmark == "cnn":
        return {epoch: 100.0 * (1.0 - accuracy) for epoch, accuracy in history}
    return dict(history)


# ---- the run ------------------------------------------------------------------------------------------


class TrainLog:
    """What a training run logs: its metrics after each epoch, then its final numbers and weights digest."""

    def __init__(self, run: RunLog, benchmark: str, objective: str = "test") -> None:
        self.run, self.benchmark, self.objective = run, benchmark, objective
        self.run_id = run.run_id

    def checkpoint_dir(self):
        return self.run.checkpoint_dir()

    def epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        self.run.metrics(metrics, step=epoch)

    def finish(self, result: Any, epochs: int) -> None:
        """`result`: a `CnnTrainResult` or a `PtbTrainResult`."""
        if self.benchmark == "cnn":
            final = {error_metric(self.objective): result.error, PARAMS_MILLIONS: result.parameters / 1e6}
        else:
            final = {
                BEST_VALID_PPL: result.best_valid_ppl,
                TEST_PPL: result.test_ppl,
                PARAMS_MILLIONS: result.parameters / 1e6,
                ASGD_FROM: result.switched_at,
            }
        self.run.metrics(final, step=epochs)
        self.run.tags({TAG_DIGEST: result.weights_digest})


@contextmanager
def open_run(
    benchmark: str,
    pick: TrainingPick,
    config: Any,
    data: Any,
    *,
    seed: int,
    repeat: int,
    preset: str,
    plan_key: str,
    device: str,
    precision: str = "fp32",
    store: Any = None,
    held_lock: str = "",
) -> Iterator[TrainLog]:
    """Open the training run of `pick` (its cell logged as the run's genotype artifact) in `store`."""
    extra = {**pick.tags, TAG_REPEAT: repeat, TAG_DEVICE: device, TAG_PRECISION: precision}
    tags = run_tags(
        seed=seed, preset=preset, benchmark=BENCHMARK_TAG[benchmark], datasets=[data], plan_key=plan_key, extra=extra
    )
    with tracked_run(
        EXPERIMENTS[benchmark], pick.run_name, tags=tags, config=config, store=store, held_lock=held_lock
    ) as run:
        run.json(pick.genotype.to_dict(), GENOTYPE_ARTIFACT)
        yield TrainLog(run, benchmark, pick.objective)


# ---- what a training trains --------------------------------------------------------------------------


def search_run_seeds(search_run: int, trials_per_run: int, first_search_seed: int) -> list[int]:
    """The search seeds of independent run `search_run` (1-based): each run holds `trials_per_run` consecutive
    seeds from `first_search_seed` on (the paper: 4 trials a run, seeds 1-4 = Run 1)."""
    from randnas.spaces import GenotypeError

    if search_run < 1 or trials_per_run < 1:
        raise GenotypeError(f"search_run ({search_run}) and trials_per_run ({trials_per_run}) must be at least 1")
    start = first_search_seed + (search_run - 1) * trials_per_run
    return list(range(start, start + trials_per_run))


def search_run_of(search_seed: int, trials_per_run: int, first_search_seed: int) -> int:
    """The independent run a search seed belongs to under that layout (the inverse of `search_run_seeds`)."""
    from randnas.spaces import GenotypeError

    if trials_per_run < 1 or search_seed < first_search_seed:
        raise GenotypeError(
            f"search seed {search_seed} is not in a run of {trials_per_run} trials from seed {first_search_seed}"
        )
    return (search_seed - first_search_seed) // trials_per_run + 1


def stage2_runs(record: Record, benchmark: str, preset: str, spec: str, setting: str | None = None) -> list[TrainRow]:
    """The stage-2 trainings of one kind of cell (`rsws` picks, `darts` picks, `random` cells, a named cell) in a
    preset, of one search setting if given; a same-seed repeat is a reproducibility check, not another training,
    so it is left out."""
    return record.of(
        TrainRow,
        preset,
        lambda run: (
            run.benchmark == benchmark
            and run.stage == 2
            and run.genotype_spec == spec
            and run.repeat == 1
            and (setting is None or run.search_setting == setting)
        ),
    )


def trial_values(runs: Sequence[TrainRow]) -> dict[int, float]:
    """Search seed -> its trial's stage-2 number: a pick trained with several seeds counts once, at its mean."""
    values: dict[int, list[float]] = {}
    for run in runs:
        if run.search_seed is not None:
            values.setdefault(run.search_seed, []).append(run.value)
    return {seed: sum(found) / len(found) for seed, found in sorted(values.items())}


@dataclass(frozen=True)
class Stage2Pick:
    """Stage 3's architecture: the trial of one independent search run with the best stage-2 result."""

    genotype: Any
    search_seed: int  # the winning trial
    value: float  # its stage-2 number (the mean over its stage-2 training seeds)
    run_id: str  # the winning trial's stage-2 run whose genotype artifact was read
    candidates: dict[int, float]  # every trial's stage-2 number, by search seed
    training_seeds: tuple[int, ...] = ()  # the seeds the winning trial was trained with in stage 2
    selected_by: str = ""  # the stage-2 number that chose it, in words


def best_stage2_pick(
    record: Record, space: str, kind: str, preset: str, search_setting: str, search_seeds: list[int]
) -> Stage2Pick:
    """Among the stage-2 runs of `kind` (`rsws` or `darts` picks of `search_setting`, or `random` baseline cells)
    for these search seeds in `preset`, the trial with the lowest stage-2 number. Every trial must have been
    trained: a pick made among part of a run's trials is not the paper's stage 2."""
    from randnas.spaces import GenotypeError

    benchmark = BENCHMARK_OF_SPACE[space]
    setting = search_setting if kind in SEARCH_PICKS else None
    runs = [
        run
        for run in stage2_runs(record, benchmark, preset, kind, setting)
        if run.search_seed in search_seeds and not math.isnan(run.value)
    ]
    objectives = sorted({run.objective for run in runs})
    if len(objectives) > 1:
        raise GenotypeError(
            f"the stage-2 runs of search seeds {search_seeds} in preset {preset!r} were scored differently "
            f"(objectives {objectives}): a pick compares like with like; delete or rerun the odd ones"
        )
    candidates = trial_values(runs)
    missing = [seed for seed in search_seeds if seed not in candidates]
    if missing:
        what = f"the {search_setting} picks" if kind in SEARCH_PICKS else f"the random baseline's {kind} cells"
        raise GenotypeError(
            f"stage 3 needs the stage-2 runs of {what} for search seeds {search_seeds} in preset {preset!r}; "
            f"missing: {missing}. Run their stage-2 entry first (it comes before stage 3 in the plan)"
        )
    winner = min(sorted(candidates), key=lambda seed: candidates[seed])
    run = next(run for run in runs if run.search_seed == winner)  # the newest training of the winning trial
    seeds = tuple(sorted({r.seed for r in runs if r.search_seed == winner and r.seed is not None}))
    return Stage2Pick(
        genotype_of(record, space, run), winner, candidates[winner], run.run_id, candidates, seeds, selected_by(run)
    )


def genotype_of(record: Record, space: str, run: Run) -> Any:
    """The cell a run of the record found or trained."""
    from randnas.spaces.registry import get_space

    return get_space(space).from_dict(record.reader.json(run.run_id, GENOTYPE_ARTIFACT))


def find_genotype(
    record: Record | None, space: str, spec: str, preset: str = "", search_setting: str = "", search_seed: int = 0
) -> tuple[Any, str]:
    """The genotype `spec` names in `space` (cnn, rnn or nb201), and the run it came from ("" if none).

    `spec` is a registered name (DARTS_V2), a DARTS `Genotype(...)` string, `run:<MLflow run id>`,
    `rsws`: the pick of the newest FINISHED `single`-mode search of this space, preset, setting and seed,
    `random`: a uniformly sampled genotype, one per `search_seed` (the random-search baseline of Liu et al.),
    never with `none` (as DARTS evaluates cells); `random-with-none`: the released sampler, `none` allowed (CIFAR-10),
    `asha`: the best cell of the ASHA search with seed `search_seed` in this preset,
    `darts`: the final cell of the newest FINISHED DARTS search of this preset, setting and seed,
    `enas`: the derived cell of the newest FINISHED ENAS search of this preset and seed (its setting is `enas`).
    (Stage 3's `best-rsws`, `best-random`, `best-darts` and `best-enas` select among stage-2 runs: see
    `best_stage2_pick`.)
    `record` is needed only by the specs that read it.
    """
    from randnas.experiments import asha, darts, enas, rsws
    from randnas.spaces import GenotypeError
    from randnas.spaces.registry import get_space

    get_space(space)  # an unknown space fails here, with the registry's message
    if spec in RANDOM_CELLS:
        return random_cell(space, spec, search_seed), ""
    pickers = {
        "rsws": lambda: rsws.pick_run(record, space, preset, search_setting, search_seed),
        "darts": lambda: darts.pick_run(record, space, preset, search_setting, search_seed),
        "asha": lambda: asha.pick_run(record, space, preset, search_seed),
        "enas": lambda: enas.pick_run(record, space, preset, search_seed),
    }
    if spec.startswith("run:") or spec in pickers:
        if record is None:
            raise GenotypeError(f"genotype {spec!r} reads the record: give the record to look in")
        if spec.startswith("run:"):
            run_id = spec.removeprefix("run:").strip()
            return genotype_from_run(record, space, run_id), run_id
        run = pickers[spec]()
        return genotype_of(record, space, run), run.run_id
    from randnas.spaces.named import resolve_genotype

    return resolve_genotype(space, spec), ""


def random_cell(space: str, spec: str, search_seed: int) -> Any:
    """The random baseline's cell of `search_seed`: none-free (`random`) or from the released sampler
    (`random-with-none`, CIFAR-10 only: the PTB sampler never draws `none`)."""
    from randnas.repro import numpy_generator
    from randnas.spaces import GenotypeError
    from randnas.spaces.cnn import sample_cnn_genotype, sample_none_free_cnn_genotype
    from randnas.spaces.registry import get_space

    rng = numpy_generator(search_seed, RANDOM_BASELINE_STREAM)
    if space == "cnn":
        return (sample_none_free_cnn_genotype if spec == "random" else sample_cnn_genotype)(rng)
    if spec == "random-with-none":
        raise GenotypeError(f"genotype 'random-with-none' is for CIFAR-10 cells; the {space} sampler never draws none")
    return get_space(space).sample(rng)


def genotype_from_run(record: Record, space: str, run_id: str) -> Any:
    """The genotype artifact of any run of the store the record was read from, by its id."""
    from randnas.spaces import GenotypeError
    from randnas.spaces.registry import get_space

    try:
        return get_space(space).from_dict(record.reader.json(run_id, GENOTYPE_ARTIFACT))
    except LookupError:
        raise GenotypeError(f"no run {run_id!r} in the record; copy the id from the MLflow UI or the book") from None
    except OSError as error:
        raise GenotypeError(f"run {run_id} has no {GENOTYPE_ARTIFACT} artifact ({error})") from None


@dataclass(frozen=True)
class TrainingPick:
    """What a stage-2 or stage-3 training run trains, where it came from, and the tags that say so."""

    genotype: Any
    parent_run: str  # the search, ASHA search or stage-2 run the genotype was read from ("" if none)
    tags: dict[str, str]
    run_name: str
    summary: str  # one line for the notebook's output
    objective: str = "test"  # CIFAR-10: what the training trains on and scores by (`CNN_OBJECTIVES`)
    label: str = ""  # the cell's name in a figure title: the spec, or its hash when the spec is a genotype's text


def training_pick(
    record: Record | None,
    space: str,
    spec: str,
    *,
    preset: str,
    stage: int,
    seed: int,
    search_setting: str = "",
    search_seed: int = 0,
    search_run: int = 1,
    trials_per_run: int = 0,
    first_search_seed: int = 0,
    objective: str = "test",
) -> TrainingPick:
    """Resolve a training notebook's genotype parameters into the genotype and the run's provenance tags.

    Stage 2 trains one trial's pick (`rsws`, `random`, a name, ...); its independent search run is `search_run`,
    or derived from `search_seed` when `trials_per_run` > 0. Stage 3 trains with more seeds (CIFAR-10) or more
    epochs (PTB); `best-rsws` / `best-random` / `best-darts` / `best-enas` select the stage-2 winner among the
    `trials_per_run` trials of run `search_run`. `objective` (CIFAR-10) is what the training trains on and scores
    by: `test`, the paper's stages 2 and 3; `valid`, half the training set scored on the other half (the random
    baseline's brief trainings, picked on validation error as Liu et al.).
    """
    from randnas.spaces import GenotypeError
    from randnas.train.cnn import CNN_OBJECTIVES

    if stage not in (2, 3):
        raise GenotypeError(f"stage must be 2 or 3, got {stage!r}")
    if objective != "test" and (BENCHMARK_OF_SPACE[space] != "cnn" or objective not in CNN_OBJECTIVES):
        raise GenotypeError(
            f"objective {objective!r} is not one of {sorted(CNN_OBJECTIVES)} (CIFAR-10 only; a PTB training always "
            "trains on the training split and reports validation and test perplexity): fix the parameter"
        )
    if objective != "test" and stage == 3:
        raise GenotypeError("stage 3 reports test error: it trains on the whole training set (objective 'test')")
    if spec in BEST_OF and stage != 3:
        raise GenotypeError(f"genotype {spec!r} selects stage 3's architecture among stage-2 runs: set stage=3")
    tags = {TAG_SPEC: spec, TAG_STAGE: str(stage)}
    if objective != "test":
        tags[TAG_OBJECTIVE] = objective
    if spec in BEST_OF:
        genotype, parent, run_name, summary = _stage3_pick(
            record, space, spec, tags, preset, seed, search_setting, search_run, trials_per_run, first_search_seed
        )
    else:
        genotype, parent = find_genotype(record, space, spec, preset, search_setting, search_seed)
        prefix = "stage3-" if stage == 3 else ""
        if spec in (*SEARCH_PICKS, *RANDOM_CELLS):
            run = search_run_of(search_seed, trials_per_run, first_search_seed) if trials_per_run > 0 else search_run
            tags.update({TAG_SEARCH_SEED: str(search_seed), TAG_SEARCH_RUN: str(run)})
            if spec in SEARCH_PICKS:
                tags[TAG_SEARCH_SETTING] = search_setting
            middle = search_setting + "-" if spec in SEARCH_PICKS else ""
            run_name = f"{prefix}{spec}-{middle}s{search_seed}-seed{seed}"
        elif spec == "asha":
            tags[TAG_SEARCH_SEED] = str(search_seed)
            run_name = f"{prefix}asha-s{search_seed}-seed{seed}"
        else:
            run_name = f"{prefix}{spec if len(spec) <= 40 else 'genotype'}-seed{seed}"
        summary = f"stage {stage}: {_label(spec, genotype)}" + (f" (from run {parent})" if parent else "")
    tags.update({TAG_GENOTYPE: genotype.to_darts(), TAG_PARENT: parent})
    return TrainingPick(genotype, parent, tags, run_name, summary, objective, _label(spec, genotype))


def _label(spec: str, genotype: Any) -> str:
    """What a cell is called on its run page: its spec (`DARTS_V2`, `rsws`, `run:<id>`), or, when the spec is the
    cell's whole DARTS text, "given cell" and its hash (the text itself is the run's genotype tag)."""
    from randnas.spaces.common import cell_hash

    return spec if len(spec) <= 40 else f"given cell {cell_hash(genotype.to_darts())}"


def _stage3_pick(
    record: Record | None,
    space: str,
    spec: str,
    tags: dict[str, str],
    preset: str,
    seed: int,
    search_setting: str,
    search_run: int,
    trials_per_run: int,
    first_search_seed: int,
) -> tuple[Any, str, str, str]:
    """`best-rsws` / `best-random` / `best-darts`: the stage-2 winner of one independent run, its provenance tags
    (added to `tags`), run name and summary line."""
    from randnas.spaces import GenotypeError

    if trials_per_run < 1:
        raise GenotypeError(f"genotype {spec!r} needs trials_per_run >= 1 (the trials of one independent search run)")
    if record is None:
        raise GenotypeError(f"genotype {spec!r} reads the record: give the record to look in")
    seeds = search_run_seeds(search_run, trials_per_run, first_search_seed)
    pick = best_stage2_pick(record, space, BEST_OF[spec], preset, search_setting, seeds)
    if seed in pick.training_seeds:
        # the cell and seed of the stage-2 run that won selection (on CIFAR-10 the protocol too): it would repeat
        # the selection number bit for bit instead of evaluating the cell afresh
        raise GenotypeError(
            f"stage 3 seed {seed} repeats the stage-2 training of the winning trial (search seed "
            f"{pick.search_seed}, trained with seed(s) {list(pick.training_seeds)}); give stage 3 other seeds"
        )
    genotype, parent = pick.genotype, pick.run_id
    words = pick.selected_by
    candidates = ", ".join(f"{s}: {v:.4g}" for s, v in sorted(pick.candidates.items()))
    tags.update(
        {
            TAG_SEARCH_SEED: str(pick.search_seed),
            TAG_SEARCH_RUN: str(search_run),
            TAG_SEARCH_SEEDS: ",".join(map(str, seeds)),
            TAG_SELECTED_BY: words,
            TAG_CANDIDATES: candidates,
        }
    )
    if BEST_OF[spec] in SEARCH_PICKS:
        tags[TAG_SEARCH_SETTING] = search_setting
    what = search_setting if BEST_OF[spec] in SEARCH_PICKS else BEST_OF[spec]
    run_name = f"stage3-{what}-run{search_run}-s{pick.search_seed}-seed{seed}"
    summary = (
        f"stage 3: search seed {pick.search_seed} won run {search_run} (seeds {seeds}) by {words} "
        f"{pick.value:.4g}; all trials: {candidates}"
    )
    return genotype, parent, run_name, summary
