"""The paper's tables rebuilt from the MLflow record, our numbers beside the paper's.

Every builder takes the record as a DataFrame (`load_record`) and a preset, and returns a `Table`: the
frame, the scale our numbers were obtained at, and the run ids they come from. Nothing here trains or
reruns anything; a builder with no runs to show returns an empty frame and says what would fill it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from randnas import lookup, paper, tracking
from randnas.record import check_runs
from randnas.search.asha.trials import OBJECTIVE_WORDS
from randnas.statistics import MIN_FOR_INTERVAL, kendall_interval, mean_interval

TRAIN_EXPERIMENTS = {"cnn": "cnn/train", "ptb": "rnn/train"}
SEARCH_EXPERIMENTS = {"cnn": lookup.SEARCH_EXPERIMENTS["cnn"], "ptb": lookup.SEARCH_EXPERIMENTS["rnn"]}
DARTS_EXPERIMENTS = {"cnn": lookup.DARTS_EXPERIMENTS["cnn"], "ptb": lookup.DARTS_EXPERIMENTS["rnn"]}
# the paper's reproduced-DARTS rows are second-order searches; this project's first-order ones get their own row
PAPER_DARTS_SETTING = "darts-second"
DARTS_LABELS = {
    "darts-second": "Reproduced DARTS",
    "darts-first": "DARTS first order (this project's runs; no such row in the paper)",
}
ASHA_EXPERIMENTS = lookup.ASHA_EXPERIMENTS
# the stage-2 number each benchmark reports: CIFAR-10 test error (%), PTB validation perplexity
STAGE2_METRIC = {"cnn": "metric:test/error", "ptb": "metric:valid/best_ppl"}
PRESET_ORDER = ("smoke", "cpu", "paper")


@dataclass
class Table:
    title: str
    frame: pd.DataFrame
    scale: str
    run_ids: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def empty(self) -> bool:
        return self.frame.empty


# ---- the record ----------------------------------------------------------------------------------


def load_record(store: str | Path | None = None) -> pd.DataFrame:
    """FINISHED top-level runs (ASHA's per-trial children are left out) with their duration in hours; hand
    runs (a notebook run outside a plan) only once adopted. Raises RecordDamaged if one of them has a damaged file."""
    table = tracking.runs_table(store)
    if table.empty:
        return table
    hand = (column_or_missing(table, "hand_run").fillna("") == "true") & (
        column_or_missing(table, "adopted").fillna("") != "true"
    )
    table = table[(table["status"] == tracking.FINISHED) & (table["parent_run"].fillna("") == "") & ~hand].copy()
    # a damaged run stops the book with the file's name, rather than changing a table without a word
    uri = tracking.open_store(store)
    folders = [tracking.run_folder(uri, e, r) for e, r in zip(table["experiment_id"], table["run_id"], strict=True)]
    folder = tracking.file_store_path(uri)
    unreadable = tracking.damaged_meta_files(folder) if folder is not None else {}
    check_runs(
        [folder for folder in folders if folder is not None], [f"{path}: {why}" for path, why in unreadable.items()]
    )
    table["hours"] = (table["end"] - table["start"]).dt.total_seconds() / 3600.0
    return table.reset_index(drop=True)


def presets_in(record: pd.DataFrame) -> list[str]:
    found = set(record["preset"].dropna()) if "preset" in record else set()
    return [p for p in PRESET_ORDER if p in found] + sorted(found - set(PRESET_ORDER))


def column_or_missing(runs: pd.DataFrame, name: str) -> pd.Series:
    """The column `name` of `runs`, or a column of missing values where no run logged it."""
    return runs[name] if name in runs else pd.Series([np.nan] * len(runs), index=runs.index, dtype=object)


def select(record: pd.DataFrame, experiment: str, preset: str, **tags: str) -> pd.DataFrame:
    if record.empty or "preset" not in record:
        return record.iloc[0:0]
    keep = (record["experiment"] == experiment) & (record["preset"] == preset)
    for name, value in tags.items():
        keep &= column_or_missing(record, name).astype(str) == str(value)
    return record[keep]


def same_protocol(candidates: pd.DataFrame, picks: pd.DataFrame) -> pd.DataFrame:
    """The candidates trained with the settings of the picks (every logged `param:` equal), so a reference
    cell is compared like with like; a quick check with fewer epochs in the same record is left out.
    Without picks, the candidates trained longest (most epochs) are kept."""
    if candidates.empty:
        return candidates
    columns = sorted(c for c in candidates if c.startswith("param:") and candidates[c].notna().any())

    def protocol(frame: pd.DataFrame) -> pd.Series:
        return (
            frame.reindex(columns=columns).astype(str).agg("|".join, axis=1)
            if columns
            else pd.Series("", index=frame.index)
        )

    if picks.empty:
        epochs = pd.to_numeric(column_or_missing(candidates, "param:epochs"), errors="coerce")
        if epochs.notna().any():
            return candidates[epochs == epochs.max()]
        return candidates
    return candidates[protocol(candidates).isin(set(protocol(picks)))]


def describe_scale(runs: pd.DataFrame) -> str:
    """Where and how big: preset, data, epochs, device; the words the book prints above each table."""
    if runs.empty:
        return "no runs"

    def values(column: str) -> str:
        found = sorted({str(v) for v in column_or_missing(runs, column).dropna() if str(v)})
        return ", ".join(found) if found else "?"

    parts = [f"preset {values('preset')}", f"data: {values('dataset_label')}"]
    if "param:epochs" in runs and runs["param:epochs"].notna().any():
        parts.append(f"epochs: {values('param:epochs')}")
    # an epoch shortened to a number of minibatches is not a pass over the data: say so
    caps = pd.concat(
        [
            pd.to_numeric(column_or_missing(runs, c), errors="coerce")
            for c in ("param:max_steps_per_epoch", "param:train.max_steps_per_epoch")
        ],
        axis=1,
    ).max(axis=1)
    capped = caps[caps > 0]
    if not capped.empty:
        where = "" if len(capped) == len(runs) else f" in {len(capped)} of {len(runs)} runs"
        parts.append(f"epochs capped at {', '.join(str(int(v)) for v in sorted(set(capped)))} minibatches{where}")
    parts.append(f"device: {values('device')}")
    parts.append(f"{len(runs)} run(s)")
    dirty = int((column_or_missing(runs, "git_dirty") == "true").sum())
    if dirty:  # such a run's code is not any commit's: it cannot be rerun exactly from the history
        parts.append(f"{dirty} of them from a work tree with uncommitted changes")
    return "; ".join(parts)


def _fmt(value: float | None, digits: int = 2) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "diverged"  # a training whose validation never had a finite value
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def mean_std(values: list[float], digits: int = 2) -> str:
    """Mean ± sample standard deviation (ddof=1) as the paper reports it, with n and the bootstrap 95 %
    interval of the mean (from MIN_FOR_INTERVAL runs on; below, "too few for an interval"): the form every
    average in the book takes."""
    if not values:
        return ""
    diverged = sum(1 for v in values if not math.isfinite(v))
    if diverged:  # no mean of a diverged run: say how many diverged, average the rest
        rest = [v for v in values if math.isfinite(v)]
        return f"{diverged} of {len(values)} diverged" + (f"; the rest {mean_std(rest, digits)}" if rest else "")
    if len(values) == 1:
        return f"{values[0]:.{digits}f} (n=1)"
    head = f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"
    estimate = mean_interval(values)
    if not estimate.enough:
        return f"{head} (n={len(values)}, too few for an interval)"
    return (
        f"{head} (n={len(values)}; 95 % interval of the mean [{estimate.low:.{digits}f}, {estimate.high:.{digits}f}])"
    )


def stage_of(runs: pd.DataFrame) -> pd.Series:
    """Each training run's stage: 3 where tagged so, else 2 (runs from before stages were tagged are stage 2)."""
    return column_or_missing(runs, "stage").fillna("2").astype(str)


def search_run_of(runs: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(column_or_missing(runs, "search_run"), errors="coerce").fillna(1).astype(int)


def training_runs(record: pd.DataFrame, benchmark: str, preset: str, stage: int, **tags: str) -> pd.DataFrame:
    """A stage's training runs; a same-seed repeat (repeat > 1) is a reproducibility check, not another seed."""
    runs = select(record, TRAIN_EXPERIMENTS[benchmark], preset, **tags)
    if runs.empty:
        return runs
    first = column_or_missing(runs, "repeat").fillna("1").astype(str) == "1"
    return runs[(stage_of(runs) == str(stage)) & first]


STD_NOTE = (
    "± is the sample standard deviation (ddof=1) over the n runs shown, as the paper reports it; the "
    f"interval is the percentile-bootstrap 95 % interval of the mean (scipy), given from {MIN_FOR_INTERVAL} runs on."
)


# ---- Tables 2 and 7: stage-2 results of the search settings ---------------------------------------


def stage2_table(record: pd.DataFrame, benchmark: str, preset: str) -> Table:
    """Each setting's independent run: its trials (one search seed each) and their picks' stage-2 result,
    with the settings the searches used beside the paper's. The paper's reproduced-DARTS row is filled from
    this project's own second-order DARTS searches, first order in a row of its own."""
    metric = STAGE2_METRIC[benchmark]
    runs = training_runs(record, benchmark, preset, 2, genotype_spec="rsws")
    searches = select(record, SEARCH_EXPERIMENTS[benchmark], preset)
    searches = (
        searches[column_or_missing(searches, "param:mode").fillna("single") == "single"]
        if not searches.empty
        else searches
    )
    cnn = benchmark == "cnn"
    published, printed = (paper.TABLE2, paper.TABLE2_PRINTED) if cnn else (paper.TABLE7, paper.TABLE7_PRINTED)
    final = "random5" if cnn else "random4"  # the paper names the final setting's runs
    ours: dict[str, tuple[list[float], pd.DataFrame, pd.DataFrame]] = {}

    def add_trials(picks: pd.DataFrame, searched: pd.DataFrame, name) -> None:
        for (setting, run), group in (
            picks.groupby([picks["search_setting"], search_run_of(picks)], sort=True) if not picks.empty else ()
        ):
            # one trial per search: a pick trained with several seeds counts once, at its mean
            trials = group[metric].astype(float).groupby(group["search_seed"].astype(int)).mean().sort_index()
            seeds = set(trials.index.astype(str))
            used = searched[
                (column_or_missing(searched, "setting") == setting)
                & column_or_missing(searched, "seed").astype(str).isin(seeds)
            ]
            ours[name(setting, run)] = (trials.tolist(), used, group)

    add_trials(runs, searches, lambda setting, run: setting if run == 1 else f"{setting}_run{run}")
    darts_key = "darts" if cnn else "darts_reproduced"  # the paper's key for its reproduced-DARTS row
    if benchmark in DARTS_EXPERIMENTS:
        add_trials(
            training_runs(record, benchmark, preset, 2, genotype_spec="darts"),
            select(record, DARTS_EXPERIMENTS[benchmark], preset),
            lambda setting, run: darts_key if setting == PAPER_DARTS_SETTING and run == 1 else f"{setting}_run{run}",
        )
    rows = []
    # every row of the paper's table in its order (ours blank where not run), then any further runs of ours
    for key in [*published, *(k for k in ours if k not in published)]:
        if key.startswith("darts"):
            label = {
                "darts": DARTS_LABELS[PAPER_DARTS_SETTING],
                "darts_reproduced": "Reproduced DARTS",
                "darts_published": "DARTS [Liu et al.] (their 4 searches)",
            }.get(key)
            if label is None:  # a further DARTS setting of ours (first order), or a second run of it
                setting, _, run = key.partition("_run")
                label = DARTS_LABELS.get(setting, setting) + (f" Run {run}" if run != "1" else "")
            values, used, group = ours.get(key, ([], searches.iloc[0:0], runs.iloc[0:0]))
            note = "not run at this preset" if key == darts_key else "not run: the paper's own searches"
            rows.append(_stage2_row(label, key, benchmark, values, used, group, published, printed, ours_note=note))
            continue
        setting, _, run = key.partition("_run")
        label = f"Random ({setting.removeprefix('random')})" + (f" Run {run or 1}" if run or setting == final else "")
        values, used, group = ours.get(key, ([], searches.iloc[0:0], runs.iloc[0:0]))
        rows.append(
            _stage2_row(
                label, key, benchmark, values, used, group, published, printed, ours_note="not run at this preset"
            )
        )
    ids = [run_id for row in rows for run_id in row.pop("_ids")]
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
    stage1 = "CIFAR-10" if cnn else "PTB"
    both = record[record["run_id"].isin(ids)] if ids else record.iloc[0:0]
    note = (
        "One trial = one search (its seed) whose pick is trained from scratch; a pick trained with several seeds "
        "counts once, at its mean. 'best' is the lowest trial, chosen on "
        + ("test error, as the paper chose it" if cnn else "validation perplexity, as the paper chose it")
        + f". The settings columns are the stage-1 search's on {stage1}"
        + ("" if cnn else f"; the paper evaluated {paper.TABLE7_ARCHITECTURES} architectures in every row")
        + ". "
        + STD_NOTE
    )
    return Table(title, frame, describe_scale(both), both["run_id"].tolist() if not both.empty else [], note)


def _setting_values(searches: pd.DataFrame, column: str) -> str:
    values = sorted(
        {str(v) for v in column_or_missing(searches, column).dropna()}, key=lambda v: float(v) if _is_number(v) else 0
    )
    return ", ".join(_trim(v) for v in values)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _trim(text: str) -> str:
    return f"{float(text):g}" if _is_number(text) else text


def _stage2_row(
    label: str,
    key: str,
    benchmark: str,
    values: list[float],
    searches: pd.DataFrame,
    runs: pd.DataFrame,
    published: dict,
    printed: dict,
    ours_note: str = "",
) -> dict:
    trials, (best, average) = published.get(key), printed.get(key, (None, None))
    row = {"setting": label}
    if benchmark == "cnn":
        epochs, clip, channels, archs = paper.TABLE2_SETTINGS.get(key.split("_run")[0], (None,) * 4)
        row.update(
            {
                "paper: epochs": _fmt_any(epochs),
                "ours: epochs": _setting_values(searches, "param:epochs"),
                "paper: clip": _fmt_any(clip),
                "ours: clip": _setting_values(searches, "param:grad_clip"),
                "paper: channels": _fmt_any(channels),
                "ours: channels": _setting_values(searches, "param:channels"),
            }
        )
    else:
        network, epochs, batch, clip = paper.TABLE7_SETTINGS.get(key, (None,) * 4)
        archs = paper.TABLE7_ARCHITECTURES if key in paper.TABLE7_SETTINGS else None
        row.update(
            {
                "paper: network": _fmt_any(network),
                "ours: hidden": _setting_values(searches, "param:hidden"),
                "paper: epochs": _fmt_any(epochs),
                "ours: epochs": _setting_values(searches, "param:epochs"),
                "paper: batch": _fmt_any(batch),
                "ours: batch": _setting_values(searches, "param:batch_size"),
                "paper: clip": _fmt_any(clip),
                "ours: clip": _setting_values(searches, "param:grad_clip"),
            }
        )
    scored = pd.to_numeric(column_or_missing(searches, "metric:selection/scored"), errors="coerce").dropna()
    row.update(
        {
            "paper: archs evaluated": _fmt_any(archs),
            "ours: archs evaluated": ", ".join(sorted({str(int(v)) for v in scored})),
            "paper: trials": ", ".join(_fmt(v, 2 if benchmark == "cnn" else 1) for v in trials) if trials else "",
            "paper: best": _fmt(best, 2 if benchmark == "cnn" else 1),
            "paper: average": _fmt(average, 2 if benchmark == "cnn" else 1),
            "ours: trials": ", ".join(_fmt(v) for v in values) or ours_note,
            "ours: best": _fmt(min(values))
            if values
            else "",  # min: a diverged trial (inf) is never the best of finite ones
            "ours: average": mean_std(values),
            "runs": " ".join(runs["run_id"].str[:8]) if not runs.empty else "",
            "_ids": (runs["run_id"].tolist() if not runs.empty else [])
            + (searches["run_id"].tolist() if not searches.empty else []),
        }
    )
    return row


def _fmt_any(value) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, (int, float)) else str(value)


def reference_cell_table(record: pd.DataFrame, benchmark: str, preset: str) -> Table:
    """Liu et al.'s published DARTS_V2 cell trained with the picks' stage-2 protocol over training seeds:
    a reference point, not trials of a search (the paper has no such row in Tables 2 and 7)."""
    metric = STAGE2_METRIC[benchmark]
    picks = training_runs(record, benchmark, preset, 2, genotype_spec="rsws")
    runs = same_protocol(select(record, TRAIN_EXPERIMENTS[benchmark], preset, genotype_spec="DARTS_V2"), picks)
    values = runs[metric].astype(float).tolist() if not runs.empty else []
    frame = (
        pd.DataFrame(
            [
                {
                    "cell": "DARTS_V2 (Liu et al.'s published cell)",
                    "training seeds": len(values),
                    "ours: per seed": ", ".join(_fmt(v) for v in values),
                    "ours: mean": mean_std(values),
                    "runs": " ".join(runs["run_id"].str[:8]) if not runs.empty else "",
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
        runs["run_id"].tolist() if not runs.empty else [],
        "Training seeds of one fixed cell, not trials of a search, so it is not set beside the paper's DARTS rows. "
        + STD_NOTE,
    )


# ---- Tables 1 and 6: the comparison ---------------------------------------------------------------


def final_setting(stage3: pd.DataFrame, benchmark: str) -> str | None:
    """The setting whose stage 3 the comparison shows: the paper's final one (Random (5) / Random (4)) when
    it ran, else the only (or last) setting with stage-3 runs."""
    settings = sorted(set(column_or_missing(stage3, "search_setting").dropna()))
    if not settings:
        return None
    final = "random5" if benchmark == "cnn" else "random4"
    return final if final in settings else settings[-1]


def comparison_table(record: pd.DataFrame, benchmark: str, preset: str) -> Table:
    """The paper's comparison rows; where we ran the same protocol, our stage-3 numbers beside them. A row
    whose protocol has not run here gives what it does show in its own column ('ours: other quantity')."""
    cnn = benchmark == "cnn"
    stage3 = training_runs(record, benchmark, preset, 3)
    rows, used = [], []
    for row in paper.TABLE1 if cnn else paper.TABLE6:
        entry = {"method": row.method, "source": row.source}
        if cnn:
            entry.update(
                {
                    "paper: best": _fmt(row.best),
                    "paper: average": _fmt(row.average) + (f" ± {row.std:.2f}" if row.std else ""),
                }
            )
        else:
            entry.update({"paper: valid": _fmt(row.valid, 1), "paper: test": _fmt(row.test, 1)})
        entry.update(
            {
                "paper: params (M)": _fmt_any(row.params_m),
                "paper: cost 1 / 2 / total (GPU days)": " / ".join(
                    _fmt_any(c) or "-" for c in (row.cost_stage1, row.cost_stage2, row.cost_total)
                ),
                "paper: note": row.footnote,
            }
        )
        ours, runs = _ours_for(row.ours, record, stage3, benchmark, preset)
        used += runs
        entry.update(ours)
        rows.append(entry)
    frame = pd.DataFrame(rows).fillna("")
    # the comparison first (the paper's number, then ours or what we have instead), the details after
    first, second = _ours_columns(benchmark)
    paper_numbers = ["paper: best", "paper: average"] if cnn else ["paper: valid", "paper: test"]
    order = [
        "method",
        "source",
        *paper_numbers,
        first,
        second,
        "ours: other quantity",
        "ours: protocol",
        "paper: params (M)",
        "ours: params (M)",
        "paper: cost 1 / 2 / total (GPU days)",
        "ours: device-hours",
        "paper: note",
        "runs",
    ]
    frame = frame[order]
    measured = record[record["run_id"].isin(used)] if used else record.iloc[0:0]
    unit = "CIFAR-10 test error (%)" if cnn else "PTB perplexity"
    note = (
        "'ours: best' and 'ours: average' hold only the paper's own quantity: stage 3 of the same protocol "
        + (
            "(the final pick trained with several seeds; best = lowest seed, average over seeds). "
            if cnn
            else "(the final pick trained longest; valid = best validation perplexity, test = test perplexity of that run). "
        )
        + "Anything else we measured for a row stands under 'ours: other quantity'. Our cost is device-hours of "
        "stages 1 and 2 (searches and their picks' training) as measured on our runs; the paper's is GPU days. "
        + STD_NOTE
    )
    return Table(f"{'Table 1' if cnn else 'Table 6'}: comparison ({unit})", frame, describe_scale(measured), used, note)


def _ours_columns(benchmark: str) -> tuple[str, str]:
    return ("ours: best", "ours: average") if benchmark == "cnn" else ("ours: valid", "ours: test")


def _ours_for(
    kind: str, record: pd.DataFrame, stage3: pd.DataFrame, benchmark: str, preset: str
) -> tuple[dict, list[str]]:
    cnn = benchmark == "cnn"
    first, second = _ours_columns(benchmark)
    out = {
        first: "",
        second: "",
        "ours: params (M)": "",
        "ours: device-hours": "",
        "ours: protocol": "",
        "ours: other quantity": "",
        "runs": "",
    }
    if not kind:
        return out, []
    runs = record.iloc[0:0]
    cost = record.iloc[0:0]
    if kind == "darts_search":
        # stage 3 of this project's DARTS (cnn-darts-stage3, ptb-darts-stage3) is planned at paper scale only
        entry, table = ("cnn-darts-stage3", "Table 2") if cnn else ("ptb-darts-stage3", "Table 7")
        out["ours: protocol"] = (
            f"not run at this preset: DARTS' stage 3 runs at paper scale ({entry}); its searches' stage 2 is in {table}"
        )
        return out, []
    if kind in ("rsws", "random"):
        spec = "best-rsws" if kind == "rsws" else "best-random"
        candidates = stage3[column_or_missing(stage3, "genotype_spec") == spec] if not stage3.empty else stage3
        if kind == "rsws" and not candidates.empty:
            candidates = candidates[
                (candidates["search_setting"] == final_setting(candidates, benchmark))
                & (search_run_of(candidates) == 1)
            ]
        runs = candidates
        if not runs.empty:
            seeds = sorted(
                {int(s) for v in column_or_missing(runs, "search_seeds").dropna() for s in str(v).split(",") if s}
            )
            stage2 = training_runs(record, benchmark, preset, 2, genotype_spec=kind)
            stage2 = stage2[column_or_missing(stage2, "search_seed").astype(str).isin({str(s) for s in seeds})]
            if kind == "rsws":
                stage2 = stage2[stage2["search_setting"] == runs["search_setting"].iloc[0]]
                searches = select(record, SEARCH_EXPERIMENTS[benchmark], preset, setting=runs["search_setting"].iloc[0])
                searches = searches[column_or_missing(searches, "param:mode").fillna("single") == "single"]
                searches = searches[
                    column_or_missing(searches, "seed").astype(str).isin({str(s) for s in seeds})
                    & (column_or_missing(searches, "repeat").fillna("1").astype(str) == "1")
                ]
                cost = pd.concat([stage2, searches])
            else:
                cost = stage2
            winner = runs["search_seed"].iloc[0]
            what = f"stage 3 of run 1 of {runs['search_setting'].iloc[0]}: " if kind == "rsws" else "stage 3: "
            out["ours: protocol"] = (
                what + f"trial {winner} (best of search seeds {', '.join(map(str, seeds))} by "
                f"{runs['selected_by'].iloc[0]}), " + _trained(runs, benchmark)
            )
        else:
            out.update(_other_quantity(kind, record, benchmark, preset))
    elif kind == "asha":
        runs = stage3[column_or_missing(stage3, "genotype_spec") == "asha"] if not stage3.empty else stage3
        searches = select(record, ASHA_EXPERIMENTS[benchmark], preset)
        if not runs.empty:
            searches = searches[column_or_missing(searches, "run_id").isin(set(column_or_missing(runs, "parent")))]
            cost = searches
            out["ours: protocol"] = (
                "stage 3: the ASHA search's best cell, " + _trained(runs, benchmark) + _asha_words(searches, benchmark)
            )
        else:
            out.update(_other_quantity(kind, record, benchmark, preset))
    elif kind == "darts_v2":
        reference = select(record, TRAIN_EXPERIMENTS[benchmark], preset, genotype_spec="DARTS_V2")
        protocol_of = stage3[column_or_missing(stage3, "genotype_spec") == "best-rsws"] if not stage3.empty else stage3
        if cnn and protocol_of.empty:  # CIFAR-10's stage 3 is stage 2's protocol with more seeds
            protocol_of = training_runs(record, benchmark, preset, 2, genotype_spec="rsws")
        runs = same_protocol(reference, protocol_of) if not protocol_of.empty else reference.iloc[0:0]
        if not runs.empty:
            out["ours: protocol"] = "the published cell (DARTS_V2) with our stage-3 protocol, " + _trained(
                runs, benchmark
            )
        else:
            out.update(_other_quantity(kind, record, benchmark, preset))
    if runs.empty:
        other_ids = out.pop("_ids", [])
        return out, other_ids
    if cnn:
        values = runs["metric:test/error"].astype(float).tolist()
        out.update({first: _fmt(min(values)), second: mean_std(values)})
    else:
        valid = runs["metric:valid/best_ppl"].astype(float).tolist()
        test = runs["metric:test/ppl"].astype(float).tolist()
        out.update(
            {
                first: mean_std(valid, 1) if len(valid) > 1 else _fmt(valid[0], 1),
                second: mean_std(test, 1) if len(test) > 1 else _fmt(test[0], 1),
            }
        )
    out["ours: params (M)"] = _fmt(float(runs["metric:params/millions"].astype(float).mean()), 2)
    out["ours: device-hours"] = _fmt(float(cost["hours"].sum()), 3) if not cost.empty else ""
    ids = runs["run_id"].tolist() + (cost["run_id"].tolist() if not cost.empty else [])
    out["runs"] = " ".join(runs["run_id"].str[:8])
    return out, ids


def asha_protocol(benchmark: str, run: pd.Series) -> str:
    """Which split an ASHA search's trials trained on and what they were scored by, in words."""
    if benchmark == "ptb":
        after = run.get("param:train.asgd_after_epoch")
        tail = f"; SGD until epoch {after}" if isinstance(after, str) and after not in ("", "0") else ""
        return "PTB train / best validation perplexity" + tail
    return OBJECTIVE_WORDS.get(str(run.get("param:objective", "valid")), str(run.get("param:objective")))


def _asha_words(searches: pd.DataFrame, benchmark: str) -> str:
    """Which split the ASHA search trained its trials on and what it scored them by."""
    if searches.empty:
        return ""
    return "; the search's trials: " + "; ".join(
        sorted({asha_protocol(benchmark, run) for _, run in searches.iterrows()})
    )


def _trained(runs: pd.DataFrame, benchmark: str) -> str:
    epochs = column_or_missing(runs, "param:epochs").dropna().astype(str)
    length = f"{', '.join(sorted(set(epochs)))} epochs" if not epochs.empty else "? epochs"
    return f"{len(runs)} seed(s), {length}" if benchmark == "cnn" else f"{len(runs)} run(s) of {length}"


def _other_quantity(kind: str, record: pd.DataFrame, benchmark: str, preset: str) -> dict:
    """What a row's protocol has not produced here, and what we do have for it, labelled as what it is."""
    cnn = benchmark == "cnn"
    metric = STAGE2_METRIC[benchmark]
    if kind == "rsws":
        stage2 = training_runs(record, benchmark, preset, 2, genotype_spec="rsws")
        if stage2.empty:
            return {"ours: protocol": "not run"}
        trials = stage2[metric].astype(float).groupby([stage2["search_setting"], stage2["search_seed"]]).mean()
        return {
            "ours: protocol": "no stage 3 yet",
            "ours: other quantity": f"stage-2 {'test error' if cnn else 'validation perplexity'} of {len(trials)} "
            f"search(es): {mean_std(trials.tolist())}",
            "_ids": stage2["run_id"].tolist(),
        }
    if kind == "asha":
        searches = select(record, ASHA_EXPERIMENTS[benchmark], preset)
        if searches.empty:
            return {"ours: protocol": "not run"}
        searches = searches.loc[~searches["plan_key"].map(_without_repeat).duplicated()]
        name = "metric:best/valid_acc" if cnn else "metric:best/valid_ppl"
        values = searches[name].astype(float).tolist() if name in searches else []
        if cnn:
            values = [100.0 * (1.0 - v) for v in values]
        what = "best validation error (%) at its top rung" if cnn else "best validation perplexity at its top rung"
        return {
            "ours: protocol": "no stage 3 of the ASHA pick yet" + _asha_words(searches, benchmark),
            "ours: other quantity": f"the search's {what}: {', '.join(_fmt(v) for v in values)}",
            "_ids": searches["run_id"].tolist(),
        }
    if kind == "random":
        brief = training_runs(record, benchmark, preset, 2, genotype_spec="random")
        protocol = (
            "not run: 24 random cells trained briefly (100 epochs), the best one trained with 10 seeds"
            if cnn
            else "not run: 8 random cells through stage 2, the best one trained for 3600 epochs"
        )
        if brief.empty:
            return {"ours: protocol": protocol}
        values = brief[metric].astype(float).tolist()
        return {
            "ours: protocol": "no stage 3 yet",
            "ours: other quantity": f"{len(values)} random cells' stage-2 result: best {_fmt(min(values))}",
            "_ids": brief["run_id"].tolist(),
        }
    if kind == "darts_v2":
        reference = select(record, TRAIN_EXPERIMENTS[benchmark], preset, genotype_spec="DARTS_V2")
        if reference.empty:
            return {"ours: protocol": "not run"}
        reference = reference[
            pd.to_numeric(reference["param:epochs"], errors="coerce")
            == pd.to_numeric(reference["param:epochs"], errors="coerce").max()
        ]
        valid = reference["metric:valid/best_ppl"].astype(float).tolist() if not cnn else []
        test = reference[metric if cnn else "metric:test/ppl"].astype(float).tolist()
        epochs = ", ".join(sorted(set(reference["param:epochs"].astype(str))))
        text = (
            f"{mean_std(test)} test error after {epochs} epochs"
            if cnn
            else f"valid {_fmt(valid[0], 1)} / test {_fmt(test[0], 1)} after {epochs} epochs (stage-2 length)"
        )
        return {
            "ours: protocol": "not at our stage-3 length",
            "ours: other quantity": f"DARTS_V2: {text}",
            "_ids": reference["run_id"].tolist(),
        }
    return {}


# ---- Tables 3 and 8: short against long training --------------------------------------------------


def ranking_table(record: pd.DataFrame, benchmark: str, preset: str, history=tracking.metric_history) -> Table:
    """CNN: Table 3 - the reproduced (second-order) DARTS trials' test error after 1/6 of the epochs (the
    paper's 100 of 600) and at the end, their ranks at both, and Kendall's tau between them; where a preset has
    fewer than two DARTS trials, the same question asked of its RSWS trials, labelled so. PTB: Table 8."""
    if benchmark == "ptb":
        return table8(record, preset, history)
    darts = training_runs(record, benchmark, preset, 2, genotype_spec="darts", search_setting=PAPER_DARTS_SETTING)
    kind = "darts" if len(set(column_or_missing(darts, "search_seed").dropna())) >= 2 else "rsws"
    runs = darts if kind == "darts" else training_runs(record, benchmark, preset, 2, genotype_spec="rsws")
    if not runs.empty:  # one run per trial: its first training seed
        order = pd.to_numeric(runs["seed"], errors="coerce")
        runs = runs.assign(_order=order).sort_values("_order").drop_duplicates(["search_setting", "search_seed"])
        runs = runs.assign(_trial=pd.to_numeric(runs["search_seed"], errors="coerce")).sort_values(
            ["search_setting", "_trial"]
        )
    rows = []
    for _, run in runs.iterrows():
        epochs = int(run["param:epochs"])
        short = max(1, round(epochs * paper.TABLE3["short_epochs"] / paper.TABLE3["long_epochs"]))
        accuracy = dict(history(run["run_id"], "test/acc"))
        if short not in accuracy or epochs not in accuracy:
            continue
        rows.append(
            {
                "trial": f"{run['search_setting']} search seed {run['search_seed']}",
                "short epochs": short,
                "ours: short error": 100 * (1 - accuracy[short]),
                "long epochs": epochs,
                "ours: long error": 100 * (1 - accuracy[epochs]),
                "run_id": run["run_id"],
            }
        )
    frame = pd.DataFrame(
        rows, columns=["trial", "short epochs", "ours: short error", "long epochs", "ours: long error", "run_id"]
    )
    short, long, (low, mean, std) = paper.TABLE3["short"], paper.TABLE3["long"], paper.TABLE3["ten_seeds"]
    note = (
        f"The paper's Table 3 ranks its 4 reproduced DARTS trials: test error after 100 epochs {', '.join(f'{v:.2f}' for v in short)}; "
        f"after 600 {', '.join(f'{v:.2f}' for v in long)}; the best trial over 10 seeds: min {low:.2f}, average {mean:.2f} ± {std:.2f}. "
    )
    note += (
        "Ours: this project's second-order DARTS searches, each pick's stage 2."
        if kind == "darts"
        else "This preset has fewer than two of our own second-order DARTS trials through stage 2; these rows are our RSWS trials instead."
    )
    if len(frame) >= 2:
        frame["rank short"] = frame["ours: short error"].rank(method="min").astype(int)
        frame["rank long"] = frame["ours: long error"].rank(method="min").astype(int)
        tau = kendall_interval(frame["ours: short error"], frame["ours: long error"])
        paper_tau = kendall_tau(pd.Series(short), pd.Series(long))
        ours = tau.text(3) if math.isfinite(tau.value) else f"undefined (n={tau.n}: a tie or fewer than 3 trials)"
        note += (
            f" Kendall tau between the short and long rankings, with its p-value and bootstrap 95 % interval: ours "
            f"{ours}; the paper's {paper_tau:.3f} (4 trials)."
        )
    stage3 = training_runs(record, benchmark, preset, 3, genotype_spec=f"best-{kind}")
    if not stage3.empty:
        values = stage3["metric:test/error"].astype(float).tolist()
        note += (
            f" Our best trial over {len(values)} seed(s) (stage 3): min {min(values):.2f}, average {mean_std(values)}."
        )
    title = (
        "Table 3: our reproduced-DARTS trials ranked after short and long stage-2 training"
        if kind == "darts"
        else "Table 3's question on our RSWS trials: ranking after short and long stage-2 training"
    )
    return Table(title, frame.round(2), describe_scale(runs), frame["run_id"].tolist(), note)


def kendall_tau(a: pd.Series, b: pd.Series) -> float:
    return float(stats.kendalltau(a, b).statistic)


def table8(record: pd.DataFrame, preset: str, history=tracking.metric_history) -> Table:
    """Stage 3 on PTB: validation perplexity (best so far) at the paper's epochs scaled to our runs' length,
    then test perplexity; a row per method with the paper's row beside it."""
    stage3 = training_runs(record, "ptb", preset, 3)
    rows, used = [], []
    for name, (ppl, test) in paper.TABLE8.items():
        rows.append(
            {
                "method": name,
                "source": "paper",
                **{f"@{e}": _fmt(v, 1) for e, v in zip(paper.TABLE8_EPOCHS, ppl)},
                "test": _fmt(test, 1),
                "our epochs at the columns": "",
            }
        )
        runs_of, label = _table8_runs(stage3, name)
        for _, run in runs_of.iterrows():
            epochs = int(run["param:epochs"])
            checkpoints = [max(1, round(epochs * e / paper.TABLE8_EPOCHS[-1])) for e in paper.TABLE8_EPOCHS]
            curve = dict(history(run["run_id"], "valid/ppl"))
            best = np.minimum.accumulate([curve.get(e, math.inf) for e in range(1, epochs + 1)])
            rows.append(
                {
                    "method": name,
                    "source": f"{label} ({run['run_id'][:8]})",
                    **{f"@{e}": _fmt(float(best[c - 1]), 1) for e, c in zip(paper.TABLE8_EPOCHS, checkpoints)},
                    "test": _fmt(float(run["metric:test/ppl"]), 1),
                    "our epochs at the columns": ", ".join(map(str, checkpoints)) + f" of {epochs}",
                }
            )
            used.append(run["run_id"])
    frame = pd.DataFrame(rows)
    runs = stage3[stage3["run_id"].isin(used)] if used else stage3.iloc[0:0]
    return Table(
        "Table 8: stage-3 validation perplexity (best so far) at increasing epochs, then test",
        frame,
        describe_scale(runs),
        used,
        "The paper's DARTS row is its reproduced DARTS search's pick; ours is our own DARTS search's pick "
        "(ptb-darts-stage3, paper scale only) where the record has it, else Liu et al.'s published DARTS_V2 cell, "
        "labelled so: compare that one with the caveat. Our columns are the paper's epochs "
        "scaled to our run's length; the paper continued a 300-epoch run to 1600 and 3600 epochs, ours train from scratch.",
    )


def _table8_runs(stage3: pd.DataFrame, name: str) -> tuple[pd.DataFrame, str]:
    """Our stage-3 runs for one of Table 8's rows, and how to label them."""
    if stage3.empty:
        return stage3, "ours"
    spec = column_or_missing(stage3, "genotype_spec")
    if name == "DARTS":  # our own DARTS search's pick where it ran (like the paper's row), else the published cell
        ours = stage3[(spec == "best-darts") & (column_or_missing(stage3, "search_setting") == PAPER_DARTS_SETTING)]
        return (
            (ours, "ours: our DARTS search's pick")
            if not ours.empty
            else (stage3[spec == "DARTS_V2"], "ours: the published DARTS_V2 cell")
        )
    if name == "ASHA":
        return stage3[spec == "asha"], "ours"
    run = 1 if name.endswith("Run 1") else 2
    picks = stage3[(spec == "best-rsws") & (search_run_of(stage3) == run)]
    return (picks[picks["search_setting"] == final_setting(picks, "ptb")] if not picks.empty else picks), "ours"


# ---- Table 4 and the reproducibility analysis -----------------------------------------------------


def broad_table(record: pd.DataFrame, benchmark: str, preset: str) -> Table:
    """Table 4: independent runs of the final setting, each its trials -> the stage-2 winner -> stage 3
    over several seeds; per run the mean ± std over seeds, beside the paper's six runs, then the average."""
    if benchmark != "cnn":  # the paper's Table 4 is CIFAR-10 test error; PTB's two runs are Table 8's rows
        return Table(
            "Table 4: broad reproducibility",
            pd.DataFrame(),
            "no runs",
            [],
            "The paper reports broad reproducibility (Table 4) for the CNN benchmark only; PTB's Random (4) "
            "Run 1 and Run 2 are compared in Table 8.",
        )
    runs = training_runs(record, benchmark, preset, 3, genotype_spec="best-rsws")
    rows, means = [], []
    groups = (
        dict(list(runs.groupby([runs["search_setting"], search_run_of(runs)], sort=True))) if not runs.empty else {}
    )
    for index in range(max(len(paper.TABLE4), len(groups))):
        row = {"run": f"Run {index + 1}"}
        if index < len(paper.TABLE4):
            mean, std = paper.TABLE4[index]
            row["paper: mean ± std (10 seeds)"] = f"{mean:.2f} ± {std:.2f}"
        if index < len(groups):
            (setting, _run), group = list(groups.items())[index]
            values = group["metric:test/error"].astype(float).tolist()
            means.append(float(np.mean(values)))
            row.update(
                {
                    "ours: setting": setting,
                    "ours: trials (search seeds)": group["search_seeds"].iloc[0],
                    "ours: pick": f"search seed {group['search_seed'].iloc[0]}",
                    "ours: mean ± std": mean_std(values),
                    "ours: best seed": _fmt(min(values)),
                    "runs": " ".join(group["run_id"].str[:8]),
                }
            )
        rows.append(row)
    rows.append(
        {
            "run": "Average over runs",
            "paper: mean ± std (10 seeds)": f"{paper.TABLE4_AVERAGE:.2f}",
            "ours: mean ± std": mean_std(means) if means else "",
        }
    )
    frame = pd.DataFrame(rows).fillna("")
    note = (
        "Each run: independent searches (its trials), the stage-2 winner, then stage 3 over several training seeds, "
        "as the paper's Table 4. " + STD_NOTE
    )
    if len(means) == 1:
        note += " With one independent run here, the spread between runs is not measured yet."
    return Table(
        "Table 4: broad reproducibility, stage-3 test error (%) of independent RSWS runs",
        frame,
        describe_scale(runs),
        runs["run_id"].tolist() if not runs.empty else [],
        note,
    )


def _without_repeat(plan_key: str) -> str:
    return re.sub(r"_?repeat-\d+", "", plan_key.split("@")[0])


def exact_table(record: pd.DataFrame, preset: str) -> Table:
    """Runs repeated with the same seed and settings (the plan's `repeat` axis): their digests side by side."""
    # a job's first run may predate its notebook's `repeat` parameter: untagged counts as repeat 1
    runs = record[
        (column_or_missing(record, "preset") == preset)
        & column_or_missing(record, "digest").notna()
        & column_or_missing(record, "plan_key").notna()
    ]
    rows, repeated = [], []
    for key, group in runs.groupby(runs["plan_key"].map(_without_repeat), sort=True) if not runs.empty else ():
        group = group.assign(repeat=column_or_missing(group, "repeat").fillna("1"))
        digests = group.sort_values("repeat")["digest"].tolist()
        if len(digests) < 2:
            continue
        repeated += group["run_id"].tolist()
        rows.append(
            {
                "job": key.split("/", 1)[-1],
                "experiment": group["experiment"].iloc[0],
                "seed": group["seed"].iloc[0],
                "repeats": len(digests),
                "digests": " ".join(d[:16] for d in digests),
                "identical": _identical(digests, column_or_missing(group, "git_commit").fillna("").tolist()),
                "runs": " ".join(group["run_id"].str[:8]),
            }
        )
    frame = pd.DataFrame(rows, columns=["job", "experiment", "seed", "repeats", "digests", "identical", "runs"])
    different = []
    for experiment, group in frame.groupby("experiment"):
        if group["seed"].nunique() > 1:
            firsts = [d.split()[0] for d in group["digests"]]
            different.append(f"{experiment}: {group['seed'].nunique()} seeds, {len(set(firsts))} distinct digests")
    note = (
        "A digest is the sha256 of the shared weights (RSWS searches), of the architecture weights (DARTS) or of "
        "the event log (ASHA)."
    )
    if different:
        note += " Different seeds: " + "; ".join(different) + "."
    runs = runs[runs["run_id"].isin(repeated)] if repeated else runs.iloc[0:0]
    return Table("Exact reproducibility: the same seed twice", frame, describe_scale(runs), repeated, note)


def _identical(digests: list[str], commits: list[str]) -> str:
    """yes / NO; a repeat made with other code (another commit) is no test of exact reproducibility: said so."""
    same = len(set(digests)) == 1
    other_code = len({c for c in commits if c}) > 1
    if other_code and not same:
        return "NO: different code (commits " + ", ".join(sorted({c[:8] for c in commits if c})) + ")"
    return "yes" if same else "NO"


def checklist_table(record: pd.DataFrame, root: Path) -> Table:
    """Table 5: the paper's 12 publications, then this project's row, answered by facts the book can check."""
    has_search = (root / "randnas" / "search").is_dir() and (root / "notebooks" / "rsws_search.ipynb").is_file()
    has_eval = (root / "randnas" / "train").is_dir() and (root / "notebooks" / "train_from_scratch.ipynb").is_file()
    seeded = not record.empty and column_or_missing(record, "seed").notna().all()
    with_params = int(record.filter(like="param:").notna().any(axis=1).sum()) if not record.empty else 0
    exact = {preset: exact_table(record, preset).frame for preset in presets_in(record)}
    repeated = sum(len(f) for f in exact.values())
    identical = sum(int((f["identical"] == "yes").sum()) for f in exact.values())

    def answer(flag: bool | None) -> str:
        return "-" if flag is None else _yes(flag)

    rows = [
        {
            "conference": row.conference,
            "publication": row.publication,
            "search code": answer(row.search_code),
            "evaluation code": answer(row.evaluation_code),
            "random seeds": answer(row.seeds),
            "hyperparameter tuning": row.tuning or "-",
            "exactly reproducible": "no",
        }
        for row in paper.TABLE5
    ]
    rows.append(
        {
            "conference": "",
            "publication": "randnas (this book)",
            "search code": _yes(has_search),
            "evaluation code": _yes(has_eval),
            "random seeds": f"yes (every one of {len(record)} runs tagged)" if seeded else "no",
            "hyperparameter tuning": f"none; settings logged as params by {with_params} of {len(record)} runs",
            "exactly reproducible": f"{identical} of {repeated} repeated jobs identical",
        }
    )
    return Table(
        "Table 5: the reproducibility checklist, with this project's row",
        pd.DataFrame(rows),
        describe_scale(record),
        [],
        f"The paper found {paper.TABLE5_EXACTLY_REPRODUCIBLE} of {len(paper.TABLE5)} publications exactly "
        "reproducible ('-' = no code to judge). Our row is computed from the repository and the record at build time.",
    )


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# ---- search cost ---------------------------------------------------------------------------------


def search_cost_table(record: pd.DataFrame, preset: str) -> Table:
    """Device-hours per experiment family, from the runs' start and end times."""
    runs = record[column_or_missing(record, "preset") == preset]
    if runs.empty:
        return Table("Search cost in device-hours", pd.DataFrame(), "no runs")
    grouped = runs.groupby(["experiment", column_or_missing(runs, "device").fillna("?")], sort=True)["hours"]
    frame = grouped.agg(runs="count", total_hours="sum", hours_per_run="mean").reset_index()
    frame.columns = ["experiment", "device", "runs", "device-hours", "hours per run"]
    return Table(
        "Search cost in device-hours",
        frame.round(4),
        describe_scale(runs),
        runs["run_id"].tolist(),
        "Wall time of each run on its device (kernel start-up included); the paper reports GPU days.",
    )
