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

from randnas import paper, tracking
from randnas.search import lookup

TRAIN_EXPERIMENTS = {"cnn": "cnn/train", "ptb": "rnn/train"}
SEARCH_EXPERIMENTS = {"cnn": lookup.SEARCH_EXPERIMENTS["cnn"], "ptb": lookup.SEARCH_EXPERIMENTS["rnn"]}
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
    """FINISHED top-level runs (ASHA's per-trial children are left out) with their duration in hours."""
    table = tracking.runs_table(store)
    if table.empty:
        return table
    table = table[(table["status"] == tracking.FINISHED) & (table["parent_run"].fillna("") == "")].copy()
    table["hours"] = (table["end"] - table["start"]).dt.total_seconds() / 3600.0
    return table.reset_index(drop=True)


def presets_in(record: pd.DataFrame) -> list[str]:
    found = set(record["preset"].dropna()) if "preset" in record else set()
    return [p for p in PRESET_ORDER if p in found] + sorted(found - set(PRESET_ORDER))


def _column(runs: pd.DataFrame, name: str) -> pd.Series:
    return runs[name] if name in runs else pd.Series([np.nan] * len(runs), index=runs.index, dtype=object)


def select(record: pd.DataFrame, experiment: str, preset: str, **tags: str) -> pd.DataFrame:
    if record.empty or "preset" not in record:
        return record.iloc[0:0]
    keep = (record["experiment"] == experiment) & (record["preset"] == preset)
    for name, value in tags.items():
        keep &= _column(record, name).astype(str) == str(value)
    return record[keep]


def same_protocol(candidates: pd.DataFrame, picks: pd.DataFrame) -> pd.DataFrame:
    """The candidates trained with the settings of the picks (every logged `param:` equal), so a reference
    cell is compared like with like; a quick check with fewer epochs in the same record is left out.
    Without picks, the candidates trained longest (most epochs) are kept."""
    if candidates.empty:
        return candidates
    columns = sorted(c for c in candidates if c.startswith("param:") and candidates[c].notna().any())

    def protocol(frame: pd.DataFrame) -> pd.Series:
        return frame.reindex(columns=columns).astype(str).agg("|".join, axis=1) if columns else pd.Series("", index=frame.index)

    if picks.empty:
        epochs = pd.to_numeric(_column(candidates, "param:epochs"), errors="coerce")
        if epochs.notna().any():
            return candidates[epochs == epochs.max()]
        return candidates
    return candidates[protocol(candidates).isin(set(protocol(picks)))]


def describe_scale(runs: pd.DataFrame) -> str:
    """Where and how big: preset, data, epochs, device; the words the book prints above each table."""
    if runs.empty:
        return "no runs"

    def values(column: str) -> str:
        found = sorted({str(v) for v in _column(runs, column).dropna() if str(v)})
        return ", ".join(found) if found else "?"

    parts = [f"preset {values('preset')}", f"data: {values('dataset_label')}"]
    if "param:epochs" in runs and runs["param:epochs"].notna().any():
        parts.append(f"epochs: {values('param:epochs')}")
    # an epoch shortened to a number of minibatches is not a pass over the data: say so
    caps = pd.concat([pd.to_numeric(_column(runs, c), errors="coerce") for c in ("param:max_steps_per_epoch",
                                                                                "param:train.max_steps_per_epoch")], axis=1).max(axis=1)
    capped = caps[caps > 0]
    if not capped.empty:
        where = "" if len(capped) == len(runs) else f" in {len(capped)} of {len(runs)} runs"
        parts.append(f"epochs capped at {', '.join(str(int(v)) for v in sorted(set(capped)))} minibatches{where}")
    parts.append(f"device: {values('device')}")
    parts.append(f"{len(runs)} run(s)")
    return "; ".join(parts)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _mean_std(values: list[float]) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return _fmt(values[0])
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"


# ---- Tables 2 and 7: stage-2 results of the search settings ---------------------------------------


