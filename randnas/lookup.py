"""Looking up in the record (the only module besides `tracking` and `report` that reads MLflow, so compute
code never does): a genotype for stages 2 and 3: by name, as a DARTS string, from an MLflow run, from a search,
or (stage 3) the stage-2 winner among the trials of one independent search run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from randnas import tracking
from randnas.repro import numpy_generator
from randnas.spaces.cnn import CnnGenotype, cnn_genotype_from_dict, sample_cnn_genotype
from randnas.spaces.common import GenotypeError
from randnas.spaces.named import resolve_genotype
from randnas.spaces.nb201 import nb201_cell_from_dict, sample_nb201_cell
from randnas.spaces.rnn import RnnGenotype, rnn_genotype_from_dict, sample_rnn_genotype

SEARCH_EXPERIMENTS = {"cnn": "cnn/rsws", "rnn": "rnn/rsws", "nb201": "nb201/rsws"}
ASHA_EXPERIMENTS = {"cnn": "cnn/asha", "ptb": "rnn/asha"}
DARTS_EXPERIMENTS = {"cnn": "cnn/darts", "rnn": "rnn/darts", "nb201": "nb201/darts"}
CNN_SEARCH_EXPERIMENT = SEARCH_EXPERIMENTS["cnn"]
RNN_SEARCH_EXPERIMENT = SEARCH_EXPERIMENTS["rnn"]
GENOTYPE_ARTIFACT = tracking.GENOTYPE_ARTIFACT
TAG_SETTING = "randnas.setting"
FROM_DICT = {"cnn": cnn_genotype_from_dict, "rnn": rnn_genotype_from_dict, "nb201": nb201_cell_from_dict}
SAMPLERS = {"cnn": sample_cnn_genotype, "rnn": sample_rnn_genotype, "nb201": sample_nb201_cell}
RANDOM_BASELINE_STREAM = 4  # keeps "random" genotypes apart from the searches' own draws
TRAIN_EXPERIMENTS = {"cnn": "cnn/train", "rnn": "rnn/train"}
ASHA_SPACE = {"cnn": "cnn", "rnn": "ptb"}  # ASHA_EXPERIMENTS is keyed by benchmark
TAG_STAGE = "randnas.stage"
TAG_SEARCH_RUN = "randnas.search_run"
TAG_SEARCH_SEEDS = "randnas.search_seeds"
# Stage 2 picks the best trial by the number each benchmark reports: the paper chose CIFAR-10 trials by
# their stage-2 test error and PTB trials by validation perplexity (lower is better for both).
STAGE2_SELECTION_METRIC = {"cnn": "test/error", "rnn": "valid/best_ppl"}
STAGE2_SELECTION_WORDS = {"cnn": "stage-2 test error", "rnn": "stage-2 best validation perplexity"}
# genotype specs that select among stage-2 runs: the spec a stage-2 run was logged under
BEST_OF = {"best-rsws": "rsws", "best-random": "random", "best-darts": "darts"}
# genotype specs that name a search's pick by (preset, search setting, search seed)
SEARCH_PICKS = ("rsws", "darts")


@dataclass(frozen=True)
class Stage2Pick:
    """Stage 3's architecture: the trial of one independent search run with the best stage-2 result."""

    genotype: Any
    search_seed: int  # the winning trial
    value: float  # its stage-2 number (the mean over its stage-2 training seeds)
    run_id: str  # the winning trial's stage-2 run whose genotype artifact was read
    candidates: dict[int, float]  # every trial's stage-2 number, by search seed


def search_run_seeds(search_run: int, trials_per_run: int, first_search_seed: int) -> list[int]:
    """The search seeds of independent run `search_run` (1-based): each run holds `trials_per_run`
    consecutive seeds from `first_search_seed` on (the paper: 4 trials a run, seeds 1-4 = Run 1)."""
    if search_run < 1 or trials_per_run < 1:
        raise GenotypeError(f"search_run ({search_run}) and trials_per_run ({trials_per_run}) must be at least 1")
    start = first_search_seed + (search_run - 1) * trials_per_run
    return list(range(start, start + trials_per_run))


