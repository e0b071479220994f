"""The paper's stage-2 tables rebuilt from the record, our numbers beside the paper's: Tables 2 and 7 (each
search setting's trials), Tables 3 and 8 (short against long training), and the published DARTS_V2 cell as a
reference point. Tables 1 and 6 are `comparison`; Tables 4 and 5 and exact reproducibility `reproducibility`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from randnas import paper
from randnas.experiments.base import Record, Run
from randnas.experiments.train import TrainRow, curve
from randnas.report import selectors
from randnas.report.common import (
    STD_NOTE,
    Table,
    describe_scale,
    fmt,
    fmt_any,
    ids,
    in_record_order,
    mean_std,
    same_protocol,
    short_ids,
)
from randnas.report.selectors import FINAL_SETTING, PAPER_DARTS_SETTING, Trials, trainings
from randnas.statistics import TAU_WORDS, kendall_interval, tau_grade

DARTS_LABELS = {
    "darts-second": "Reproduced DARTS",
    "darts-first": "DARTS first order (this project's runs; no such row in the paper)",
}
ENAS_LABEL = "ENAS (this project's runs; no such row in the paper)"


# ---- Tables 2 and 7: stage-2 results of the search settings ---------------------------------------


def stage2_table(record: Record, benchmark: str, preset: str) -> Table:
    """Each setting's independent run: its trials (one search seed each) and their picks' stage-2 result, with the
    settings the searches used beside the paper's. The paper's reproduced-DARTS row is filled from this project's
    own second-order DARTS searches, first order in a row of its own."""
    cnn = benchmark == "cnn"
    published, printed = (paper.TABLE2, paper.TABLE2_PRINTED) if cnn else (paper.TABLE7, paper.TABLE7_PRINTED)
    ours: dict[str, Trials] = {}
    for (setting, run), trials in selectors.stage2_trials(record, benchmark, preset, "rsws").items():
        ours[setting if run == 1 else f"{setting}_run{run}"] = trials
    darts_key = "darts" if cnn else "darts_reproduced"  # the paper's key for its reproduced-DARTS row
    for (setting, run), trials in selectors.stage2_trials(record, benchmark, preset, "darts").items():
        ours[darts_key if setting == PAPER_DARTS_SETTING and run == 1 else f"{setting}_run{run}"] = trials
    for (_, run), trials in selectors.stage2_trials(record, benchmark, preset, "enas").items():
        ours["enas" if run == 1 else f"enas_run{run}"] = trials  # this project's own row: the paper has none
    rows, used = [], []
    # every row of the paper's table in its order (ours blank where not run), then any further runs of ours
    for key in [*published, *(k for k in ours if k not in published)]:
        trials = ours.get(key, Trials("", 1, {}))
        if key.startswith("darts"):
            label = {
                "darts": DARTS_LABELS[PAPER_DARTS_SETTING],
                "darts_reproduced": "Reproduced DARTS",
                "darts_published": "DARTS [Liu et al.] (their 4 searches)",
            }.get(key)
            if label is None:  # a further DARTS setting of ours (first order), or a second run of it
                setting, _, run = key.partition("_run")
                label = DARTS_LABELS.get(setting, setting) + (f" Run {run}" if run != "1" else "")
            note = "not run at this preset" if key == darts_key else "not run: the paper's own searches"
        elif key.startswith("enas"):
            run = key.partition("_run")[2]
            label = ENAS_LABEL + (f" Run {run}" if run else "")
            note = "not run at this preset"
        else:
            setting, _, run = key.partition("_run")
            final = run or setting == FINAL_SETTING[benchmark]  # the paper names the final setting's runs
            label = f"Random ({setting.removeprefix('random')})" + (f" Run {run or 1}" if final else "")
            note = "not run at this preset"
        rows.append(_stage2_row(label, key, benchmark, trials, published, printed, ours_note=note))
        used += [*ids(trials.trainings), *ids(trials.searches)]
    frame = pd.DataFrame(rows)
    numbers = [
        "setting",
        "paper: trials",
        "paper: best",
        "paper: average",
        "ours: trials",
        "ours: best",
        "ours: average",
    ]
    frame = frame[numbers + [c for c in frame if c not in numbers]]  # the results first, the settings after
    unit = "test error (%) after stage 2" if cnn else "validation perplexity after stage 2"
    title = f"{'Table 2' if cnn else 'Table 7'}: {unit}, one trial per independent search"
    both = in_record_order(record, used)
    note = (
        "One trial = one search (its seed) whose pick is trained from scratch; a pick trained with several seeds "
        "counts once, at its mean. 'best' is the lowest trial, chosen on "
        + ("test error, as the paper chose it" if cnn else "validation perplexity, as the paper chose it")
        + f". The settings columns are the stage-1 search's on {'CIFAR-10' if cnn else 'PTB'}"
        + ("" if cnn else f"; the paper evaluated {paper.TABLE7_ARCHITECTURES} architectures in every row")
        + ". "
        + STD_NOTE
    )
    settings = tuple(c for c in frame if c not in numbers and c != "runs")  # folded beneath the comparison
    return Table(title, frame, describe_scale(both), ids(both), note, settings)


def _setting_values(searches: Sequence[Run], name: str) -> str:
    """The distinct values of one setting (`epochs`, `grad_clip`, ...) over the searches, as printed."""
    found = {getattr(run, name, None) for run in searches}
    numbers = sorted(float(v) for v in found if v is not None and not (isinstance(v, float) and math.isnan(v)))
    return ", ".join(f"{v:g}" for v in dict.fromkeys(numbers))


def _stage2_row(
    label: str, key: str, benchmark: str, trials: Trials, published: dict, printed: dict, ours_note: str = ""
) -> dict:
    paper_trials, (best, average) = published.get(key), printed.get(key, (None, None))
    searches, values, digits = trials.searches, trials.numbers, 2 if benchmark == "cnn" else 1
    row = {"setting": label}
    if benchmark == "cnn":
        epochs, clip, channels, archs = paper.TABLE2_SETTINGS.get(key.split("_run")[0], (None,) * 4)
        row.update(
            {
                "paper: epochs": fmt_any(epochs),
                "ours: epochs": _setting_values(searches, "epochs"),
                "paper: clip": fmt_any(clip),
                "ours: clip": _setting_values(searches, "grad_clip"),
                "paper: channels": fmt_any(channels),
                "ours: channels": _setting_values(searches, "channels"),
            }
        )
    else:
        network, epochs, batch, clip = paper.TABLE7_SETTINGS.get(key, (None,) * 4)
        archs = paper.TABLE7_ARCHITECTURES if key in paper.TABLE7_SETTINGS else None
        row.update(
            {
                "paper: network": fmt_any(network),
                "ours: hidden": _setting_values(searches, "hidden"),
                "paper: epochs": fmt_any(epochs),
                "ours: epochs": _setting_values(searches, "epochs"),
                "paper: batch": fmt_any(batch),
                "ours: batch": _setting_values(searches, "batch_size"),
                "paper: clip": fmt_any(clip),
                "ours: clip": _setting_values(searches, "grad_clip"),
            }
        )
    scored = {str(run.archs_scored) for run in searches if getattr(run, "archs_scored", None) is not None}
    row.update(
        {
            "paper: archs evaluated": fmt_any(archs),
            "ours: archs evaluated": ", ".join(sorted(scored)),
            "paper: trials": ", ".join(fmt(v, digits) for v in paper_trials) if paper_trials else "",
            "paper: best": fmt(best, digits),
            "paper: average": fmt(average, digits),
            "ours: trials": ", ".join(fmt(v) for v in values) or ours_note,
            # min: a diverged trial (inf) is never the best of finite ones
            "ours: best": fmt(min(values)) if values else "",
            "ours: average": mean_std(values),
            "runs": short_ids(trials.trainings),
        }
    )
    return row


def reference_runs(record: Record, benchmark: str, preset: str) -> list[TrainRow]:
    """Liu et al.'s published DARTS_V2 cell trained with the protocol of the picks' stage 2."""
    reference = record.of(TrainRow, preset, lambda run: run.benchmark == benchmark and run.genotype_spec == "DARTS_V2")
    return same_protocol(reference, trainings(record, benchmark, preset, 2, "rsws"))


def reference_cell_table(record: Record, benchmark: str, preset: str) -> Table:
    """Liu et al.'s published DARTS_V2 cell trained with the picks' stage-2 protocol over training seeds: a
    reference point, not trials of a search (the paper has no such row in Tables 2 and 7)."""
    runs = reference_runs(record, benchmark, preset)
    values = [run.value for run in runs]
    frame = (
        pd.DataFrame(
            [
                {
                    "cell": "DARTS_V2 (Liu et al.'s published cell)",
                    "training seeds": len(values),
                    "ours: per seed": ", ".join(fmt(v) for v in values),
                    "ours: mean": mean_std(values),
                    "runs": short_ids(runs),
                }
            ]
        )
        if values
        else pd.DataFrame()
    )
    unit = "test error (%)" if benchmark == "cnn" else "best validation perplexity"
    return Table(
        f"Reference: the published DARTS_V2 cell with the same stage-2 protocol ({unit})",
        frame,
        describe_scale(runs),
        ids(runs),
        "Training seeds of one fixed cell, not trials of a search, so it is not set beside the paper's DARTS rows. "
        + STD_NOTE,
    )


# ---- Tables 3 and 8: short against long training --------------------------------------------------


def ranking_pairs(record: Record, benchmark: str, preset: str) -> tuple[str, pd.DataFrame]:
    """Table 3's numbers: each trial's error after 1/6 of its epochs (the paper's 100 of 600) and at the end, for
    the trials `selectors.ranking_trials` chooses (`darts` or `rsws`); the table and the ledger read these."""
    kind, runs = selectors.ranking_trials(record, benchmark, preset)
    rows = []
    for run in runs:
        epochs = run.epochs
        short = max(1, round(epochs * paper.TABLE3["short_epochs"] / paper.TABLE3["long_epochs"]))
        error = curve(record, run)
        if short not in error or epochs not in error:
            continue
        rows.append(
            {
                "trial": f"{run.search_setting} search seed {run.search_seed}",
                "short epochs": short,
                "ours: short error": error[short],
                "long epochs": epochs,
                "ours: long error": error[epochs],
                "run_id": run.run_id,
            }
        )
    columns = ["trial", "short epochs", "ours: short error", "long epochs", "ours: long error", "run_id"]
    return kind, pd.DataFrame(rows, columns=columns)


def _ranked(rows: list[dict], columns: Sequence[tuple[str, str]]) -> list[dict]:
    """`rows` with a rank column per (value column, rank column), 1 = lowest; ranks are left blank for fewer than two
    rows (nothing to rank), and each group of rows (the paper's, ours) is ranked on its own."""
    if len(rows) < 2:
        return [{**row, **{rank: "" for _, rank in columns}} for row in rows]
    out = [dict(row) for row in rows]
    for value, rank in columns:
        ranks = pd.Series([row[value] for row in rows], dtype=float).rank(method="min")
        for row, r in zip(out, ranks, strict=True):
            row[rank] = "" if math.isnan(r) else int(r)
    return out


def ranking_table(record: Record, benchmark: str, preset: str) -> Table:
    """CNN: Table 3 - the paper's 4 reproduced DARTS trials and ours (our second-order DARTS searches' picks), each
    trial's test error after 1/6 of the epochs (the paper's 100 of 600) and at the end with its rank among its own
    group at both, then each group's best trial over several seeds; Kendall's tau in the note. Where a preset has
    fewer than two DARTS trials, the same question asked of its RSWS trials, labelled so. PTB: Table 8."""
    if benchmark == "ptb":
        return table8(record, preset)
    kind, frame = ranking_pairs(record, benchmark, preset)
    runs = in_record_order(record, frame["run_id"])
    short, long, (low, mean, std) = paper.TABLE3["short"], paper.TABLE3["long"], paper.TABLE3["ten_seeds"]
    ranks = (("short error", "rank short"), ("long error", "rank long"))
    papers = _ranked(
        [
            {
                "trial": f"trial {i}",
                "source": "paper",
                "short epochs": paper.TABLE3["short_epochs"],
                "short error": s,
                "long epochs": paper.TABLE3["long_epochs"],
                "long error": lg,
                "run_id": "",
            }
            for i, (s, lg) in enumerate(zip(short, long, strict=True), 1)
        ],
        ranks,
    )
    ours = _ranked(
        [
            {
                "trial": row["trial"],
                "source": "ours",
                "short epochs": row["short epochs"],
                "short error": row["ours: short error"],
                "long epochs": row["long epochs"],
                "long error": row["ours: long error"],
                "run_id": row["run_id"],
            }
            for row in frame.to_dict("records")
        ],
        ranks,
    )
    rows = [{**row, "short error": fmt(row["short error"]), "long error": fmt(row["long error"])} for row in papers]
    rows.append(
        {
            "trial": "the best trial over 10 seeds",
            "source": "paper",
            "long error": f"min {low:.2f}, average {mean:.2f} ± {std:.2f}",
        }
    )
    rows += [{**row, "short error": fmt(row["short error"]), "long error": fmt(row["long error"])} for row in ours]
    stage3 = selectors.stage3(record, benchmark, preset, kind)
    if stage3:
        values = [run.test_error for run in stage3]
        rows.append(
            {
                "trial": f"our best trial over {len(values)} seed(s) (stage 3)",
                "source": "ours",
                "long error": f"min {min(values):.2f}, average {mean_std(values)}",
                "run_id": " ".join(run.run_id for run in stage3),
            }
        )
    columns = ["trial", "source", "short epochs", "short error", "rank short", "long epochs", "long error"]
    shown = pd.DataFrame(rows, columns=[*columns, "rank long", "run_id"]).fillna("")
    for column in ("short epochs", "long epochs", "rank short", "rank long"):
        shown[column] = shown[column].map(lambda v: "" if v == "" else str(int(v)))
    note = "The paper's Table 3 ranks its 4 reproduced DARTS trials after 100 and after 600 stage-2 epochs. " + (
        "Ours: this project's second-order DARTS searches, each pick's stage 2, at 1/6 of our epochs and at the end."
        if kind == "darts"
        else "This preset has fewer than two of our own second-order DARTS trials through stage 2; our rows are "
        "our RSWS trials instead."
    )
    if len(frame) >= 2:
        tau = kendall_interval(frame["ours: short error"], frame["ours: long error"])
        paper_tau = kendall_tau(pd.Series(short), pd.Series(long))
        words = (
            f"{tau.value:.2f}, {tau_grade(tau.value)} (n={tau.n}, p={tau.p_value:.2g})"
            if math.isfinite(tau.value)
            else f"undefined (n={tau.n}: a tie or fewer than 3 trials)"
        )
        note += (
            f" Kendall tau between the short and long rankings: ours {words}; the paper's {paper_tau:.2f}, "
            f"{tau_grade(paper_tau)} (4 trials). {TAU_WORDS}"
        )
    title = (
        "Table 3: our reproduced-DARTS trials ranked after short and long stage-2 training"
        if kind == "darts"
        else "Table 3's question on our RSWS trials: ranking after short and long stage-2 training"
    )
    used = [*frame["run_id"], *(run.run_id for run in stage3)]
    return Table(title, shown, describe_scale(runs), used, note)


def kendall_tau(a: pd.Series, b: pd.Series) -> float:
    return float(stats.kendalltau(a, b).statistic)


@dataclass(frozen=True)
class Table8Row:
    """One of our stage-3 PTB runs as Table 8 shows it: validation perplexity (best so far) at the paper's epochs
    scaled to the run's length, then test perplexity."""

    method: str  # the paper's row it stands beside: DARTS, ASHA, Random (4) Run 1, Random (4) Run 2
    label: str
    run: TrainRow
    checkpoints: tuple[int, ...]  # our epochs at the paper's columns
    valid: tuple[float, ...]  # best validation perplexity so far at each checkpoint

    @property
    def test(self) -> float:
        return self.run.test_ppl


def table8_rows(record: Record, preset: str) -> list[Table8Row]:
    """Table 8's rows of ours, in the paper's row order; the table and the ledger's rank-swap claim read these."""
    stage3 = trainings(record, "ptb", preset, 3)
    rows = []
    for name in paper.TABLE8:
        runs, label = selectors.table8_runs(stage3, name)
        for run in runs:
            epochs = run.epochs
            checkpoints = tuple(max(1, round(epochs * e / paper.TABLE8_EPOCHS[-1])) for e in paper.TABLE8_EPOCHS)
            perplexity = curve(record, run)
            best = np.minimum.accumulate([perplexity.get(e, math.inf) for e in range(1, epochs + 1)])
            rows.append(Table8Row(name, label, run, checkpoints, tuple(float(best[c - 1]) for c in checkpoints)))
    return rows


def table8(record: Record, preset: str) -> Table:
    """Stage 3 on PTB: validation perplexity (best so far) at the paper's epochs scaled to our runs' length, then
    test perplexity, and each row's rank at the first column, the last and test among its own group (the paper's
    rows, ours): the table is about whether the ranking holds as training goes on. A column whose scaled epoch is
    the one before's again is left blank in our row (a short run has fewer epochs than the paper has columns)."""
    first, last = f"@{paper.TABLE8_EPOCHS[0]}", f"@{paper.TABLE8_EPOCHS[-1]}"
    ranks = ((first, f"rank {first}"), (last, f"rank {last}"), ("test", "rank test"))
    papers = _ranked(
        [
            {
                "method": name,
                "source": "paper",
                **dict(zip((f"@{e}" for e in paper.TABLE8_EPOCHS), ppl, strict=True)),
                "test": test,
                "our epochs at the columns": "",
            }
            for name, (ppl, test) in paper.TABLE8.items()
        ],
        ranks,
    )
    ours_rows = table8_rows(record, preset)
    ours = _ranked(
        [
            {
                "method": row.method,
                "source": f"{row.label} ({row.run.run_id[:8]})",
                **dict(zip((f"@{e}" for e in paper.TABLE8_EPOCHS), row.valid, strict=True)),
                "test": row.test,
                "our epochs at the columns": ", ".join(map(str, row.checkpoints)) + f" of {row.run.epochs}",
                "_repeats": [i > 0 and c == row.checkpoints[i - 1] for i, c in enumerate(row.checkpoints)],
            }
            for row in ours_rows
        ],
        ranks,
    )
    rows = []
    for paper_row in papers:
        rows.append(paper_row)
        rows += [row for row in ours if row["method"] == paper_row["method"]]
    for row in rows:
        repeats = row.pop("_repeats", [False] * len(paper.TABLE8_EPOCHS))
        for e, repeated in zip(paper.TABLE8_EPOCHS, repeats, strict=True):
            row[f"@{e}"] = "" if repeated else fmt(row[f"@{e}"], 1)
        row["test"] = fmt(row["test"], 1)
    runs = [row.run for row in ours_rows]
    settings = sorted({row.run.search_setting for row in ours_rows if row.method.startswith("Random")})
    other = [setting for setting in settings if setting != "random4"]
    return Table(
        "Table 8: stage-3 validation perplexity (best so far) at increasing epochs, then test",
        pd.DataFrame(rows),
        describe_scale(runs),
        ids(runs),
        "The paper's DARTS row is its reproduced DARTS search's pick; ours is our own DARTS search's pick "
        "(ptb-darts-stage3, paper scale only) where the record has it, else Liu et al.'s published DARTS_V2 cell, "
        "labelled so: compare that one with the caveat. Our columns are the paper's epochs scaled to our run's "
        "length (blank where that is the column before's epoch again); the paper continued a 300-epoch run to 1600 "
        "and 3600 epochs, ours train from scratch. Ranks are among each group's rows, 1 = lowest perplexity."
        + (
            f" The paper's Random (4) rows are setting random4's two search runs; ours are the final setting of this "
            f"preset ({', '.join(other)}), each search run's pick, labelled with it."
            if other
            else ""
        ),
        details=("our epochs at the columns",),
    )
