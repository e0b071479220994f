"""Which runs a table (and the claims ledger beside it) reads: each rule in one function that both call, so a
ledger row can never count runs its table leaves out, or the other way round."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from randnas.experiments.base import Record, Run
from randnas.experiments.darts import DartsRow
from randnas.experiments.enas import SETTING as ENAS_SETTING
from randnas.experiments.enas import EnasRow
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
    """Tables 2 and 7: the stage-2 trials of every (search setting, independent run) of `rsws`, `darts` or `enas`
    picks, with the searches they come from (`single`-mode searches only: a `dense` search is never a pick)."""
    picks = trainings(record, benchmark, preset, 2, spec)
    space = SEARCH_SPACE[benchmark]
    if spec == "darts":
        searched: list[Run] = record.of(DartsRow, preset, lambda run: run.space == space)
    elif spec == "enas":
        searched = record.of(EnasRow, preset, lambda run: run.space == space)
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


def setting_trials(record: Record, benchmark: str, preset: str, setting: str, search_run: int = 1) -> Trials | None:
    """One row of Tables 2 and 7: the trials of one independent run of one RSWS setting (None: not run)."""
    return stage2_trials(record, benchmark, preset, "rsws").get((setting, search_run))


def final_trials(record: Record, benchmark: str, preset: str) -> Trials | None:
    """The row of Tables 2 and 7 that the paper carries to stage 3 and sets against DARTS: Run 1 of Random (5)
    (CIFAR-10) or Random (4) (PTB); where that setting has not run, Run 1 of the last setting that has."""
    runs1 = {key[0]: trials for key, trials in stage2_trials(record, benchmark, preset, "rsws").items() if key[1] == 1}
    if not runs1:
        return None
    return runs1.get(FINAL_SETTING[benchmark], runs1[max(runs1)])


def darts_trials(record: Record, benchmark: str, preset: str) -> Trials | None:
    """The reproduced-DARTS row of Tables 2 and 7: Run 1 of this project's second-order DARTS searches' picks."""
    return stage2_trials(record, benchmark, preset, "darts").get((PAPER_DARTS_SETTING, 1))


def enas_trials(record: Record, benchmark: str, preset: str) -> Trials | None:
    """The ENAS row of Tables 2 and 7 (this project's own; the paper has none): Run 1 of our ENAS searches' picks."""
    return stage2_trials(record, benchmark, preset, "enas").get((ENAS_SETTING, 1))


def final_setting(stage3: Sequence[TrainRow], benchmark: str) -> str | None:
    """The setting whose stage 3 the comparison shows: the paper's final one (Random (5) / Random (4)) when it
    ran, else the only (or last) setting with stage-3 runs."""
    settings = sorted({run.search_setting for run in stage3 if run.search_setting})
    if not settings:
        return None
    return FINAL_SETTING[benchmark] if FINAL_SETTING[benchmark] in settings else settings[-1]


def rsws_stage3(record: Record, benchmark: str, preset: str, search_run: int = 1) -> list[TrainRow]:
    """Tables 1 and 6's RSWS row: stage 3 of Run 1 of the final setting (Table 8's Run 2: `search_run=2`)."""
    candidates = trainings(record, benchmark, preset, 3, "best-rsws")
    final = final_setting(candidates, benchmark)
    return [run for run in candidates if run.search_setting == final and run.search_run == search_run]


# the genotype spec of each method's stage-3 trainings (Tables 1 and 6)
STAGE3_SPEC = {"rsws": "best-rsws", "asha": "asha", "random": "best-random", "darts": "best-darts", "enas": "best-enas"}


def stage3(record: Record, benchmark: str, preset: str, method: str) -> list[TrainRow]:
    """A row of Tables 1 and 6 filled by this project's own protocol: stage 3 of `method` (rsws: Run 1 of the
    final setting; darts: Run 1 of the second-order searches; enas: Run 1 of the ENAS searches; random: Run 1 of Liu
    et al.'s baseline; asha)."""
    if method == "rsws":
        return rsws_stage3(record, benchmark, preset)
    runs = trainings(record, benchmark, preset, 3, STAGE3_SPEC[method])
    if method == "darts":
        return [run for run in runs if run.search_setting == PAPER_DARTS_SETTING and run.search_run == 1]
    if method == "enas":
        return [run for run in runs if run.search_setting == ENAS_SETTING and run.search_run == 1]
    if method == "random":
        return [run for run in runs if run.search_run == 1]
    return runs


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


def ranking_trials(record: Record, benchmark: str, preset: str) -> tuple[str, list[TrainRow]]:
    """Table 3's trials: our second-order DARTS trials through stage 2 where there are at least two, else our RSWS
    trials (`darts` or `rsws`, and one training per trial: its lowest training seed), by setting and trial."""
    darts = trainings(record, benchmark, preset, 2, "darts", PAPER_DARTS_SETTING)
    kind = "darts" if len({run.search_seed for run in darts if run.search_seed is not None}) >= 2 else "rsws"
    runs = darts if kind == "darts" else trainings(record, benchmark, preset, 2, "rsws")
    first: dict[tuple[str, int | None], TrainRow] = {}
    for run in sorted(runs, key=lambda run: (run.seed is None, run.seed or 0)):
        first.setdefault((run.search_setting, run.search_seed), run)
    return kind, sorted(first.values(), key=lambda run: (run.search_setting, run.search_seed or 0))


def table8_runs(stage3: Sequence[TrainRow], name: str) -> tuple[list[TrainRow], str]:
    """Our stage-3 runs for one of Table 8's rows (DARTS, ASHA, Random (4) Run 1 / Run 2), and how to label them."""
    if name == "DARTS":  # our own DARTS search's pick where it ran (like the paper's row), else the published cell
        ours = [r for r in stage3 if r.genotype_spec == "best-darts" and r.search_setting == PAPER_DARTS_SETTING]
        if ours:
            return ours, "ours: our DARTS search's pick"
        return [r for r in stage3 if r.genotype_spec == "DARTS_V2"], "ours: the published DARTS_V2 cell"
    if name == "ASHA":
        return [r for r in stage3 if r.genotype_spec == "asha"], "ours"
    search_run = 1 if name.endswith("Run 1") else 2
    picks = [r for r in stage3 if r.genotype_spec == "best-rsws" and r.search_run == search_run]
    final = final_setting(picks, "ptb")
    return [r for r in picks if r.search_setting == final], f"ours: {final}'s pick, search run {search_run}"
