"""Tables 1 (CIFAR-10) and 6 (PTB): the paper's comparison rows, and where this project ran the same protocol,
its stage-3 numbers beside them. A row whose protocol has not run here gives what it does show in its own column
('ours: other quantity'), labelled as what it is."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from randnas import paper
from randnas.experiments.asha import AshaRow
from randnas.experiments.base import Record, Run
from randnas.experiments.darts import DartsRow
from randnas.experiments.enas import SETTING as ENAS_SETTING
from randnas.experiments.enas import EnasRow
from randnas.experiments.rsws import SearchRow
from randnas.experiments.train import RANDOM_CELLS, TrainRow, selected_by
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
)
from randnas.report.selectors import PAPER_DARTS_SETTING, SEARCH_SPACE, trainings
from randnas.train.cnn import OBJECTIVE_WORDS


def paper_value(value: paper.Value, digits: int | None = 2) -> str:
    """A paper entry as the paper prints it: "N/A" where it is unknown, "-" where it does not apply, a number
    with `digits` decimals (None: as printed, without trailing zeros)."""
    if value is None:
        return "N/A"
    if value == paper.NOT_APPLICABLE:
        return "-"
    return fmt_any(value) if digits is None else fmt(float(value), digits)


def _ours_columns(benchmark: str) -> tuple[str, str]:
    return ("ours: best", "ours: average") if benchmark == "cnn" else ("ours: valid", "ours: test")


# Tables 1 and 6's columns folded beneath the comparison; "ours: other quantity" stays beside the paper's numbers
# when short (what we have instead, labelled so)
COMPARISON_DETAILS = (
    "ours: protocol",
    "paper: params (M)",
    "ours: params (M)",
    "paper: cost 1 / 2 / total (GPU days)",
    "ours: device-hours",
    "paper: note",
)


def comparison_table(record: Record, benchmark: str, preset: str) -> Table:
    """The paper's comparison rows; where we ran the same protocol, our stage-3 numbers beside them."""
    cnn = benchmark == "cnn"
    rows, used = [], []
    for row in paper.TABLE1 if cnn else paper.TABLE6:
        entry = {"method": row.method, "source": row.source}
        if cnn:
            average = paper_value(row.average) + (f" ± {row.std:.2f}" if row.std else "")
            entry.update({"paper: best": paper_value(row.best), "paper: average": average})
        else:
            entry.update({"paper: valid": paper_value(row.valid, 1), "paper: test": paper_value(row.test, 1)})
        costs = (row.cost_stage1, row.cost_stage2, row.cost_total)
        entry.update(
            {
                "paper: params (M)": fmt_any(row.params_m),
                "paper: cost 1 / 2 / total (GPU days)": " / ".join(paper_value(c, None) for c in costs),
                "paper: note": row.footnote,
            }
        )
        ours, runs = _ours_for(row.ours, record, benchmark, preset)
        used += runs
        entry.update(ours)
        rows.append(entry)
    frame = pd.DataFrame(rows).fillna("")
    # the comparison first (the paper's number, then ours or what we have instead), the details after
    first, second = _ours_columns(benchmark)
    paper_numbers = ["paper: best", "paper: average"] if cnn else ["paper: valid", "paper: test"]
    order = ["method", "source", *paper_numbers, first, second, "ours: other quantity", *COMPARISON_DETAILS, "runs"]
    frame = frame[order]
    unit = "CIFAR-10 test error (%)" if cnn else "PTB perplexity"
    note = (
        "'ours: best' and 'ours: average' hold only the paper's own quantity: stage 3 of the same protocol "
        + (
            "(the final pick trained with several seeds; best = lowest seed, average over seeds). "
            if cnn
            else "(the final pick trained longest; valid = best validation perplexity, test = test perplexity of "
            "that run). "
        )
        + "Anything else we measured for a row stands under 'ours: other quantity'. Our cost is device-hours of "
        "stages 1 and 2 (searches and their picks' training) as measured on our runs; the paper's is GPU days. "
        + STD_NOTE
    )
    measured = in_record_order(record, used)
    title = f"{'Table 1' if cnn else 'Table 6'}: comparison ({unit})"
    return Table(title, frame, describe_scale(measured), used, note, COMPARISON_DETAILS)


def _blank(benchmark: str) -> dict:
    first, second = _ours_columns(benchmark)
    return {
        first: "",
        second: "",
        "ours: params (M)": "",
        "ours: device-hours": "",
        "ours: protocol": "",
        "ours: other quantity": "",
        "runs": "",
    }