def search_run_of(search_seed: int, trials_per_run: int, first_search_seed: int) -> int:
    """The independent run a search seed belongs to under that layout (the inverse of `search_run_seeds`)."""
    if trials_per_run < 1 or search_seed < first_search_seed:
        raise GenotypeError(
            f"search seed {search_seed} is not in a run of {trials_per_run} trials from seed {first_search_seed}"
        )
    return (search_seed - first_search_seed) // trials_per_run + 1


def best_stage2_pick(space: str, kind: str, preset: str, search_setting: str, search_seeds: list[int]) -> Stage2Pick:
    """Among the stage-2 runs of `kind` (`rsws` picks of `search_setting`, or `random` baseline cells)
    for these search seeds in `preset`, the trial with the lowest stage-2 number. Every trial must have
    been trained: a pick made among part of a run's trials is not the paper's stage 2."""
    metric = STAGE2_SELECTION_METRIC[space]
    found: dict[int, list[tuple[float, str]]] = {}
    for run in tracking.find_runs(TRAIN_EXPERIMENTS[space], status=tracking.FINISHED):
        tags = run.data.tags
        if not tracking.usable_as_input(run) or (
            tags.get(tracking.TAG_PRESET) != preset
            or tags.get("randnas.genotype_spec") != kind
            or tags.get(TAG_STAGE, "2") != "2"
            or metric not in run.data.metrics
        ):
            continue
        if kind in SEARCH_PICKS and tags.get("randnas.search_setting") != search_setting:
            continue
        seed = int(tags.get("randnas.search_seed", "-1"))
        if seed in search_seeds:
            found.setdefault(seed, []).append((float(run.data.metrics[metric]), run.info.run_id))
    missing = [seed for seed in search_seeds if seed not in found]
    if missing:
        what = f"the {search_setting} picks" if kind in SEARCH_PICKS else "the random baseline's cells"
        raise GenotypeError(
            f"stage 3 needs the stage-2 runs of {what} for search seeds {search_seeds} in preset {preset!r}; "
            f"missing: {missing}. Run their stage-2 entry first (it comes before stage 3 in the plan)"
        )
    candidates = {seed: sum(v for v, _ in runs) / len(runs) for seed, runs in found.items()}
    winner = min(sorted(candidates), key=lambda seed: candidates[seed])
    run_id = found[winner][0][1]
    return Stage2Pick(genotype_from_run(space, run_id), winner, candidates[winner], run_id, candidates)


def asha_pick_run(space: str, preset: str, search_seed: int) -> str:
    """The newest FINISHED ASHA search (parent run) of this space, preset and seed: its best cell is the pick."""
    experiment = ASHA_EXPERIMENTS[ASHA_SPACE[space]]
    for run in tracking.find_runs(experiment, status=tracking.FINISHED):
        tags = run.data.tags
        if "mlflow.parentRunId" in tags or not tracking.usable_as_input(run):
            continue  # a trial's child run, or a hand run a plan job may not read
        if tags.get(tracking.TAG_PRESET) == preset and tags.get(tracking.TAG_SEED) == str(search_seed):
            return run.info.run_id
    raise GenotypeError(
        f"no FINISHED {experiment} search with preset {preset!r} and seed {search_seed}: run that search first"
    )


