"""Records made in memory, row by row, as the experiments' readers would have read them from a store: what the
report's and the ledger's tests build their fixtures from (no MLflow, so they are fast and say exactly what the
record holds)."""

from __future__ import annotations

import itertools
from dataclasses import fields
from typing import Any

from randnas.experiments.asha import AshaRow
from randnas.experiments.base import GENOTYPE_ARTIFACT, MemoryReader, Record, Run
from randnas.experiments.darts import CELLS_ARTIFACT, EPOCH_ARTIFACT, DartsRow
from randnas.experiments.enas import EXPERIMENTS as ENAS_EXPERIMENTS
from randnas.experiments.enas import EnasRow
from randnas.experiments.nb201 import SCORED_ARTIFACT, Nb201SearchRow
from randnas.experiments.rsws import SearchRow
from randnas.experiments.surrogate import ARTIFACTS as SURROGATE_ARTIFACTS
from randnas.experiments.surrogate import SurrogateRow
from randnas.experiments.train import BEST_OF, CURVE_KEY, SEARCH_PICKS, TrainRow
from randnas.record.vocabulary import job_without_repeat

NAN = float("nan")


class RecordBuilder:
    """Add rows with `train`, `search`, ...; `record()` gives them newest first, as a store lists them."""

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self.histories: dict[tuple[str, str], list[tuple[int, float]]] = {}
        self.artifacts: dict[tuple[str, str], Any] = {}
        self._ids = itertools.count(1)

    def record(self) -> Record:
        return Record(tuple(reversed(self.runs)), MemoryReader(self.histories, self.artifacts))

    def _base(self, experiment: str, preset: str, **given: Any) -> dict[str, Any]:
        number = next(self._ids)
        run_id = given.pop("run_id", f"{number:08d}" + "f" * 24)
        plan_key = given.pop("plan_key", f"t/{experiment}/{preset}/run-{number}@{number}")
        epochs = given.pop("epochs", None)
        base = {
            "run_id": run_id,
            "run_name": given.pop("run_name", f"run-{number}"),
            "experiment": experiment,
            "preset": preset,
            "dataset": "digits",
            "dataset_label": "digits (toy)",
            "device": "CPU (2 threads)",
            "precision": "fp32",
            "plan_key": plan_key,
            "job": job_without_repeat(plan_key),
            "seed": 0,
            "repeat": 1,
            "digest": "",
            "commit": "c0ffee",
            "dirty": False,
            "start_ms": 1_000 * number,
            "hours": 0.25,
            "epochs": epochs,
            "steps_cap": 0,
            "protocol": (("epochs", str(epochs)),) if epochs is not None else (),
        }
        unknown = set(given) - {f.name for f in fields(Run)}
        assert not unknown, f"not fields of every run: {sorted(unknown)}"
        return base | given

    def _add(self, row: Run) -> str:
        self.runs.append(row)
        return row.run_id

    def train(
        self,
        spec: str,
        curve: list[float],
        *,
        benchmark: str = "cnn",
        preset: str = "smoke",
        setting: str = "random1",
        search_seed: int | None = 0,
        seed: int = 0,
        stage: int = 2,
        search_run: int = 1,
        search_seeds: tuple[int, ...] = (),
        parent: str = "",
        genotype: Any = None,
        objective: str = "test",
        **given: Any,
    ) -> str:
        """A training whose curve is the tables' quantity per epoch (test error %, or validation perplexity); its
        final numbers as the notebooks log them: the last error, the best perplexity, test perplexity one less."""
        experiment = "cnn/train" if benchmark == "cnn" else "rnn/train"
        # as `train.training_pick` tags a pick: a search's setting for its picks and their stage-3 winners
        searched = spec in SEARCH_PICKS or BEST_OF.get(spec) in SEARCH_PICKS
        cnn, valid = benchmark == "cnn", objective != "test"
        row = TrainRow(
            **self._base(experiment, preset, seed=seed, epochs=len(curve), **given),
            benchmark=benchmark,
            stage=stage,
            genotype_spec=spec,
            objective=objective,
            genotype=genotype.to_darts() if genotype is not None else "",
            search_setting=setting if searched else "",
            search_seed=search_seed,
            search_run=search_run,
            search_seeds=search_seeds,
            selected_by="stage-2 test error" if stage == 3 else "",
            parent=parent,
            value=curve[-1] if cnn else min(curve),
            test_error=curve[-1] if cnn and not valid else NAN,
            valid_error=curve[-1] if cnn and valid else NAN,
            valid_ppl=min(curve) if benchmark == "ptb" else NAN,
            test_ppl=curve[-1] - 1 if benchmark == "ptb" else NAN,
            params_millions=3.0,
        )
        key = "search-valid/acc" if cnn and valid else CURVE_KEY[benchmark]
        values = [1 - e / 100 for e in curve] if benchmark == "cnn" else list(curve)
        self.histories[(row.run_id, key)] = list(enumerate(values, 1))
        if genotype is not None:
            self.artifacts[(row.run_id, GENOTYPE_ARTIFACT)] = genotype.to_dict()
        return self._add(row)

    def search(
        self,
        *,
        space: str = "cnn",
        preset: str = "smoke",
        setting: str = "random1",
        seed: int = 0,
        repeat: int = 1,
        digest: str = "",
        mode: str = "single",
        genotype: Any = None,
        **given: Any,
    ) -> str:
        experiment = "cnn/rsws" if space == "cnn" else "rnn/rsws"
        row = SearchRow(
            **self._base(
                experiment, preset, seed=seed, repeat=repeat, digest=digest, epochs=given.pop("epochs", 2), **given
            ),
            space=space,
            setting=setting,
            mode=mode,
            grad_clip=5.0,
            channels=4 if space == "cnn" else None,
            hidden=None if space == "cnn" else 16,
            batch_size=32,
            archs_scored=None,
            best_score=NAN,
            genotype=genotype.to_darts() if genotype is not None else "",
        )
        if genotype is not None:
            self.artifacts[(row.run_id, GENOTYPE_ARTIFACT)] = genotype.to_dict()
        return self._add(row)

    def darts(
        self,
        *,
        space: str = "cnn",
        preset: str = "smoke",
        setting: str = "darts-second",
        seed: int = 0,
        repeat: int = 1,
        digest: str = "",
        cells: list[str] | None = None,
        weights: dict[str, list[list[float]]] | None = None,
        **given: Any,
    ) -> str:
        """A DARTS search that derived `cells` (one per epoch), with the op `weights` after its last epoch."""
        experiment = {"cnn": "cnn/darts", "rnn": "rnn/darts", "nb201": "nb201/darts"}[space]
        row = DartsRow(
            **self._base(
                experiment, preset, seed=seed, repeat=repeat, digest=digest, epochs=given.pop("epochs", 3), **given
            ),
            space=space,
            setting=setting,
            order=setting.removeprefix("darts-"),
            genotype=(cells or [""])[-1],
            weights_digest="",
            grad_clip=5.0,
            channels=4 if space != "rnn" else None,
            hidden=16 if space == "rnn" else None,
            batch_size=16 if space == "rnn" else 32,
        )
        if cells is not None:
            self.artifacts[(row.run_id, CELLS_ARTIFACT)] = {"genotypes": cells}
            if weights is not None:
                last = {"epoch": len(cells), "genotype": cells[-1], **weights}
                self.artifacts[(row.run_id, EPOCH_ARTIFACT.format(len(cells)))] = last
        return self._add(row)

    def enas(
        self,
        *,
        space: str = "nb201",
        preset: str = "smoke",
        seed: int = 0,
        repeat: int = 1,
        digest: str = "",
        cell: str = "",
        derive_score: float = 0.5,
        epoch_accuracies: list[float] | None = None,
        **given: Any,
    ) -> str:
        """An ENAS search that derived `cell`; on NAS-Bench-201 its most likely cell's accuracy per epoch."""
        row = EnasRow(
            **self._base(
                ENAS_EXPERIMENTS[space],
                preset,
                seed=seed,
                repeat=repeat,
                digest=digest,
                epochs=given.pop("epochs", len(epoch_accuracies or [0, 0])),
                **given,
            ),
            space=space,
            setting="enas",
            genotype=cell,
            weights_digest="",
            derive_score=derive_score,
            channels=4 if space != "rnn" else None,
            hidden=16 if space == "rnn" else None,
            batch_size=32,
        )
        if epoch_accuracies is not None:
            self.histories[(row.run_id, "cell/true_accuracy")] = list(enumerate(epoch_accuracies, 1))
        return self._add(row)

    def asha(
        self,
        *,
        benchmark: str = "cnn",
        preset: str = "smoke",
        seed: int = 0,
        best: float = 0.9,
        genotype: Any = None,
        **given: Any,
    ) -> str:
        experiment = "cnn/asha" if benchmark == "cnn" else "rnn/asha"
        row = AshaRow(
            **self._base(experiment, preset, seed=seed, **given),
            benchmark=benchmark,
            objective="valid",
            asgd_after_epoch=0,
            cost_model="flops",
            trials=6,
            jobs=9,
            promotions=3,
            epochs_trained=20,
            best=best,
            best_trial=2,
            genotype=genotype.to_darts() if genotype is not None else "",
        )
        if genotype is not None:
            self.artifacts[(row.run_id, GENOTYPE_ARTIFACT)] = genotype.to_dict()
        return self._add(row)

    def nb201_search(
        self,
        cells: list[dict],
        *,
        preset: str = "cpu",
        seed: int = 0,
        mode: str = "single",
        repeat: int = 1,
        setting: str = "project",
        **given: Any,
    ) -> str:
        """An RSWS search on NAS-Bench-201 that scored `cells` (index, cell, true_accuracy, score_epoch_<e>)."""
        epochs = max(int(k.removeprefix("score_epoch_")) for k in cells[0] if k.startswith("score_epoch_"))
        row = Nb201SearchRow(
            **self._base("nb201/rsws", preset, seed=seed, repeat=repeat, epochs=epochs, **given),
            mode=mode,
            batch_size=64,
            scored_cells=len(cells),
            score_epochs=(epochs,),
            score_minibatches=0,
            score_batch=512 if setting == "rsps" else 0,
            setting=setting,
            genotype="",
        )
        self.artifacts[(row.run_id, SCORED_ARTIFACT)] = cells
        return self._add(row)

    def surrogate(self, searches: list[dict], *, preset: str = "cpu", unit_hours: float = 1.0) -> str:
        """A surrogate run whose `searches` table holds one row per (method, label, workers, gpu_hours, seed) with
        the accuracy it handed over (`final_accuracy`, None where nothing was handed over)."""
        row = SurrogateRow(
            **self._base("surrogate/nb301-asha", preset),
            seeds=len({s["seed"] for s in searches}),
            first_seed=0,
            budgets=tuple(sorted({s["gpu_hours"] / unit_hours for s in searches})),
            R=100,
            budget_unit_hours=unit_hours,
            workers=tuple(sorted({s["workers"] for s in searches})),
            etas=(3,),
        )
        self.artifacts[(row.run_id, SURROGATE_ARTIFACTS["searches"])] = searches
        return self._add(row)

    def plain(self, experiment: str, *, preset: str = "smoke", **given: Any) -> str:
        return self._add(Run(**self._base(experiment, preset, **given)))