def stage2_table(record: pd.DataFrame, benchmark: str, preset: str) -> Table:
    """Each setting's searches (one per search seed = one trial), their picks trained from scratch."""
    metric = STAGE2_METRIC[benchmark]
    runs = select(record, TRAIN_EXPERIMENTS[benchmark], preset, genotype_spec="rsws")
    reference = same_protocol(select(record, TRAIN_EXPERIMENTS[benchmark], preset, genotype_spec="DARTS_V2"), runs)
    published = paper.TABLE2 if benchmark == "cnn" else paper.TABLE7
    darts_key = "darts" if benchmark == "cnn" else "darts_reproduced"
    rows = []
    if not reference.empty:
        values = reference[metric].astype(float).tolist()
        rows.append(_stage2_row("DARTS_V2 (reference cell)", values, published[darts_key], reference))
    for setting, group in runs.groupby("search_setting", sort=True) if not runs.empty else ():
        # one trial per search: a pick trained with several seeds (Table 4's runs) counts once, at its mean
        trials = group[metric].astype(float).groupby(group["search_seed"].astype(int)).mean().sort_index()
        rows.append(_stage2_row(f"Random ({setting.removeprefix('random')})", trials.tolist(), published.get(setting), group))
    frame = pd.DataFrame(rows, columns=["setting", "ours: trials", "ours: best", "ours: average", "paper: trials",
                                        "paper: best", "paper: average", "runs"])
    unit = "test error (%)" if benchmark == "cnn" else "validation perplexity"
    both = pd.concat([runs, reference])
    title = f"{'Table 2' if benchmark == 'cnn' else 'Table 7'}: stage-2 {unit} of each search's pick"
    return Table(title, frame, describe_scale(both), both["run_id"].tolist() if not both.empty else [],
                 ("One trial = one independent search (its search seed) whose pick is trained from scratch (the mean "
                  "where it was trained with several seeds). The reference cell's runs are those trained with the picks' settings."))


def _stage2_row(label: str, values: list[float], published, runs: pd.DataFrame) -> dict:
    return {
        "setting": label,
        "ours: trials": ", ".join(_fmt(v) for v in values),
        "ours: best": _fmt(min(values)) if values else "",
        "ours: average": _mean_std(values),
        "paper: trials": ", ".join(_fmt(v) for v in published) if published else "",
        "paper: best": _fmt(min(published)) if published else "",
        "paper: average": _fmt(float(np.mean(published))) if published else "",
        "runs": " ".join(runs["run_id"].str[:8]),
    }


# ---- Tables 1 and 6: the comparison ---------------------------------------------------------------


def comparison_table(record: pd.DataFrame, benchmark: str, preset: str) -> Table:
    """The paper's comparison rows; where we ran the method, our result and search cost beside it."""
    train = TRAIN_EXPERIMENTS[benchmark]
    rsws = select(record, train, preset, genotype_spec="rsws")
    ours_runs = {
        "rsws": rsws,
        "darts_v2": same_protocol(select(record, train, preset, genotype_spec="DARTS_V2"), rsws),
        "random": same_protocol(select(record, train, preset, genotype_spec="random"), rsws),
        "asha": select(record, ASHA_EXPERIMENTS[benchmark], preset),
    }
    searches = select(record, SEARCH_EXPERIMENTS[benchmark], preset)
    rows, used = [], []
    for row in paper.TABLE1 if benchmark == "cnn" else paper.TABLE6:
        runs = ours_runs.get(row.ours, record.iloc[0:0])
        ours = _ours_for(row.ours, runs, searches, benchmark)
        used += runs["run_id"].tolist() if not runs.empty else []
        entry = {"method": row.method}
        if benchmark == "cnn":
            entry.update({"paper: best": _fmt(row.best), "paper: average": _fmt(row.average) + (f" ± {row.std:.2f}" if row.std else ""),
                          "paper: params (M)": _fmt(row.params_m, 1), "paper: cost (GPU days)": _fmt(row.cost_total, 2)})
        else:
            entry.update({"paper: valid": _fmt(row.valid, 1), "paper: test": _fmt(row.best, 1),
                          "paper: params (M)": _fmt(row.params_m, 0), "paper: cost (GPU days)": _fmt(row.cost_total, 2)})
        entry.update(ours)
        rows.append(entry)
    frame = pd.DataFrame(rows).fillna("")
    measured = pd.concat([v for v in ours_runs.values() if not v.empty] or [record.iloc[0:0]])
    unit = "CIFAR-10 test error (%)" if benchmark == "cnn" else "PTB perplexity"
    return Table(f"{'Table 1' if benchmark == 'cnn' else 'Table 6'}: comparison ({unit})", frame, describe_scale(measured), used,
                 "Our search cost is device-hours measured on our runs (stage 1 + stage 2 per pick); the paper's is GPU days.")