def _ours_for(kind: str, record: Record, benchmark: str, preset: str) -> tuple[dict, list[str]]:
    """One comparison row's own columns and the runs they come from, by the protocol the row names."""
    out = _blank(benchmark)
    if not kind:
        return out, []
    builders = {
        "rsws": _rsws,
        "random": _random,
        "asha": _asha,
        "darts_v2": _darts_v2,
        "darts_search": _darts,
        "enas": _enas,
    }
    runs, cost, protocol = builders[kind](record, benchmark, preset)
    if not runs:
        other, other_ids = _other_quantity(kind, record, benchmark, preset)
        out.update(other)
        return out, other_ids
    out.update(_numbers(runs, benchmark))
    out["ours: protocol"] = protocol
    out["ours: device-hours"] = fmt(sum(run.hours for run in cost), 3) if cost else ""
    out["runs"] = " ".join(run.run_id[:8] for run in runs)
    return out, ids(runs) + ids(cost)


def _numbers(runs: Sequence[TrainRow], benchmark: str) -> dict:
    first, second = _ours_columns(benchmark)
    if benchmark == "cnn":
        values = [run.test_error for run in runs]
        numbers = {first: fmt(min(values)), second: mean_std(values)}
    else:
        valid, test = [run.valid_ppl for run in runs], [run.test_ppl for run in runs]
        numbers = {
            first: mean_std(valid, 1) if len(valid) > 1 else fmt(valid[0], 1),
            second: mean_std(test, 1) if len(test) > 1 else fmt(test[0], 1),
        }
    numbers["ours: params (M)"] = fmt(sum(run.params_millions for run in runs) / len(runs), 2)
    return numbers


def _selection_words(runs: Sequence[TrainRow], what: str, benchmark: str) -> str:
    seeds = sorted({seed for run in runs for seed in run.search_seeds})
    return (
        what + f"trial {runs[0].search_seed} (best of search seeds {', '.join(map(str, seeds))} by "
        f"{runs[0].selected_by}), " + _trained(runs, benchmark)
    )


def _rsws(record: Record, benchmark: str, preset: str) -> tuple[list[TrainRow], list[Run], str]:
    runs = selectors.stage3(record, benchmark, preset, "rsws")
    if not runs:
        return [], [], ""
    setting = runs[0].search_setting
    seeds = {seed for run in runs for seed in run.search_seeds}
    stage2 = [run for run in trainings(record, benchmark, preset, 2, "rsws", setting) if run.search_seed in seeds]
    space = SEARCH_SPACE[benchmark]
    searches = record.of(
        SearchRow,
        preset,
        lambda run: (
            run.space == space
            and run.setting == setting
            and run.mode == "single"
            and run.seed in seeds
            and run.repeat == 1
        ),
    )
    return runs, [*stage2, *searches], _selection_words(runs, f"stage 3 of run 1 of {setting}: ", benchmark)


def _random(record: Record, benchmark: str, preset: str) -> tuple[list[TrainRow], list[Run], str]:
    runs = selectors.stage3(record, benchmark, preset, "random")
    if not runs:
        return [], [], ""
    seeds = {seed for run in runs for seed in run.search_seeds}
    stage2 = [run for run in trainings(record, benchmark, preset, 2, "random") if run.search_seed in seeds]
    return runs, stage2, _selection_words(runs, f"stage 3 of {RANDOM_CELLS['random']}: ", benchmark)


def _darts(record: Record, benchmark: str, preset: str) -> tuple[list[TrainRow], list[Run], str]:
    """The authors'-rerun row: stage 3 of Run 1 of this project's own second-order DARTS searches."""
    words = "stage 3 of our second-order DARTS searches: "
    return _search_stage3(record, benchmark, preset, "darts", PAPER_DARTS_SETTING, DartsRow, words)


def _enas(record: Record, benchmark: str, preset: str) -> tuple[list[TrainRow], list[Run], str]:
    """The ENAS-rerun row (Liu et al. ran ENAS in their space and protocol): stage 3 of Run 1 of our ENAS searches."""
    return _search_stage3(record, benchmark, preset, "enas", ENAS_SETTING, EnasRow, "stage 3 of our ENAS searches: ")