# three searches' picks, their test error (%) after each of 6 epochs
CURVES = {0: [60, 40, 30, 20, 10, 5.0], 1: [50, 45, 35, 25, 12, 4.0], 2: [70, 50, 40, 30, 15, 6.0]}


def searches(built: RecordBuilder, preset: str = "smoke") -> dict[str, str]:
    """Two seeds of Random (1), each searched twice with the same seed: seed 0 identical, seed 1 not."""
    ids = {}
    for name, seed, repeat, digest in (
        ("a", 0, 1, "aaaa"),
        ("b", 0, 2, "aaaa"),
        ("c", 1, 1, "bbbb"),
        ("d", 1, 2, "cccc"),
    ):
        key = f"default/cnn-rsws/{preset}/seed-{seed}_repeat-{repeat}@abc{repeat}"
        ids[f"search {name}"] = built.search(preset=preset, seed=seed, repeat=repeat, digest=digest * 16, plan_key=key)
    return ids


def stage3(
    built,
    curve,
    search_seed=1,
    seed=0,
    search_run=1,
    setting="random1",
    spec="best-rsws",
    seeds=(0, 1, 2),
    parent="",
    benchmark="cnn",
):
    return built.train(
        spec,
        curve,
        benchmark=benchmark,
        setting=setting,
        search_seed=search_seed,
        seed=seed,
        stage=3,
        search_run=search_run,
        search_seeds=seeds,
        parent=parent,
    )
