"""Finding a genotype for stage 2: by name, as a DARTS string, from an MLflow run, or from a search."""

from __future__ import annotations

from typing import Any

from randnas import tracking
from randnas.repro import numpy_generator
from randnas.spaces.cnn import CnnGenotype, cnn_genotype_from_dict, sample_cnn_genotype
from randnas.spaces.common import GenotypeError
from randnas.spaces.named import resolve_genotype
from randnas.spaces.rnn import RnnGenotype, rnn_genotype_from_dict, sample_rnn_genotype

SEARCH_EXPERIMENTS = {"cnn": "cnn/rsws", "rnn": "rnn/rsws"}
ASHA_EXPERIMENTS = {"cnn": "cnn/asha", "ptb": "rnn/asha"}
CNN_SEARCH_EXPERIMENT = SEARCH_EXPERIMENTS["cnn"]
RNN_SEARCH_EXPERIMENT = SEARCH_EXPERIMENTS["rnn"]
GENOTYPE_ARTIFACT = "genotype.json"
TAG_SETTING = "randnas.setting"
FROM_DICT = {"cnn": cnn_genotype_from_dict, "rnn": rnn_genotype_from_dict}
SAMPLERS = {"cnn": sample_cnn_genotype, "rnn": sample_rnn_genotype}
RANDOM_BASELINE_STREAM = 4  # keeps "random" genotypes apart from the searches' own draws


def genotype_from_run(space: str, run_id: str) -> Any:
    try:
        return FROM_DICT[space](tracking.load_json_artifact(run_id, GENOTYPE_ARTIFACT))
    except OSError as error:
        raise GenotypeError(f"run {run_id} has no {GENOTYPE_ARTIFACT} artifact: {error}") from None


def find_genotype(space: str, spec: str, preset: str = "", search_setting: str = "", search_seed: int = 0) -> tuple[Any, str]:
    """The genotype `spec` names in `space` (cnn or rnn), and the MLflow run it came from ("" if none).

    `spec` is a registered name (DARTS_V2), a DARTS `Genotype(...)` string, `run:<MLflow run id>`,
    `rsws`: the pick of the newest FINISHED `single`-mode search run of this space, preset, setting and seed, or
    `random`: a uniformly sampled genotype, one per `search_seed` (the random-search baseline of Liu et al.).
    """
    if space not in SEARCH_EXPERIMENTS:
        raise GenotypeError(f"unknown search space {space!r}; choose one of {', '.join(SEARCH_EXPERIMENTS)}")
    if spec == "random":
        return SAMPLERS[space](numpy_generator(search_seed, RANDOM_BASELINE_STREAM)), ""
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
    return resolve_genotype(space, spec), ""


def find_cnn_genotype(spec: str, preset: str = "", search_setting: str = "", search_seed: int = 0) -> tuple[CnnGenotype, str]:
    return find_genotype("cnn", spec, preset, search_setting, search_seed)


def find_rnn_genotype(spec: str, preset: str = "", search_setting: str = "", search_seed: int = 0) -> tuple[RnnGenotype, str]:
    return find_genotype("rnn", spec, preset, search_setting, search_seed)
