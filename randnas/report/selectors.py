"""Which runs a table (and the claims ledger beside it) reads: each rule in one function that both call, so a
ledger row can never count runs its table leaves out, or the other way round."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from randnas.experiments.base import Record, Run
from randnas.experiments.darts import DartsRow
from randnas.experiments.rsws import SearchRow
from randnas.experiments.train import TrainRow, trial_values

# the paper's reproduced-DARTS rows are second-order searches; this project's first-order ones get their own row
PAPER_DARTS_SETTING = "darts-second"
# the setting whose stage 3 the paper reports: Random (5) on CIFAR-10, Random (4) on PTB
FINAL_SETTING = {"cnn": "random5", "ptb": "random4"}
SEARCH_SPACE = {"cnn": "cnn", "ptb": "rnn"}


def trainings(
    record: Record, benchmark: str, preset: str, stage: int, spec: str | None = None, setting: str | None = None
) -> list[TrainRow]:
    """A stage's trainings of a benchmark in a preset (of one genotype spec and search setting, if given); a
    same-seed repeat (repeat > 1) is a reproducibility check, not another training, so it is left out."""
    return record.of(
        TrainRow,
        preset,
        lambda run: (
            run.benchmark == benchmark
            and run.stage == stage
            and run.repeat == 1
            and (spec is None or run.genotype_spec == spec)
            and (setting is None or run.search_setting == setting)
        ),
    )


@dataclass(frozen=True)
class Trials:
    """One independent run of a search setting: its trials (a search seed each) and their picks' stage-2 numbers."""

    setting: str
    search_run: int
    values: dict[int, float]  # search seed -> the trial's stage-2 number (a pick trained with several seeds: mean)
    trainings: list[TrainRow] = field(default_factory=list)
    searches: list[Run] = field(default_factory=list)  # the stage-1 searches of those trials

    @property
    def numbers(self) -> list[float]:
        return list(self.values.values())


def stage2_trials(record: Record, benchmark: str, preset: str, spec: str) -> dict[tuple[str, int], Trials]:
    """Tables 2 and 7: the stage-2 trials of every (search setting, independent run) of `rsws` or `darts` picks,
    with the searches they come from (`single`-mode searches only: a `dense` search is never a pick)."""
    picks = trainings(record, benchmark, preset, 2, spec)
    space = SEARCH_SPACE[benchmark]
    if spec == "darts":
        searched: list[Run] = record.of(DartsRow, preset, lambda run: run.space == space)
    else:
        searched = record.of(SearchRow, preset, lambda run: run.space == space and run.mode == "single")
    groups: dict[tuple[str, int], list[TrainRow]] = {}
    for run in picks:
        groups.setdefault((run.search_setting, run.search_run), []).append(run)
    found = {}
    for key in sorted(groups):
        values = trial_values(groups[key])
        used = [run for run in searched if getattr(run, "setting", "") == key[0] and run.seed in values]
        found[key] = Trials(key[0], key[1], values, groups[key], used)
    return found


def final_setting(stage3: Sequence[TrainRow], benchmark: str) -> str | None:
    """The setting whose stage 3 the comparison shows: the paper's final one (Random (5) / Random (4)) when it
    ran, else the only (or last) setting with stage-3 runs."""
    settings = sorted({run.search_setting for run in stage3 if run.search_setting})
    if not settings:
        return None
    return FINAL_SETTING[benchmark] if FINAL_SETTING[benchmark] in settings else settings[-1]


def rsws_stage3(record: Record, benchmark: str, preset: str) -> list[TrainRow]:
    """Tables 1 and 6's RSWS row: stage 3 of Run 1 of the final setting."""
    candidates = trainings(record, benchmark, preset, 3, "best-rsws")
    final = final_setting(candidates, benchmark)
    return [run for run in candidates if run.search_setting == final and run.search_run == 1]


def independent_runs(record: Record, benchmark: str, preset: str) -> dict[tuple[str, int], list[TrainRow]]:
    """Table 4: every independent RSWS run through stage 3, by (setting, run): its stage-3 trainings."""
    groups: dict[tuple[str, int], list[TrainRow]] = {}
    for run in trainings(record, benchmark, preset, 3, "best-rsws"):
        groups.setdefault((run.search_setting, run.search_run), []).append(run)
    return {key: groups[key] for key in sorted(groups)}


def repeated_jobs(record: Record, preset: str) -> dict[str, list[Run]]:
    """The exact-reproducibility table: plan jobs run more than once with the same seed (the plan's `repeat`
    axis), each with its runs (newest first), for every run with a digest."""
    groups: dict[str, list[Run]] = {}
    for run in record.with_preset(preset):
        if run.digest and run.plan_key:
            groups.setdefault(run.job, []).append(run)
    return {job: runs for job, runs in sorted(groups.items()) if len(runs) >= 2}