def genotype_from_run(space: str, run_id: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return FROM_DICT[space](tracking.load_json_artifact(run_id, GENOTYPE_ARTIFACT))
    except OSError as error:
        raise GenotypeError(f"run {run_id} has no {GENOTYPE_ARTIFACT} artifact: {error}") from None
    except MlflowException:
        raise GenotypeError(
            f"no run {run_id!r} in the record {tracking.default_store()}; copy the id from the MLflow UI or the book"
        ) from None


def find_genotype(
    space: str, spec: str, preset: str = "", search_setting: str = "", search_seed: int = 0
) -> tuple[Any, str]:
    """The genotype `spec` names in `space` (cnn or rnn), and the MLflow run it came from ("" if none).

    `spec` is a registered name (DARTS_V2), a DARTS `Genotype(...)` string, `run:<MLflow run id>`,
    `rsws`: the pick of the newest FINISHED `single`-mode search run of this space, preset, setting and seed, or
    `random`: a uniformly sampled genotype, one per `search_seed` (the random-search baseline of Liu et al.),
    `asha`: the best cell of the ASHA search with seed `search_seed` in this preset,
    `darts`: the final cell of the newest FINISHED DARTS search of this preset, setting and seed.
    (Stage 3's `best-rsws`, `best-random` and `best-darts` select among stage-2 runs: see `best_stage2_pick`.)
    """
    if space not in SEARCH_EXPERIMENTS:
        raise GenotypeError(f"unknown search space {space!r}; choose one of {', '.join(SEARCH_EXPERIMENTS)}")
    if spec == "random":
        return SAMPLERS[space](numpy_generator(search_seed, RANDOM_BASELINE_STREAM)), ""
    if spec == "asha":
        run_id = asha_pick_run(space, preset, search_seed)
        return genotype_from_run(space, run_id), run_id
    if spec.startswith("run:"):
        run_id = spec.removeprefix("run:").strip()
        return genotype_from_run(space, run_id), run_id
    if spec == "rsws":
        experiment = SEARCH_EXPERIMENTS[space]
        wanted = {tracking.TAG_PRESET: preset, TAG_SETTING: search_setting, tracking.TAG_SEED: str(search_seed)}
        # the paper's algorithm: a `dense` search (the released code's supernet) is never a stage-2 pick
        run = tracking.newest_finished_run(experiment, wanted, params={"mode": "single"})
        if run is None:
            raise GenotypeError(
                f"no FINISHED {experiment} run with preset {preset!r}, setting {search_setting!r} and "
                f"seed {search_seed}: run that search first (its plan entry comes before this one)"
            )
        return genotype_from_run(space, run.info.run_id), run.info.run_id
    if spec == "darts":
        if space not in DARTS_EXPERIMENTS:
            raise GenotypeError(
                f"no DARTS search on the {space} space yet; DARTS runs on {', '.join(DARTS_EXPERIMENTS)}"
            )
        experiment = DARTS_EXPERIMENTS[space]
        wanted = {tracking.TAG_PRESET: preset, TAG_SETTING: search_setting, tracking.TAG_SEED: str(search_seed)}
        run = tracking.newest_finished_run(experiment, wanted)
        if run is None:
            raise GenotypeError(
                f"no FINISHED {experiment} run with preset {preset!r}, setting {search_setting!r} and "
                f"seed {search_seed}: run that search first (its plan entry comes before this one)"
            )
        return genotype_from_run(space, run.info.run_id), run.info.run_id
    return resolve_genotype(space, spec), ""


def find_cnn_genotype(
    spec: str, preset: str = "", search_setting: str = "", search_seed: int = 0
) -> tuple[CnnGenotype, str]:
    return find_genotype("cnn", spec, preset, search_setting, search_seed)


def find_rnn_genotype(
    spec: str, preset: str = "", search_setting: str = "", search_seed: int = 0
) -> tuple[RnnGenotype, str]:
    return find_genotype("rnn", spec, preset, search_setting, search_seed)


@dataclass(frozen=True)
class TrainingPick:
    """What a stage-2 or stage-3 training run trains, where it came from, and the tags that say so."""

    genotype: Any
    parent_run: str  # the search, ASHA search or stage-2 run the genotype was read from ("" if none)
    tags: dict[str, str]
    run_name: str
    summary: str  # one line for the notebook's output


def training_pick(
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
) -> TrainingPick:
    """Resolve a training notebook's genotype parameters into the genotype and the run's provenance tags.

    Stage 2 trains one trial's pick (`rsws`, `random`, a name, ...); its independent search run is
    `search_run`, or derived from `search_seed` when `trials_per_run` > 0. Stage 3 trains with more seeds
    (CIFAR-10) or more epochs (PTB); `best-rsws` / `best-random` select the stage-2 winner among the
    `trials_per_run` trials of run `search_run`.
    """
    if stage not in (2, 3):
        raise GenotypeError(f"stage must be 2 or 3, got {stage!r}")
    if spec in BEST_OF and stage != 3:
        raise GenotypeError(f"genotype {spec!r} selects stage 3's architecture among stage-2 runs: set stage=3")
    tags = {"randnas.genotype_spec": spec, TAG_STAGE: str(stage)}
    if spec in BEST_OF:
        if trials_per_run < 1:
            raise GenotypeError(
                f"genotype {spec!r} needs trials_per_run >= 1 (the trials of one independent search run)"
            )
        seeds = search_run_seeds(search_run, trials_per_run, first_search_seed)
        pick = best_stage2_pick(space, BEST_OF[spec], preset, search_setting, seeds)
        genotype, parent = pick.genotype, pick.run_id
        tags.update(
            {
                "randnas.search_seed": str(pick.search_seed),
                TAG_SEARCH_RUN: str(search_run),
                TAG_SEARCH_SEEDS: ",".join(map(str, seeds)),
                "randnas.selected_by": STAGE2_SELECTION_WORDS[space],
                "randnas.stage2_candidates": ", ".join(f"{s}: {v:.4g}" for s, v in sorted(pick.candidates.items())),
            }
        )
        if BEST_OF[spec] in SEARCH_PICKS:
            tags["randnas.search_setting"] = search_setting
        what = search_setting if BEST_OF[spec] in SEARCH_PICKS else "random"
        run_name = f"stage3-{what}-run{search_run}-s{pick.search_seed}-seed{seed}"
        summary = (
            f"stage 3: search seed {pick.search_seed} won run {search_run} (seeds {seeds}) by "
            f"{STAGE2_SELECTION_WORDS[space]} {pick.value:.4g}; all trials: {tags['randnas.stage2_candidates']}"
        )
    else:
        genotype, parent = find_genotype(space, spec, preset, search_setting, search_seed)
        prefix = "stage3-" if stage == 3 else ""
        if spec in (*SEARCH_PICKS, "random"):
            run = search_run_of(search_seed, trials_per_run, first_search_seed) if trials_per_run > 0 else search_run
            tags.update({"randnas.search_seed": str(search_seed), TAG_SEARCH_RUN: str(run)})
            if spec in SEARCH_PICKS:
                tags["randnas.search_setting"] = search_setting
            run_name = f"{prefix}{spec}-{search_setting + '-' if spec in SEARCH_PICKS else ''}s{search_seed}-seed{seed}"
        elif spec == "asha":
            tags["randnas.search_seed"] = str(search_seed)
            run_name = f"{prefix}asha-s{search_seed}-seed{seed}"
        else:
            run_name = f"{prefix}{spec if len(spec) <= 40 else 'genotype'}-seed{seed}"
        summary = f"stage {stage}: {spec}" + (f" (from run {parent})" if parent else "")
    tags.update({"randnas.genotype": genotype.to_darts(), "randnas.parent": parent})
    return TrainingPick(genotype, parent, tags, run_name, summary)


def search_scores(
    preset: str, search_setting: str, search_seed: int, data: Any, search_overrides: dict, device: str = "auto"
) -> tuple[list[dict], str]:
    """The scored architectures of the CNN search of this preset, setting and seed, and its run id. Where
    the record has no such search (a fresh store, a notebook run alone), that search is run here at the
    size `search_overrides` gives, unlogged, and the run id is ""."""
    try:
        _, run_id = find_genotype("cnn", "rsws", preset, search_setting, search_seed)
    except GenotypeError:
        from randnas.repro import seed_everything
        from randnas.search.cnn import CnnSearch, cnn_setting

        seed_everything(search_seed)
        search = CnnSearch(cnn_setting(search_setting, **search_overrides), data, search_seed, device)
        search.train(None)
        return search.select().scored, ""
    return tracking.load_json_artifact(run_id, "selection/scores.json"), run_id