def _ours_for(kind: str, runs: pd.DataFrame, searches: pd.DataFrame, benchmark: str) -> dict:
    if not kind or runs.empty:
        return {"ours: best": "", "ours: average": "", "ours: params (M)": "", "ours: device-hours": "", "ours: measured": ""}
    if kind == "asha":
        # the plan's repeats of one search are the same search: count it once
        runs = runs.loc[~runs["plan_key"].map(_without_repeat).duplicated()]
        name = "metric:best/valid_acc" if benchmark == "cnn" else "metric:best/valid_ppl"
        values = runs[name].astype(float).tolist() if name in runs else []
        if benchmark == "cnn":
            values = [100.0 * (1.0 - v) for v in values]
        return {"ours: best": _fmt(min(values)) if values else "", "ours: average": _mean_std(values), "ours: params (M)": "",
                "ours: device-hours": _fmt(float(runs["hours"].mean()), 3),
                "ours: measured": "the search's best validation " + ("error at its top rung" if benchmark == "cnn" else "perplexity")}
    metric = STAGE2_METRIC[benchmark] if benchmark == "cnn" else "metric:test/ppl"
    values = runs[metric].astype(float).tolist()
    hours = float(runs["hours"].mean())
    if kind == "rsws" and not searches.empty:
        hours += float(searches["hours"].mean())
    return {"ours: best": _fmt(min(values)), "ours: average": _mean_std(values),
            "ours: params (M)": _fmt(float(runs["metric:params/millions"].astype(float).mean()), 2),
            "ours: device-hours": _fmt(hours, 3),
            "ours: measured": "stage-2 test " + ("error" if benchmark == "cnn" else "perplexity") + f" over {len(values)} run(s)"}


# ---- Tables 3 and 8: short against long training --------------------------------------------------


def ranking_table(record: pd.DataFrame, benchmark: str, preset: str, history=tracking.metric_history) -> Table:
    """CNN (Table 3): test error after 1/6 of the epochs (the paper's 100 of 600) and at the end, the
    ranks of the trials at both, and Kendall's tau between them. PTB (Table 8): validation perplexity
    at the paper's epochs scaled to ours, then test perplexity."""
    runs = select(record, TRAIN_EXPERIMENTS[benchmark], preset)
    runs = runs[_column(runs, "genotype_spec").isin(["rsws", "DARTS_V2"])] if not runs.empty else runs
    if benchmark == "ptb":
        return _ppl_at_epochs(runs, history)
    rows = []
    for _, run in runs.iterrows():
        epochs = int(run["param:epochs"])
        short = max(1, round(epochs * paper.TABLE3["short_epochs"] / paper.TABLE3["long_epochs"]))
        accuracy = dict(history(run["run_id"], "test/acc"))
        if short not in accuracy or epochs not in accuracy:
            continue
        rows.append({"run": run["run_name"], "short epochs": short, "ours: short error": 100 * (1 - accuracy[short]),
                     "long epochs": epochs, "ours: long error": 100 * (1 - accuracy[epochs]), "run_id": run["run_id"]})
    frame = pd.DataFrame(rows, columns=["run", "short epochs", "ours: short error", "long epochs", "ours: long error", "run_id"])
    note = "Paper (reproduced DARTS, 4 trials): errors after 100 epochs 7.63, 7.67, 8.38, 7.51; after 600: 2.92, 2.77, 3.00, 3.05."
    if len(frame) >= 2:
        frame["rank short"] = frame["ours: short error"].rank(method="min").astype(int)
        frame["rank long"] = frame["ours: long error"].rank(method="min").astype(int)
        tau = kendall_tau(frame["ours: short error"], frame["ours: long error"])
        note += f" Ours: Kendall tau between the short and long rankings = {tau:.3f}"
        paper_tau = kendall_tau(pd.Series(paper.TABLE3["short"]), pd.Series(paper.TABLE3["long"]))
        note += f" (paper's four trials: {paper_tau:.3f})."
    return Table("Table 3: ranking after short and long stage-2 training", frame.round(2), describe_scale(runs),
                 frame["run_id"].tolist(), note)