def _search_stage3(
    record: Record, benchmark: str, preset: str, method: str, setting: str, searcher: type, words: str
) -> tuple[list[TrainRow], list[Run], str]:
    """Stage 3 of a search method's Run 1, and what it cost: its trials' stage 2 and their searches."""
    runs = selectors.stage3(record, benchmark, preset, method)
    if not runs:
        return [], [], ""
    seeds = {seed for run in runs for seed in run.search_seeds}
    stage2 = [run for run in trainings(record, benchmark, preset, 2, method, setting) if run.search_seed in seeds]
    space = SEARCH_SPACE[benchmark]
    searches = record.of(
        searcher,
        preset,
        lambda run: run.space == space and run.setting == setting and run.seed in seeds and run.repeat == 1,
    )
    return runs, [*stage2, *searches], _selection_words(runs, words, benchmark)


def _asha(record: Record, benchmark: str, preset: str) -> tuple[list[TrainRow], list[Run], str]:
    runs = selectors.stage3(record, benchmark, preset, "asha")
    if not runs:
        return [], [], ""
    parents = {run.parent for run in runs}
    searches = record.of(AshaRow, preset, lambda run: run.benchmark == benchmark and run.run_id in parents)
    return runs, searches, "stage 3: the ASHA search's best cell, " + _trained(runs, benchmark) + asha_words(searches)


def _darts_v2(record: Record, benchmark: str, preset: str) -> tuple[list[TrainRow], list[Run], str]:
    reference = record.of(TrainRow, preset, lambda run: run.benchmark == benchmark and run.genotype_spec == "DARTS_V2")
    protocol_of = trainings(record, benchmark, preset, 3, "best-rsws")
    if benchmark == "cnn" and not protocol_of:  # CIFAR-10's stage 3 is stage 2's protocol with more seeds
        protocol_of = trainings(record, benchmark, preset, 2, "rsws")
    runs = same_protocol(reference, protocol_of) if protocol_of else []
    return runs, [], "the published cell (DARTS_V2) with our stage-3 protocol, " + _trained(runs, benchmark)


def asha_protocol(run: AshaRow) -> str:
    """Which split an ASHA search's trials trained on and what they were scored by, in words."""
    if run.benchmark == "ptb":
        tail = f"; SGD until epoch {run.asgd_after_epoch}" if run.asgd_after_epoch else ""
        return "PTB train / best validation perplexity" + tail
    return OBJECTIVE_WORDS.get(run.objective, run.objective)


def asha_words(searches: Sequence[AshaRow]) -> str:
    """Which split the ASHA searches trained their trials on and what they scored them by."""
    if not searches:
        return ""
    return "; the search's trials: " + "; ".join(sorted({asha_protocol(run) for run in searches}))


def _trained(runs: Sequence[TrainRow], benchmark: str) -> str:
    epochs = sorted({str(run.epochs) for run in runs if run.epochs is not None})
    length = f"{', '.join(epochs)} epochs" if epochs else "? epochs"
    return f"{len(runs)} seed(s), {length}" if benchmark == "cnn" else f"{len(runs)} run(s) of {length}"


def _other_quantity(kind: str, record: Record, benchmark: str, preset: str) -> tuple[dict, list[str]]:
    """What a row's protocol has not produced here, and what we do have for it, labelled as what it is."""
    builders = {
        "darts_search": _other_darts,
        "rsws": _other_rsws,
        "asha": _other_asha,
        "random": _other_random,
        "darts_v2": _other_darts_v2,
        "enas": _other_enas,
    }
    return builders[kind](record, benchmark, preset) if kind in builders else ({}, [])


def _other_darts(record: Record, benchmark: str, preset: str) -> tuple[dict, list[str]]:
    """No DARTS stage 3: the second-order searches' picks after stage 2 (Table 2 / 7's reproduced-DARTS row)."""
    return _stage2_instead(selectors.darts_trials(record, benchmark, preset), benchmark, "darts")


def _other_enas(record: Record, benchmark: str, preset: str) -> tuple[dict, list[str]]:
    """No ENAS stage 3: our ENAS searches' picks after stage 2 (Table 2 / 7's ENAS row)."""
    return _stage2_instead(selectors.enas_trials(record, benchmark, preset), benchmark, "enas")