def kendall_tau(a: pd.Series, b: pd.Series) -> float:
    return float(stats.kendalltau(a, b).statistic)


def _ppl_at_epochs(runs: pd.DataFrame, history) -> Table:
    rows = []
    for _, run in runs.iterrows():
        epochs = int(run["param:epochs"])
        checkpoints = sorted({max(1, round(epochs * e / paper.TABLE8_EPOCHS[-1])) for e in paper.TABLE8_EPOCHS})
        curve = dict(history(run["run_id"], "valid/ppl"))
        best_so_far, row = math.inf, {"run": run["run_name"]}
        for epoch in range(1, epochs + 1):
            best_so_far = min(best_so_far, curve.get(epoch, math.inf))
            if epoch in checkpoints:
                row[f"valid ppl @ {epoch}"] = round(best_so_far, 1)
        row["test ppl"] = round(float(run["metric:test/ppl"]), 1)
        row["run_id"] = run["run_id"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    published = "; ".join(f"{name}: {', '.join(map(str, ppl))} | test {test}" for name, (ppl, test) in paper.TABLE8.items())
    return Table("Table 8: validation perplexity (best so far) at increasing epochs, then test", frame,
                 describe_scale(runs), frame["run_id"].tolist() if not frame.empty else [],
                 f"Paper, at epochs {', '.join(map(str, paper.TABLE8_EPOCHS))}: {published}. Our checkpoints are the "
                 "paper's epochs scaled to our run's length.")


# ---- Table 4 and the reproducibility analysis -----------------------------------------------------


def broad_table(record: pd.DataFrame, benchmark: str, preset: str) -> Table:
    """Independent searches (one per search seed): each pick's stage-2 result(s), then across searches
    the mean, standard deviation and range; an extremal statistic (the best) moves with every rerun."""
    metric = STAGE2_METRIC[benchmark]
    runs = select(record, TRAIN_EXPERIMENTS[benchmark], preset, genotype_spec="rsws")
    rows = []
    for (setting, search_seed), group in runs.groupby(["search_setting", "search_seed"], sort=True) if not runs.empty else ():
        values = group[metric].astype(float).tolist()
        rows.append({"setting": setting, "search seed": int(search_seed), "training seeds": len(values),
                     "mean": np.mean(values), "std": np.std(values, ddof=1) if len(values) > 1 else np.nan,
                     "runs": " ".join(group["run_id"].str[:8])})
    frame = pd.DataFrame(rows, columns=["setting", "search seed", "training seeds", "mean", "std", "runs"])
    if benchmark == "cnn":
        note = (f"Paper (6 independent RSWS runs, 10 seeds each): {', '.join(f'{m:.2f} ± {s:.2f}' for m, s in paper.TABLE4)}; "
                f"average {paper.TABLE4_AVERAGE:.2f}.")
    else:  # the paper's Table 4 is CIFAR-10 test error; a perplexity must not sit beside it
        note = "The paper reports broad reproducibility (Table 4) for the CNN benchmark only."
    if len(frame) >= 1:
        means = frame["mean"]
        note += (f" Ours across {len(frame)} search(es): mean {means.mean():.2f}, std "
                 f"{means.std(ddof=1) if len(means) > 1 else float('nan'):.2f}, range {means.min():.2f} to {means.max():.2f}.")
    unit = "test error (%)" if benchmark == "cnn" else "validation perplexity"
    return Table(f"Table 4: broad reproducibility, stage-2 {unit} of independent searches", frame.round(3),
                 describe_scale(runs), runs["run_id"].tolist() if not runs.empty else [], note)


def _without_repeat(plan_key: str) -> str:
    return re.sub(r"_?repeat-\d+", "", plan_key.split("@")[0])


def exact_table(record: pd.DataFrame, preset: str) -> Table:
    """Runs repeated with the same seed and settings (the plan's `repeat` axis): their digests side by side."""
    runs = record[(_column(record, "preset") == preset) & _column(record, "repeat").notna() & _column(record, "digest").notna()]
    rows, repeated = [], []
    for key, group in runs.groupby(runs["plan_key"].map(_without_repeat), sort=True) if not runs.empty else ():
        digests = group.sort_values("repeat")["digest"].tolist()
        if len(digests) < 2:
            continue
        repeated += group["run_id"].tolist()
        rows.append({"job": key.split("/", 1)[-1], "experiment": group["experiment"].iloc[0], "seed": group["seed"].iloc[0],
                     "repeats": len(digests), "digests": " ".join(d[:16] for d in digests),
                     "identical": "yes" if len(set(digests)) == 1 else "NO", "runs": " ".join(group["run_id"].str[:8])})
    frame = pd.DataFrame(rows, columns=["job", "experiment", "seed", "repeats", "digests", "identical", "runs"])
    different = []
    for experiment, group in frame.groupby("experiment"):
        if group["seed"].nunique() > 1:
            firsts = [d.split()[0] for d in group["digests"]]
            different.append(f"{experiment}: {group['seed'].nunique()} seeds, {len(set(firsts))} distinct digests")
    note = "A digest is the sha256 of the shared weights (searches) or of the event log (ASHA)."
    if different:
        note += " Different seeds: " + "; ".join(different) + "."
    runs = runs[runs["run_id"].isin(repeated)] if repeated else runs.iloc[0:0]
    return Table("Exact reproducibility: the same seed twice", frame, describe_scale(runs), repeated, note)


def checklist_table(record: pd.DataFrame, root: Path) -> Table:
    """Table 5's columns, answered for this project by facts the book can check."""
    has_search = (root / "randnas" / "search").is_dir() and (root / "notebooks" / "rsws_search.ipynb").is_file()
    has_eval = (root / "randnas" / "train").is_dir() and (root / "notebooks" / "train_from_scratch.ipynb").is_file()
    seeded = not record.empty and _column(record, "seed").notna().all()
    with_params = int(record.filter(like="param:").notna().any(axis=1).sum()) if not record.empty else 0
    exact = {preset: exact_table(record, preset).frame for preset in presets_in(record)}
    repeated = sum(len(f) for f in exact.values())
    identical = sum(int((f["identical"] == "yes").sum()) for f in exact.values())
    rows = [
        {"work": "12 NAS papers (Table 5, 2018-2019)", "search code": "some", "evaluation code": "some",
         "random seeds": "none complete", "hyperparameter documentation": "some",
         "exactly reproducible": f"{paper.TABLE5_SUMMARY['exactly_reproducible']} of {paper.TABLE5_SUMMARY['papers']}"},
        {"work": "randnas (this book)", "search code": _yes(has_search), "evaluation code": _yes(has_eval),
         "random seeds": f"yes (every one of {len(record)} runs tagged)" if seeded else "no",
         "hyperparameter documentation": f"{_yes(with_params > 0)} (settings logged as params by {with_params} of {len(record)} runs)",
         "exactly reproducible": f"{identical} of {repeated} repeated jobs identical"},
    ]
    return Table("Table 5: the reproducibility checklist, with this project's row", pd.DataFrame(rows),
                 describe_scale(record), [], "Our row is computed from the repository and the record at build time.")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# ---- search cost ---------------------------------------------------------------------------------


def search_cost_table(record: pd.DataFrame, preset: str) -> Table:
    """Device-hours per experiment family, from the runs' start and end times."""
    runs = record[_column(record, "preset") == preset]
    if runs.empty:
        return Table("Search cost in device-hours", pd.DataFrame(), "no runs")
    grouped = runs.groupby(["experiment", _column(runs, "device").fillna("?")], sort=True)["hours"]
    frame = grouped.agg(runs="count", total_hours="sum", hours_per_run="mean").reset_index()
    frame.columns = ["experiment", "device", "runs", "device-hours", "hours per run"]
    return Table("Search cost in device-hours", frame.round(4), describe_scale(runs), runs["run_id"].tolist(),
                 "Wall time of each run on its device (kernel start-up included); the paper reports GPU days.")