def _stage2_instead(trials: selectors.Trials | None, benchmark: str, method: str) -> tuple[dict, list[str]]:
    """A search method without stage 3 here (it runs at paper scale): its trials after stage 2, labelled so."""
    cnn = benchmark == "cnn"
    entry, table = f"{'cnn' if cnn else 'ptb'}-{method}-stage3", "Table 2" if cnn else "Table 7"
    name = method.upper()
    if trials is None:
        return {"ours: protocol": f"not run at this preset (stage 3 of {name} is {entry}, paper scale)"}, []
    quantity = f"stage-2 {'test error' if cnn else 'validation perplexity'} of {len(trials.values)} search(es): "
    return {
        "ours: protocol": f"no stage 3 yet ({entry} runs at paper scale); the trials are {table}'s {name} row",
        "ours: other quantity": quantity + mean_std(trials.numbers),
    }, ids(trials.trainings)


def _other_rsws(record: Record, benchmark: str, preset: str) -> tuple[dict, list[str]]:
    """No RSWS stage 3: the final setting's Run 1 trials after stage 2 (the Table 2 / 7 row it would come from)."""
    trials = selectors.final_trials(record, benchmark, preset)
    if trials is None:
        return {"ours: protocol": "not run"}, []
    what = "test error" if benchmark == "cnn" else "validation perplexity"
    quantity = f"stage-2 {what} of Run 1 of {trials.setting}, {len(trials.values)} trial(s): "
    return {
        "ours: protocol": "no stage 3 yet",
        "ours: other quantity": quantity + mean_std(trials.numbers),
    }, ids(trials.trainings)


def _other_asha(record: Record, benchmark: str, preset: str) -> tuple[dict, list[str]]:
    """No ASHA stage 3: each ASHA search's own best, at its top rung (another quantity, labelled so)."""
    cnn = benchmark == "cnn"
    searches = _first_of_each_job(record.of(AshaRow, preset, lambda run: run.benchmark == benchmark))
    if not searches:
        return {"ours: protocol": "not run"}, []
    values = [100.0 * (1.0 - run.best) if cnn else run.best for run in searches]
    what = "best validation error (%) at its top rung" if cnn else "best validation perplexity at its top rung"
    return {
        "ours: protocol": "no stage 3 of the ASHA pick yet" + asha_words(searches),
        "ours: other quantity": f"the search's {what}: {', '.join(fmt(v) for v in values)}",
    }, ids(searches)


def _other_random(record: Record, benchmark: str, preset: str) -> tuple[dict, list[str]]:
    """No stage 3 of the random baseline: its briefly trained cells' best."""
    cnn = benchmark == "cnn"
    brief = trainings(record, benchmark, preset, 2, "random")
    if not brief:
        words = (
            "not run: 24 none-free random cells trained briefly (100 epochs on half the training set), the best by "
            "validation error on the other half trained with 10 seeds"
            if cnn
            else "not run: 8 random cells through stage 2, the best by validation perplexity trained for 3600 epochs"
        )
        return {"ours: protocol": words}, []
    values = [run.value for run in brief]
    scored = sorted({selected_by(run) for run in brief})
    quantity = f"{len(values)} {RANDOM_CELLS['random']}, {'; '.join(scored)}: best {fmt(min(values))}"
    return {"ours: protocol": "no stage 3 yet", "ours: other quantity": quantity}, ids(brief)


def _other_darts_v2(record: Record, benchmark: str, preset: str) -> tuple[dict, list[str]]:
    """The published cell not trained at stage-3 length: its longest training here."""
    cnn = benchmark == "cnn"
    reference = record.of(TrainRow, preset, lambda run: run.benchmark == benchmark and run.genotype_spec == "DARTS_V2")
    if not reference:
        return {"ours: protocol": "not run"}, []
    longest = max(run.epochs for run in reference if run.epochs is not None)
    reference = [run for run in reference if run.epochs == longest]
    epochs = ", ".join(sorted({str(run.epochs) for run in reference}))
    text = (
        f"{mean_std([run.test_error for run in reference])} test error after {epochs} epochs"
        if cnn
        else f"valid {fmt(reference[0].valid_ppl, 1)} / test {fmt(reference[0].test_ppl, 1)} after {epochs} "
        "epochs (stage-2 length)"
    )
    return {"ours: protocol": "not at our stage-3 length", "ours: other quantity": f"DARTS_V2: {text}"}, ids(reference)


def _first_of_each_job(runs: Sequence[Run]) -> list[Run]:
    """One run per plan job: a same-seed repeat of a job is a reproducibility check, not another search."""
    seen: set[str] = set()
    first = []
    for run in runs:
        if run.job not in seen:
            seen.add(run.job)
            first.append(run)
    return first
